"""Local stand-ins for Amazon SP-API and Adobe Commerce (see docs/sandboxes.md)."""
