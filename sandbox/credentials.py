"""Credentials the sandboxes accept by default (local use only, never real secrets)."""

LWA_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
LWA_CLIENT_SECRET = "sandbox-client-secret"
LWA_REFRESH_TOKEN = "Atzr|sandbox-refresh-token"

COMMERCE_ADMIN_USER = "admin"
COMMERCE_ADMIN_PASSWORD = "sandbox-admin-123"
COMMERCE_INTEGRATION_TOKEN = "sandbox-integration-token"

#: The local buyer-data key (connection amazon_pii_key): a SANDBOX key, published here, never for real buyer data.
PII_SANDBOX_KEY = "0K4P6RasalxO_zEhrGIMrFV8Q4GMALzy0sjrRfBdR84="
