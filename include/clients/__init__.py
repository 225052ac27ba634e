"""The API clients: SP-API (amazon/) and Commerce (commerce/) over httpx, no Airflow; one backoff/Retry-After module for both."""
