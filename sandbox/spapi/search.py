"""searchOrders / getOrder parameters: parsing, the spec's validation rules, pagination tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandbox.spapi.errors import invalid_input
from sandbox.spapi.store import SECTIONS, Filters
from sandbox.spapi.times import parse_iso

FULFILLMENT_STATUSES = ("PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
                        "UNFULFILLABLE")  # fmt: skip
FULFILLED_BY = ("MERCHANT", "AMAZON")
INCLUDED_DATA = tuple(SECTIONS)
DEFAULT_PAGE_SIZE = 100
MAX_MARKETPLACES = 50
MIN_AGE = timedelta(minutes=2)
TOKEN_LIFETIME = timedelta(hours=24)

GetList = Callable[[str], list[str]]


@dataclass(frozen=True)
class SearchQuery:
    """A validated searchOrders request."""

    by: str  # "created" or "updated"
    after: datetime
    before: datetime | None  # as given; None = now minus two minutes (at the first page)
    filters: Filters
    included: tuple[str, ...]
    page_size: int
    token: str | None

    def signature(self) -> dict[str, Any]:
        """The filter parameters a pagination token is bound to (not page size or includedData)."""
        f = self.filters
        return {
            "by": self.by,
            "after": self.after.isoformat(),
            "before": self.before.isoformat() if self.before else None,
            "statuses": sorted(f.statuses) if f.statuses is not None else None,
            "fulfilledBy": sorted(f.fulfilled_by) if f.fulfilled_by is not None else None,
            "marketplaces": sorted(f.marketplaces) if f.marketplaces is not None else None,
        }


def split_list(values: list[str]) -> list[str]:
    """Array query parameters: comma-separated (Swagger ``csv``) and/or repeated."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_included(get_list: GetList) -> tuple[str, ...]:
    included = split_list(get_list("includedData"))
    bad = [v for v in included if v not in INCLUDED_DATA]
    if bad:
        raise invalid_input(
            f"Invalid value for 'includedData': {', '.join(bad)}.",
            f"Valid values: {', '.join(INCLUDED_DATA)}.",
        )
    return tuple(dict.fromkeys(included))


def _enum_list(get_list: GetList, name: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    values = split_list(get_list(name))
    bad = [v for v in values if v not in allowed]
    if bad:
        raise invalid_input(f"Invalid value for '{name}': {', '.join(bad)}.", f"Valid values: {', '.join(allowed)}.")
    return frozenset(values) if values else None


def _timestamp(get_one: Callable[[str], str | None], name: str) -> datetime | None:
    raw = get_one(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise invalid_input(
            f"Invalid input for '{name}': '{raw}' is not a valid ISO 8601 date-time.",
            "Use a format such as 2025-01-01T00:00:00Z.",
        ) from None


def parse_search(
    get_one: Callable[[str], str | None], get_list: GetList, now: datetime, known_marketplaces: set[str]
) -> SearchQuery:
    """Validate searchOrders parameters against the spec's rules (raises 400 InvalidInput)."""
    created_after = _timestamp(get_one, "createdAfter")
    created_before = _timestamp(get_one, "createdBefore")
    updated_after = _timestamp(get_one, "lastUpdatedAfter")
    updated_before = _timestamp(get_one, "lastUpdatedBefore")
    if (created_after is None) == (updated_after is None):
        raise invalid_input("Exactly one of 'createdAfter' and 'lastUpdatedAfter' must be provided.")
    if created_after is not None and updated_before is not None:
        raise invalid_input("'lastUpdatedBefore' cannot be provided together with 'createdAfter'.")
    if updated_after is not None and created_before is not None:
        raise invalid_input("'createdBefore' cannot be provided together with 'lastUpdatedAfter'.")
    by, after, before = (
        ("created", created_after, created_before) if created_after else ("updated", updated_after, updated_before)
    )
    after_name, before_name = (
        ("createdAfter", "createdBefore") if by == "created" else ("lastUpdatedAfter", "lastUpdatedBefore")
    )
    assert after is not None
    if after > now:
        raise invalid_input(f"'{after_name}' cannot be in the future.")
    if before is not None:
        if before < after:
            raise invalid_input(f"'{before_name}' must be equal to or after '{after_name}'.")
        if before > now - MIN_AGE:
            raise invalid_input(f"'{before_name}' must be at least two minutes before the time of the request.")
    raw_size = get_one("maxResultsPerPage")
    page_size = DEFAULT_PAGE_SIZE
    if raw_size not in (None, ""):
        try:
            page_size = int(raw_size)
        except ValueError:
            raise invalid_input("'maxResultsPerPage' must be an integer between 1 and 100.") from None
        if not 1 <= page_size <= 100:
            raise invalid_input("'maxResultsPerPage' must be an integer between 1 and 100.")
    marketplace_list = split_list(get_list("marketplaceIds"))
    if len(marketplace_list) > MAX_MARKETPLACES:
        raise invalid_input(f"'marketplaceIds' accepts at most {MAX_MARKETPLACES} values.")
    unknown = [m for m in marketplace_list if m not in known_marketplaces]
    if unknown:
        raise invalid_input(
            f"Invalid marketplaceIds: {', '.join(unknown)}.", "The seller does not participate in these marketplaces."
        )
    filters = Filters(
        statuses=_enum_list(get_list, "fulfillmentStatuses", FULFILLMENT_STATUSES),
        fulfilled_by=_enum_list(get_list, "fulfilledBy", FULFILLED_BY),
        marketplaces=frozenset(marketplace_list) if marketplace_list else None,
    )
    return SearchQuery(
        by, after, before, filters, parse_included(get_list), page_size, get_one("paginationToken") or None
    )


@dataclass(frozen=True)
class PageState:
    """What a pagination token carries: the snapshot moment, the position reached, its expiry."""

    snapshot: datetime
    cursor: tuple[datetime, str]
    expires: datetime


class TokenCodec:
    """Opaque, tamper-evident pagination tokens (HMAC-signed) bound to the query's filters."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, query: SearchQuery, state: PageState) -> str:
        payload = json.dumps(
            {
                "q": query.signature(),
                "s": state.snapshot.isoformat(),
                "c": [state.cursor[0].isoformat(), state.cursor[1]],
                "e": state.expires.isoformat(),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def decode(self, token: str, query: SearchQuery, now: datetime) -> PageState:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:16], raw[16:]
            if not hmac.compare_digest(mac, hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]):
                raise ValueError("bad signature")
            data = json.loads(payload)
            state = PageState(
                snapshot=datetime.fromisoformat(data["s"]),
                cursor=(datetime.fromisoformat(data["c"][0]), str(data["c"][1])),
                expires=datetime.fromisoformat(data["e"]),
            )
        except (ValueError, KeyError, TypeError, IndexError):
            raise invalid_input("Invalid 'paginationToken'.", "The pagination token is malformed.") from None
        if now >= state.expires:
            raise invalid_input("Invalid 'paginationToken'.", "The pagination token has expired.")
        if data["q"] != query.signature():
            raise invalid_input(
                "Invalid 'paginationToken'.",
                "All parameters except maxResultsPerPage and includedData must have the same values as in the "
                "request that returned the token.",
            )
        return state
