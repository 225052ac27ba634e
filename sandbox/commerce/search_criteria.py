"""Magento ``searchCriteria`` query strings, parsed and applied to SQL.

Magento reads list requests like::

    searchCriteria[filter_groups][0][filters][0][field]=email
    searchCriteria[filter_groups][0][filters][0][value]=a@example.com
    searchCriteria[filter_groups][0][filters][0][condition_type]=eq
    searchCriteria[sortOrders][0][field]=created_at&searchCriteria[sortOrders][0][direction]=DESC
    searchCriteria[pageSize]=50&searchCriteria[currentPage]=2

Keys are accepted in snake_case and camelCase, as Magento's input processor
does. Filter groups are AND-ed, filters inside a group OR-ed; condition types
are those of Magento's SQL adapter (``eq neq like nlike in nin gt gteq moreq lt
lteq from to null notnull finset nfinset``; ``in``/``nin`` take a
comma-separated list). Without ``pageSize`` every match is returned (as
Magento does); ``currentPage`` below 1 reads page 1, and a page past the last
returns no items (Magento 2.4 behaviour; 2.3 repeated the last page).
Fields are resolved through an allow-list of real columns and every value is a
bound parameter, so no user input ever reaches the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    and_,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from sandbox.commerce.errors import MagentoError, bad_request, internal_error

_KEY = re.compile(r"^searchCriteria((?:\[[^\[\]]*\])+)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_ALIASES = {
    "filterGroups": "filter_groups",
    "conditionType": "condition_type",
    "sortOrders": "sort_orders",
    "pageSize": "page_size",
    "currentPage": "current_page",
}
CONDITIONS = frozenset(
    {"eq", "neq", "like", "nlike", "in", "nin", "gt", "gteq", "moreq", "lt", "lteq", "from", "to", "null", "notnull",
     "finset", "nfinset"}
)  # fmt: skip


@dataclass
class Filter:
    field: str
    value: str | None
    condition_type: str = "eq"


@dataclass
class SearchCriteria:
    filter_groups: list[list[Filter]] = field(default_factory=list)
    sort_orders: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> dict[str, Any]:
        """The ``search_criteria`` object Magento echoes in search results."""
        out: dict[str, Any] = {
            "filter_groups": [
                {"filters": [{"field": f.field, "value": f.value if f.value is not None else "",
                              "condition_type": f.condition_type} for f in group]}
                for group in self.filter_groups
            ]
        }  # fmt: skip
        if self.sort_orders:
            out["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort_orders]
        if self.page_size is not None:
            out["page_size"] = self.page_size
        if self.current_page is not None:
            out["current_page"] = self.current_page
        return out


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise bad_request(
            'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
            {"value": str(value), "type": "int"},
        ) from None


def _ordered(node: Any) -> list[Any]:
    """Children of an indexed node (``[0]``, ``[1]``... or ``[]``) in index order."""
    if isinstance(node, dict):

        def key(k: str) -> tuple[int, int | str]:
            return (0, int(k)) if k.isdigit() else (1, k)

        return [node[k] for k in sorted(node, key=key)]
    return [node]


def parse(query: list[tuple[str, str]]) -> SearchCriteria:
    """Build a :class:`SearchCriteria` from the raw query items of a request."""
    tree: dict[str, Any] = {}
    for key, value in query:
        match = _KEY.match(key)
        if not match:
            continue
        parts = [_ALIASES.get(p, p) for p in _SEGMENT.findall(match.group(1))]
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise bad_request("searchCriteria parameter %1 is malformed.", [key])
            node = child
        node[parts[-1]] = value
    criteria = SearchCriteria()
    for group in _ordered(tree.get("filter_groups", {})):
        filters = []
        for raw in _ordered(group.get("filters", {}) if isinstance(group, dict) else {}):
            if not isinstance(raw, dict):
                raise bad_request("searchCriteria filter is malformed.")
            name = raw.get("field")
            if not name:
                raise bad_request('"%fieldName" is required. Enter and try again.', {"fieldName": "field"})
            condition = (raw.get("condition_type") or "eq").strip().lower()
            if condition not in CONDITIONS:
                raise bad_request('Invalid condition type "%1".', [condition])
            filters.append(Filter(name, raw.get("value"), condition))
        if filters:
            criteria.filter_groups.append(filters)
    for raw in _ordered(tree.get("sort_orders", {})):
        if not isinstance(raw, dict) or not raw.get("field"):
            continue
        direction = (raw.get("direction") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise bad_request(
                'The sort order "%1" isn\'t supported. Only "ASC" and "DESC" directions are supported.', [direction]
            )
        criteria.sort_orders.append((raw["field"], direction))
    if "page_size" in tree:
        criteria.page_size = _int(tree["page_size"])
    if "current_page" in tree:
        criteria.current_page = _int(tree["current_page"])
    return criteria


def parse_datetime(value: str) -> datetime:
    """Magento's ``Y-m-d H:i:s`` (UTC), a plain date, or ISO 8601 with an offset (converted to UTC)."""
    text = value.strip().replace("T", " ")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = (
        datetime.fromisoformat(text)
        if len(text) > 10
        else datetime.combine(date.fromisoformat(text), datetime.min.time())
    )
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _coerce(column: ColumnElement, value: str, name: str) -> Any:
    kind = column.type
    try:
        if isinstance(kind, DateTime):
            return parse_datetime(value)
        if isinstance(kind, Integer | SmallInteger):
            return int(value)
        if isinstance(kind, Numeric):
            return float(value)
    except (TypeError, ValueError):
        raise bad_request(
            'Invalid value of "%value" provided for the %fieldName field.', {"value": value, "fieldName": name}
        ) from None
    return value


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _condition(column: ColumnElement, flt: Filter) -> ColumnElement:
    cond, raw = flt.condition_type, flt.value if flt.value is not None else ""
    if cond == "null":
        return column.is_(None)
    if cond == "notnull":
        return column.is_not(None)
    if cond in ("like", "nlike"):
        target = column if isinstance(column.type, String) else cast(column, String)
        expr = target.like(raw)
        return not_(expr) if cond == "nlike" else expr
    if cond in ("finset", "nfinset"):
        target = column if isinstance(column.type, String) else cast(column, String)
        expr = (literal(",") + target + literal(",")).like(f"%,{_escape_like(raw)},%", escape="\\")
        return not_(expr) if cond == "nfinset" else expr
    if cond in ("in", "nin"):
        values = [_coerce(column, v.strip(), flt.field) for v in raw.split(",") if v.strip() != ""]
        if not values:
            return literal(cond == "nin")
        return column.in_(values) if cond == "in" else column.not_in(values)
    value = _coerce(column, raw, flt.field)
    ops: dict[str, Callable[[Any], ColumnElement]] = {
        "eq": column.__eq__, "neq": column.__ne__, "gt": column.__gt__, "lt": column.__lt__,
        "gteq": column.__ge__, "moreq": column.__ge__, "from": column.__ge__, "lteq": column.__le__, "to": column.__le__,
    }  # fmt: skip
    return ops[cond](value)


