"""Credentials the sandboxes accept by default (local use only, never real secrets)."""

LWA_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
LWA_CLIENT_SECRET = "sandbox-client-secret"
LWA_REFRESH_TOKEN = "Atzr|sandbox-refresh-token"

COMMERCE_ADMIN_USER = "admin"
COMMERCE_ADMIN_PASSWORD = "sandbox-admin-123"
COMMERCE_INTEGRATION_TOKEN = "sandbox-integration-token"
