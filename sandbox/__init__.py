"""Local stand-ins for Amazon SP-API and Adobe Commerce (see README, "The sandboxes")."""