@dataclass
class Fields:
    """The allow-list of filterable/sortable fields of one list endpoint."""

    columns: Mapping[str, ColumnElement]
    #: what Magento answers for an unknown field: a SQL error (500) on flat tables, 400 on EAV ones
    unknown: Callable[[str], MagentoError]

    def column(self, name: str) -> ColumnElement:
        try:
            return self.columns[name]
        except KeyError:
            raise self.unknown(name) from None


def flat_fields(table: Table, hidden: tuple[str, ...] = ()) -> Fields:
    """Every column of a flat table (sales documents, order items); an unknown field is a SQL error (500)."""
    return Fields(
        columns={name: col for name, col in table.c.items() if name not in hidden},
        unknown=lambda name: internal_error(),
    )


def parent_criteria(parent_id: Any) -> SearchCriteria:
    """What Magento's ``get*CommentsList($id)`` services build: ``parent_id eq <id>``."""
    return SearchCriteria(filter_groups=[[Filter("parent_id", str(parent_id))]])


def where_clause(criteria: SearchCriteria, fields: Fields) -> ColumnElement | None:
    groups = [or_(*(_condition(fields.column(f.field), f) for f in group)) for group in criteria.filter_groups]
    return and_(*groups) if groups else None


def order_by(criteria: SearchCriteria, fields: Fields, tiebreak: ColumnElement) -> list[ColumnElement]:
    clauses = [
        fields.column(name).desc() if d == "DESC" else fields.column(name).asc() for name, d in criteria.sort_orders
    ]
    return [*clauses, tiebreak.asc()]


def limit_offset(criteria: SearchCriteria) -> tuple[int | None, int]:
    if criteria.page_size is None or criteria.page_size <= 0:
        return None, 0
    page = max(criteria.current_page or 1, 1)
    return criteria.page_size, (page - 1) * criteria.page_size


def run_search(
    conn: Connection, table: Table, fields: Fields, criteria: SearchCriteria, load: Callable[[Connection, list], list]
) -> dict[str, Any]:
    """A Magento search result for ``table``: filtered, sorted (the primary key breaks ties), paged, counted, loaded."""
    where = where_clause(criteria, fields)
    stmt, count = select(table), select(func.count()).select_from(table)
    if where is not None:
        stmt, count = stmt.where(where), count.where(where)
    limit, offset = limit_offset(criteria)
    key = next(iter(table.primary_key.columns))
    stmt = stmt.order_by(*order_by(criteria, fields, key)).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = conn.execute(stmt).mappings().all()
    total = conn.execute(count).scalar_one()
    return {"items": load(conn, rows), "search_criteria": criteria.echo(), "total_count": total}
