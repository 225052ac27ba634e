"""Magento ``searchCriteria`` query parameters built from Python values.

Magento's list endpoints (``GET /V1/orders``, ``/V1/customers/search``,
``/V1/shipments``) take a search criteria encoded in query parameters::

    searchCriteria[filter_groups][0][filters][0][field]=ext_order_id
    searchCriteria[filter_groups][0][filters][0][value]=114-0000001-0000001
    searchCriteria[filter_groups][0][filters][0][condition_type]=eq
    searchCriteria[sortOrders][0][field]=entity_id
    searchCriteria[sortOrders][0][direction]=ASC
    searchCriteria[pageSize]=100
    searchCriteria[currentPage]=1

Filter groups are AND-ed, the filters inside one group OR-ed. Values are only
ever placed in parameter *values* (httpx URL-encodes them), never spliced into
keys or strings, so user data cannot change the query's structure.

Example::

    SearchCriteria().where("ext_order_id", amazon_id).where("store_id", 1).page(1)
    SearchCriteria().where_any(Filter("email", a), Filter("email", b))
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

#: Condition types Magento's SQL collection processor understands.
CONDITION_TYPES = frozenset(
    {"eq", "neq", "like", "nlike", "in", "nin", "gt", "gteq", "lt", "lteq", "moreq", "from", "to", "null", "notnull",
     "finset", "nfinset"}
)  # fmt: skip
_LIST_CONDITIONS = frozenset({"in", "nin"})
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_DIRECTIONS = ("ASC", "DESC")
PREFIX = "searchCriteria"


@dataclass(frozen=True)
class Filter:
    """One condition: ``field <condition_type> value``."""

    field: str
    value: Any
    condition_type: str = "eq"

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not _FIELD.match(self.field):
            raise ValueError(f"invalid searchCriteria field name {self.field!r}")
        if self.condition_type not in CONDITION_TYPES:
            raise ValueError(
                f"unknown condition_type {self.condition_type!r}; expected one of {', '.join(sorted(CONDITION_TYPES))}"
            )
        encode_value(self.value, self.condition_type)  # fail early on values Magento cannot express


@dataclass(frozen=True)
class SortOrder:
    field: str
    direction: str = "ASC"


@dataclass
class SearchCriteria:
    """A Magento search criteria; the builder methods modify it and return it for chaining.

    Use :meth:`copy` to derive variants (``iter_*`` copies before paging).
    """

    filter_groups: list[list[Filter]] = field(default_factory=list)
    sort_orders: list[SortOrder] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def where(self, field: str, value: Any, condition_type: str = "eq") -> SearchCriteria:
        """AND a new filter group holding the single condition ``field <condition_type> value``."""
        self.filter_groups.append([Filter(field, value, condition_type)])
        return self

    def where_any(self, *filters: Filter) -> SearchCriteria:
        """AND one filter group whose conditions are OR-ed."""
        if not filters:
            raise ValueError("where_any needs at least one Filter")
        for f in filters:
            if not isinstance(f, Filter):
                raise TypeError(f"where_any takes Filter objects, got {type(f).__name__}")
        self.filter_groups.append(list(filters))
        return self

    def between(self, field: str, start: Any = None, end: Any = None) -> SearchCriteria:
        """``start <= field <= end`` as Magento's from/to conditions (each bound optional)."""
        if start is not None:
            self.where(field, start, "from")
        if end is not None:
            self.where(field, end, "to")
        return self

    def page(self, size: int, current: int = 1) -> SearchCriteria:
        """Ask for page ``current`` (1-based) of ``size`` items."""
        if int(size) < 1 or int(current) < 1:
            raise ValueError("page size and current page must be >= 1")
        self.page_size, self.current_page = int(size), int(current)
        return self

    def sort(self, field: str, direction: str = "ASC") -> SearchCriteria:
        """Add a sort order (applied in the order added)."""
        direction = direction.upper()
        if direction not in _DIRECTIONS:
            raise ValueError(f"sort direction must be ASC or DESC, not {direction!r}")
        if not _FIELD.match(field):
            raise ValueError(f"invalid sort field name {field!r}")
        self.sort_orders.append(SortOrder(field, direction))
        return self

    def copy(self) -> SearchCriteria:
        return copy.deepcopy(self)

    def to_params(self) -> list[tuple[str, str]]:
        """The query parameters, in Magento's bracket notation (values not yet URL-encoded)."""
        params: list[tuple[str, str]] = []
        for g, group in enumerate(self.filter_groups):
            for i, f in enumerate(group):
                key = f"{PREFIX}[filter_groups][{g}][filters][{i}]"
                params.append((f"{key}[field]", f.field))
                params.append((f"{key}[value]", encode_value(f.value, f.condition_type)))
                params.append((f"{key}[condition_type]", f.condition_type))
        for i, s in enumerate(self.sort_orders):
            params.append((f"{PREFIX}[sortOrders][{i}][field]", s.field))
            params.append((f"{PREFIX}[sortOrders][{i}][direction]", s.direction))
        if self.page_size is not None:
            params.append((f"{PREFIX}[pageSize]", str(self.page_size)))
        if self.current_page is not None:
            params.append((f"{PREFIX}[currentPage]", str(self.current_page)))
        if not params:
            # Magento requires the searchCriteria argument; an empty one means "everything".
            params.append((f"{PREFIX}[currentPage]", "1"))
        return params


def encode_value(value: Any, condition_type: str = "eq") -> str:
    """Render a Python value as Magento expects it in ``[value]``.

    Lists, tuples and sets (for ``in``/``nin``) become comma-separated; a member
    containing a comma cannot be expressed and is rejected. Datetimes become
    ``YYYY-MM-DD HH:MM:SS`` in UTC (Magento stores UTC), dates ``YYYY-MM-DD``,
    booleans ``1``/``0``, ``None`` an empty string (for ``null``/``notnull``).
    """
    if condition_type in _LIST_CONDITIONS:
        members = [value] if isinstance(value, str | int | float | Decimal) else list(_iterable(value))
        rendered = [_scalar(m) for m in members]
        for m in rendered:
            if "," in m:
                raise ValueError("a value inside an 'in'/'nin' list cannot contain a comma")
        return ",".join(rendered)
    if isinstance(value, list | tuple | set | frozenset):
        raise ValueError(f"condition_type {condition_type!r} takes a single value, not a list")
    return _scalar(value)


def _iterable(value: Any) -> Iterable[Any]:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | dict):
        return value
    raise ValueError(f"expected a list of values, got {type(value).__name__}")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"cannot use a {type(value).__name__} as a searchCriteria value")
