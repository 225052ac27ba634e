"""Adobe Commerce (Magento 2.4) admin REST client: searchCriteria builder, client, errors."""

from include.clients.commerce.client import ClientStats, CommerceClient
from include.clients.commerce.errors import (
    CommerceAuthError,
    CommerceClientError,
    CommerceError,
    CommerceNotFound,
    CommerceOutcomeUnknown,
    CommerceUnavailable,
    format_magento_message,
)
from include.clients.commerce.search_criteria import Filter, SearchCriteria

__all__ = [
    "ClientStats",
    "CommerceAuthError",
    "CommerceClient",
    "CommerceClientError",
    "CommerceError",
    "CommerceNotFound",
    "CommerceOutcomeUnknown",
    "CommerceUnavailable",
    "Filter",
    "SearchCriteria",
    "format_magento_message",
]
