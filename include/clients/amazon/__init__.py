"""Amazon Selling Partner API access: a paced httpx client (no Airflow import)."""

from include.clients.amazon.client import ClientStats, SpApiClient, format_timestamp
from include.clients.amazon.errors import SpApiError
from include.clients.amazon.rate_limit import DEFAULT_PLANS, RatePacer, UsagePlan

__all__ = ["DEFAULT_PLANS", "ClientStats", "RatePacer", "SpApiClient", "SpApiError", "UsagePlan", "format_timestamp"]
