"""The channel database: staged Amazon orders, their import state, high-water marks, tracking pushes.

Plain functions over a SQLAlchemy ``Engine`` (each call is one transaction) or a
``Connection`` (the caller's transaction). Every statement is a file in
``include/sql/`` (see :func:`sql`); SQLite, MariaDB/MySQL and PostgreSQL are
supported. Timestamps are stored in UTC: aware datetimes in, aware UTC
datetimes out (SQLite keeps fixed-width text so that text order is time order).

Import state of a channel order (``import_status``):

``staged``      known, not ready (MFN pending; FBA not shipped yet)
``importable``  ready for a Commerce order, not attempted yet
``failed``      an attempt failed; ``import_error`` says why; retried every run
``skipped``     ready, but the settings keep it out (FBA or order import disabled)
``imported``    the Commerce order exists (``commerce_order_id``)
``canceled``    cancelled on Amazon: before import (nothing to do) or afterwards
                (the Commerce order was canceled or refunded)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, astuple, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, String, TextClause, bindparam, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from include.settings import OrderSettings
from include.staging import ITEM_COLUMNS, ORDER_COLUMNS, RejectedOrder

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pandas is only handed in by the caller; keep it out of DAG-parse imports
    import pandas as pd

#: Column names a database message may quote (kept when masking quoted values).
_COLUMN_NAMES = frozenset(ORDER_COLUMNS) | frozenset(ITEM_COLUMNS)
SQL_DIR = Path(__file__).resolve().parent / "sql"
#: Rows per upsert statement (PostgreSQL JSON batch; the MySQL driver splits further by statement size).
BATCH_ROWS = 1000
#: Fallbacks when a dialect has no file of its own: MariaDB shares MySQL's syntax.
_DIALECT_FALLBACK = {"mariadb": "mysql"}
_NO_LIMIT = 2_147_483_647
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MFN_IMPORT_STATUSES = ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED")
AFN_IMPORT_STATUSES = ("SHIPPED",)


@cache
def sql(name: str, dialect: str | None = None) -> str:
    """The statement in ``include/sql/<name>.<dialect>.sql`` if present, else ``<name>.sql``.

    Whole-line ``--`` comments are removed (they document the files; drivers such as
    PyMySQL only batch an ``executemany`` INSERT when the text starts with INSERT).
    """
    candidates = []
    if dialect:
        candidates.append(f"{name}.{dialect}.sql")
        if dialect in _DIALECT_FALLBACK:
            candidates.append(f"{name}.{_DIALECT_FALLBACK[dialect]}.sql")
    candidates.append(f"{name}.sql")
    for candidate in candidates:
        path = SQL_DIR / candidate
        if path.is_file():
            lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
            return "\n".join(lines).strip()
    raise FileNotFoundError(
        f"no SQL file for {name!r} (dialect {dialect!r}) in {SQL_DIR}: tried {', '.join(candidates)}"
    )


def _statements(script: str) -> list[str]:
    """A multi-statement file split at semicolons that end a line."""
    parts, current = [], []
    for line in script.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if "".join(current).strip():
        parts.append("\n".join(current))
    return [p for p in parts if p.strip()]


@contextmanager
def _tx(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        yield bind


def _dialect(conn: Connection) -> str:
    return conn.dialect.name


def _q(conn: Connection, name: str, *expanding: str) -> TextClause:
    """The statement ``name`` for this connection's dialect; ``expanding`` names its list parameters.

    ``only_ids`` (the optional Amazon order id filter) may be an empty list, which needs its element type.
    """
    statement = text(sql(name, _dialect(conn)))
    if expanding:
        statement = statement.bindparams(
            *(bindparam(p, expanding=True, type_=String if p == "only_ids" else None) for p in expanding)
        )
    return statement


def _id_filter(only_ids: Sequence[str] | None) -> dict[str, Any]:
    """Parameters of the optional id filter, ``AND (:all_orders = 1 OR amazon_order_id IN :only_ids)``."""
    if only_ids is None:
        return {"all_orders": 1, "only_ids": []}
    return {"all_orders": 0, "only_ids": sorted(set(only_ids))}


def _ts_out(dialect: str, value: datetime | None) -> Any:
    """A UTC datetime as the dialect stores it (fixed-width text on SQLite, naive UTC elsewhere)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the channel database only takes timezone-aware values")
    utc = value.astimezone(UTC).replace(tzinfo=None)
    if dialect == "sqlite":
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f")
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)


def _ts_in(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------------------------------------- schema


def create_schema(bind: Engine | Connection) -> None:
    """Create the channel tables and indexes if they do not exist (idempotent)."""
    with _tx(bind) as conn:
        for statement in _statements(sql("schema", _dialect(conn))):
            conn.execute(text(statement))


# ----------------------------------------------------------------------------------------------------------- staging


@dataclass(frozen=True)
class StageResult:
    """What a staging call did: orders new, updated (newer data) and unchanged (same or older data)."""

    orders: int
    new: int
    updated: int
    unchanged: int
    items: int
    statements: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def __add__(self, other: StageResult) -> StageResult:
        return StageResult(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


_TS_COLUMNS = {"created_at", "last_updated_at", "order_last_updated_at", "seen_at"}
_MONEY_COLUMNS = {"order_total", "unit_price", "item_subtotal", "item_tax", "item_discount", "shipping_price",
                  "shipping_tax", "shipping_discount", "proceeds_total"}  # fmt: skip


def _records(frame: pd.DataFrame, dialect: str, *, json_batch: bool) -> list[dict[str, Any]]:
    """Frame rows as bind parameters: None for missing values, dialect timestamps, decimals as text where needed."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        for key, value in row.items():
            if key in _TS_COLUMNS:
                row[key] = _ts_out("sqlite" if json_batch else dialect, value)
            elif isinstance(value, Decimal) and (json_batch or dialect == "sqlite"):
                row[key] = str(value)
    return rows


def _newest_per_key(frame: pd.DataFrame, keys: list[str], ts: str) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame.sort_values(ts, kind="stable").drop_duplicates(keys, keep="last")


def _upsert(conn: Connection, name: str, rows: list[dict[str, Any]]) -> int:
    """Upsert rows in batches; returns the number of statements sent."""
    dialect = _dialect(conn)
    statements = 0
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        if dialect == "postgresql":
            conn.execute(text(sql(name, dialect)), {"rows": json.dumps(batch)})
        else:
            conn.execute(text(sql(name, dialect)), batch)
        statements += 1
    return statements


def upsert_staged(
    bind: Engine | Connection, orders_df: pd.DataFrame, items_df: pd.DataFrame, *, now: datetime | None = None
) -> StageResult:
    """Upsert flattened orders and items (:func:`include.staging.flatten`) in batches, in one transaction.

    A newer ``lastUpdatedTime`` always wins, an older or equal one never overwrites;
    import-state columns are never touched. Afterwards each order's ``import_status``
    is derived again from Amazon's status (see ``refresh_import_status.sql``).
    """
    now = now or now_utc()
    orders_df = _newest_per_key(orders_df, ["amazon_order_id"], "last_updated_at")
    items_df = _newest_per_key(items_df, ["amazon_order_id", "order_item_id"], "order_last_updated_at")
    if orders_df.empty and items_df.empty:
        return StageResult(0, 0, 0, 0, 0, 0)
    with _tx(bind) as conn:
        dialect = _dialect(conn)
        json_batch = dialect == "postgresql"
        statements = 0
        known: dict[str, datetime] = {}
        ids = orders_df["amazon_order_id"].tolist()
        for start in range(0, len(ids), BATCH_ROWS):
            chunk = ids[start : start + BATCH_ROWS]
            for order_id, stored in conn.execute(_q(conn, "select_order_versions", "ids"), {"ids": chunk}):
                known[order_id] = _ts_in(stored)
            statements += 1
        new = updated = 0
        for order_id, last_updated in zip(ids, orders_df["last_updated_at"], strict=True):
            if order_id not in known:
                new += 1
            elif last_updated.to_pydatetime() > known[order_id]:
                updated += 1
        order_rows = _records(orders_df.assign(seen_at=now), dialect, json_batch=json_batch)
        statements += _upsert(conn, "upsert_orders", order_rows)
        statements += _upsert(conn, "upsert_items", _records(items_df, dialect, json_batch=json_batch))
        conn.execute(_q(conn, "refresh_import_status"))
        statements += 1
    return StageResult(len(ids), new, updated, len(ids) - new - updated, len(items_df), statements)


def upsert_staged_isolating(
    engine: Engine, orders_df: pd.DataFrame, items_df: pd.DataFrame, *, now: datetime | None = None
) -> tuple[StageResult, list[tuple[str, str]]]:
    """:func:`upsert_staged`, and when the database refuses the batch's data, again order by order.

    Returns what was staged and the ``(amazon_order_id, reason)`` of each order the
    database refused on its own (the reason is the database's message with quoted
    values masked). Errors other than refused data (connection lost, a bug in a
    statement) are raised as they are.
    """
    try:
        return upsert_staged(engine, orders_df, items_df, now=now), []
    except (DataError, IntegrityError) as exc:
        log.warning("the channel database refused a staging batch (%s); staging it order by order", _db_reason(exc))
    staged = StageResult(0, 0, 0, 0, 0, 0)
    refused: list[tuple[str, str]] = []
    items_by_order = dict(tuple(items_df.groupby("amazon_order_id", sort=False))) if not items_df.empty else {}
    for position in range(len(orders_df)):
        one = orders_df.iloc[position : position + 1]
        order_id = str(one["amazon_order_id"].iloc[0])
        try:
            staged += upsert_staged(engine, one, items_by_order.get(order_id, items_df.iloc[0:0]), now=now)
        except (DataError, IntegrityError) as exc:
            refused.append((order_id, _db_reason(exc)))
    return staged, refused


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _db_reason(exc: DBAPIError) -> str:
    """The database's message, first line only, every quoted value masked (it could be buyer data)."""
    original = exc.orig
    args = getattr(original, "args", ())
    text = str(args[1]) if len(args) > 1 and isinstance(args[0], int) else str(original)  # PyMySQL: (code, message)
    text = (text.strip().splitlines() or [type(original).__name__])[0]
    return _QUOTED.sub(lambda m: m.group(0) if m.group(0)[1:-1] in _COLUMN_NAMES else "'…'", text)[:300]


def record_rejections(
    bind: Engine | Connection, rejected: Sequence[RejectedOrder], *, now: datetime | None = None
) -> None:
    """Keep each rejected landed order (one row per order id, or per raw record without a usable id)."""
    if not rejected:
        return
    with _tx(bind) as conn:
        stamp = _ts_out(_dialect(conn), now or now_utc())
        rows = [
            {
                "rejection_key": f"id:{r.amazon_order_id}" if r.amazon_order_id else f"raw:{_digest(r)}",
                "amazon_order_id": r.amazon_order_id,
                "reason": r.reason,
                "landing_source": r.source,
                "now": stamp,
            }
            for r in rejected
        ]
        for row in {row["rejection_key"]: row for row in rows}.values():
            conn.execute(_q(conn, "upsert_rejection"), row)


def _digest(rejected: RejectedOrder) -> str:
    return hashlib.sha256(f"{rejected.source}|{rejected.reason}".encode()).hexdigest()[:32]


def clear_rejections(bind: Engine | Connection, staged_ids: Sequence[str]) -> None:
    """Forget the rejections of orders that now have a valid version staged."""
    with _tx(bind) as conn:
        for start in range(0, len(staged_ids), BATCH_ROWS):
            conn.execute(
                _q(conn, "delete_resolved_rejections", "ids"), {"ids": list(staged_ids[start : start + BATCH_ROWS])}
            )


# ----------------------------------------------------------------------------------------------------------- import state


@dataclass(frozen=True)
class ChannelOrder:
    """A staged order as the importer needs it: its state and the Amazon order it was staged from."""

    amazon_order_id: str
    marketplace_id: str
    fulfilled_by: str
    amazon_status: str
    channel_status: str
    last_updated_at: datetime
    import_status: str
    import_attempts: int
    import_error: str | None
    fingerprint: str
    commerce_order_id: int | None
    commerce_increment_id: str | None
    payload: dict[str, Any]


def _channel_orders(result) -> list[ChannelOrder]:
    orders = []
    for row in result.mappings():
        orders.append(
            ChannelOrder(
                amazon_order_id=row["amazon_order_id"],
                marketplace_id=row["marketplace_id"],
                fulfilled_by=row["fulfilled_by"],
                amazon_status=row["amazon_status"],
                channel_status=row["channel_status"],
                last_updated_at=_ts_in(row["last_updated_at"]),
                import_status=row["import_status"],
                import_attempts=int(row["import_attempts"]),
                import_error=row["import_error"],
                fingerprint=row["sync_fingerprint"],
                commerce_order_id=int(row["commerce_order_id"]) if row["commerce_order_id"] is not None else None,
                commerce_increment_id=row["commerce_increment_id"],
                payload=json.loads(row["payload"]),
            )
        )
    return orders


def _check_channel(fulfilled_by: str) -> None:
    if fulfilled_by not in ("MERCHANT", "AMAZON"):
        raise ValueError(f"fulfilled_by must be 'MERCHANT' or 'AMAZON', got {fulfilled_by!r}")


def orders_to_import(
    bind: Engine | Connection,
    *,
    fulfilled_by: str,
    settings: OrderSettings,
    limit: int | None = None,
    only_ids: Sequence[str] | None = None,
) -> list[ChannelOrder]:
    """Orders that should get a Commerce order now, oldest first (failed and skipped ones are retried).

    MFN: UNSHIPPED, PARTIALLY_SHIPPED or SHIPPED. AFN: SHIPPED, and only when
    ``settings.fba_import``. Nothing when ``settings.import_enabled`` is off.
    """
    _check_channel(fulfilled_by)
    if not settings.import_enabled or (fulfilled_by == "AMAZON" and not settings.fba_import):
        return []
    if only_ids is not None and not only_ids:
        return []
    statuses = list(MFN_IMPORT_STATUSES if fulfilled_by == "MERCHANT" else AFN_IMPORT_STATUSES)
    params: dict[str, Any] = {"fulfilled_by": fulfilled_by, "statuses": statuses, "limit": limit or _NO_LIMIT}
    with _tx(bind) as conn:
        query = _q(conn, "orders_to_import", "statuses", "only_ids")
        return _channel_orders(conn.execute(query, {**params, **_id_filter(only_ids)}))


def order_ids_to_import(
    bind: Engine | Connection, *, fulfilled_by: str, settings: OrderSettings, only_ids: Sequence[str] | None = None
) -> list[str]:
    """The ids of :func:`orders_to_import` (same rules and order), without loading the orders."""
    _check_channel(fulfilled_by)
    if not settings.import_enabled or (fulfilled_by == "AMAZON" and not settings.fba_import):
        return []
    statuses = list(MFN_IMPORT_STATUSES if fulfilled_by == "MERCHANT" else AFN_IMPORT_STATUSES)
    params = {"fulfilled_by": fulfilled_by, "statuses": statuses, "limit": _NO_LIMIT, **_id_filter(only_ids)}
    with _tx(bind) as conn:
        return list(conn.execute(_q(conn, "order_ids_to_import", "statuses", "only_ids"), params).scalars())


def orders_needing_update(
    bind: Engine | Connection,
    *,
    fulfilled_by: str | None = None,
    limit: int | None = None,
    only_ids: Sequence[str] | None = None,
) -> list[ChannelOrder]:
    """Imported orders whose cancellation or buyer name/e-mail changed on Amazon since import or last update."""
    channels = ["MERCHANT", "AMAZON"] if fulfilled_by is None else [fulfilled_by]
    for channel in channels:
        _check_channel(channel)
    if only_ids is not None and not only_ids:
        return []
    params: dict[str, Any] = {"fulfilled_by": channels, "limit": limit or _NO_LIMIT}
    with _tx(bind) as conn:
        query = _q(conn, "orders_needing_update", "fulfilled_by", "only_ids")
        return _channel_orders(conn.execute(query, {**params, **_id_filter(only_ids)}))


def canceled_orders_to_settle(
    bind: Engine | Connection, *, fulfilled_by: str = "MERCHANT", limit: int | None = None
) -> list[ChannelOrder]:
    """Orders cancelled on Amazon after a failed import attempt: Commerce may hold an unlinked order for them."""
    _check_channel(fulfilled_by)
    params: dict[str, Any] = {"fulfilled_by": [fulfilled_by], "limit": limit or _NO_LIMIT}
    with _tx(bind) as conn:
        return _channel_orders(conn.execute(_q(conn, "canceled_orders_to_settle", "fulfilled_by"), params))


def record_cancel_settled(bind: Engine | Connection, amazon_order_id: str, *, now: datetime | None = None) -> None:
    """A cancelled order from :func:`canceled_orders_to_settle` had no Commerce order: stop looking."""
    with _tx(bind) as conn:
        params = {"amazon_order_id": amazon_order_id, "now": _ts_out(_dialect(conn), now or now_utc())}
        conn.execute(_q(conn, "record_cancel_settled"), params)


def record_imported(
    bind: Engine | Connection,
    amazon_order_id: str,
    commerce_order_id: int,
    increment_id: str | None,
    *,
    fingerprint: str | None = None,
    now: datetime | None = None,
) -> None:
    """Link the Commerce order to the channel order and mark it imported.

    ``fingerprint``: the :attr:`ChannelOrder.fingerprint` of the version that was
    imported (default: the currently staged one).
    """
    with _tx(bind) as conn:
        dialect = _dialect(conn)
        params = {
            "amazon_order_id": amazon_order_id,
            "commerce_order_id": int(commerce_order_id),
            "increment_id": increment_id,
            "fingerprint": fingerprint,
            "now": _ts_out(dialect, now or now_utc()),
        }
        result = conn.execute(_q(conn, "record_imported"), params)
        if result.rowcount == 0:
            raise LookupError(f"Amazon order {amazon_order_id} is not staged in the channel database")
        conn.execute(_q(conn, "insert_order_link"), params)


def record_failure(
    bind: Engine | Connection, amazon_order_id: str, reason: str, *, now: datetime | None = None
) -> None:
    """Keep the order out with a readable reason (no buyer data!), count the attempt, keep the first failure time."""
    record_failures(bind, [(amazon_order_id, reason)], now=now)


def record_failures(
    bind: Engine | Connection, failures: Sequence[tuple[str, str]], *, now: datetime | None = None
) -> None:
    """:func:`record_failure` for many orders in one batched statement."""
    if not failures:
        return
    with _tx(bind) as conn:
        stamp = _ts_out(_dialect(conn), now or now_utc())
        rows = [
            {"amazon_order_id": oid, "reason": (reason or "unknown error")[:1000], "now": stamp}
            for oid, reason in failures
        ]
        conn.execute(_q(conn, "record_failure"), rows)


def record_skipped(bind: Engine | Connection, *, fulfilled_by: str, reason: str, now: datetime | None = None) -> int:
    """Mark every ready order of a fulfilment channel as kept out by the settings; returns how many."""
    _check_channel(fulfilled_by)
    with _tx(bind) as conn:
        params = {"fulfilled_by": fulfilled_by, "reason": reason, "now": _ts_out(_dialect(conn), now or now_utc())}
        return conn.execute(_q(conn, "record_skipped"), params).rowcount


def record_updated(
    bind: Engine | Connection,
    amazon_order_id: str,
    *,
    fingerprint: str | None = None,
    canceled: bool = False,
    now: datetime | None = None,
) -> None:
    """Amazon's later changes were applied to the Commerce order (``canceled``: it was canceled or refunded)."""
    with _tx(bind) as conn:
        params = {
            "amazon_order_id": amazon_order_id,
            "fingerprint": fingerprint,
            "canceled": 1 if canceled else 0,
            "now": _ts_out(_dialect(conn), now or now_utc()),
        }
        conn.execute(_q(conn, "record_updated"), params)


# ----------------------------------------------------------------------------------------------------------- sync state


def high_water_mark(bind: Engine | Connection, job: str) -> datetime | None:
    """The end of the last window ``job`` finished, or None before its first run."""
    with _tx(bind) as conn:
        value = conn.execute(_q(conn, "select_high_water_mark"), {"job": job}).scalar()
    return _ts_in(value)


def set_high_water_mark(bind: Engine | Connection, job: str, ts: datetime, *, now: datetime | None = None) -> datetime:
    """Move ``job``'s mark forward to ``ts`` (an older ``ts`` leaves it); returns the mark now stored."""
    with _tx(bind) as conn:
        dialect = _dialect(conn)
        params = {"job": job, "mark": _ts_out(dialect, ts), "now": _ts_out(dialect, now or now_utc())}
        conn.execute(_q(conn, "upsert_high_water_mark"), params)
        return _ts_in(conn.execute(_q(conn, "select_high_water_mark"), {"job": job}).scalar())


# ----------------------------------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class QuarantinedOrder:
    """An order kept out of Commerce and why (``reason`` is readable and free of buyer data)."""

    amazon_order_id: str
    marketplace_id: str | None  # None for orders rejected at staging (import_status "rejected")
    fulfilled_by: str | None
    amazon_status: str | None
    import_status: str
    reason: str
    attempts: int
    first_seen_at: datetime
    last_seen_at: datetime
    first_failed_at: datetime | None
    last_attempt_at: datetime | None
    commerce_order_id: int | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        return data


def quarantine(bind: Engine | Connection) -> list[QuarantinedOrder]:
    """Every order currently kept out: failed imports, settings-skipped orders, and failed updates of imported ones."""
    with _tx(bind) as conn:
        rows = conn.execute(_q(conn, "quarantine")).mappings().all()
    return [
        QuarantinedOrder(
            amazon_order_id=row["amazon_order_id"],
            marketplace_id=row["marketplace_id"],
            fulfilled_by=row["fulfilled_by"],
            amazon_status=row["amazon_status"],
            import_status=row["import_status"],
            reason=row["import_error"],
            attempts=int(row["import_attempts"]),
            first_seen_at=_ts_in(row["first_seen_at"]),
            last_seen_at=_ts_in(row["last_seen_at"]),
            first_failed_at=_ts_in(row["first_failed_at"]),
            last_attempt_at=_ts_in(row["last_attempt_at"]),
            commerce_order_id=int(row["commerce_order_id"]) if row["commerce_order_id"] is not None else None,
        )
        for row in rows
    ]


def outcome_counts(bind: Engine | Connection, *, since: datetime | None = None) -> dict[str, dict[str, int]]:
    """Orders per fulfilment channel and import status, among those staged or attempted since ``since`` (all if None).

    For example ``{"MERCHANT": {"imported": 40, "failed": 2, "staged": 5}, "AMAZON": {"imported": 12}}``.
    """
    with _tx(bind) as conn:
        rows = conn.execute(_q(conn, "outcome_counts"), {"since": _ts_out(_dialect(conn), since or _EPOCH)}).all()
    counts: dict[str, dict[str, int]] = {}
    for fulfilled_by, status, orders in rows:
        counts.setdefault(fulfilled_by, {})[status] = int(orders)
    return counts


def run_check(bind: Engine | Connection, name: str) -> dict[str, bool]:
    """Run a data-quality check file (``dq_*``) and return its named results as booleans."""
    with _tx(bind) as conn:
        row = conn.execute(_q(conn, name)).mappings().one()
    return {key: bool(value) for key, value in row.items()}


DQ_CHECKS = ("dq_no_duplicate_commerce_orders", "dq_importable_orders_accounted")


def dq_check_sql(name: str) -> str:
    """The SQL of a data-quality check, for common-sql's ``SQLCheckOperator(sql=...)``."""
    if name not in DQ_CHECKS:
        raise ValueError(f"unknown check {name!r}; known: {', '.join(DQ_CHECKS)}")
    return sql(name)


# ----------------------------------------------------------------------------------------------------------- tracking push
#
# channel_shipment_push: one row per Amazon package (one Commerce tracking number), keyed by Amazon order id and
# packageReferenceId. status: pending -> confirmed | failed (retried) | refused (kept); skipped = cannot be built.
# channel_order_completion: fully confirmed orders and whether their Commerce order was closed.

PUSH_STATUSES = ("pending", "confirmed", "failed", "refused", "skipped")
COMPLETION_STATUSES = ("completed", "failed", "skipped")


@dataclass(frozen=True)
class TrackingOrder:
    """A channel order as the tracking push sees it: who fulfils it and its Commerce order."""

    amazon_order_id: str
    marketplace_id: str
    fulfilled_by: str
    amazon_status: str
    import_status: str
    commerce_order_id: int
    created_at: datetime


@dataclass(frozen=True)
class TrackingItem:
    """An Amazon order item with its Commerce order item (once known) and the units confirmed so far."""

    amazon_order_id: str
    order_item_id: str
    sku: str | None
    quantity_ordered: int
    quantity_confirmed: int
    commerce_order_item_id: int | None


@dataclass(frozen=True)
class ShipmentPush:
    """A recorded package (``items``: canonical JSON, see :func:`include.tracking.items_to_json`)."""

    amazon_order_id: str
    package_reference_id: str
    commerce_order_id: int | None
    commerce_shipment_id: int
    commerce_track_id: int
    carrier_code: str | None
    carrier_name: str | None
    shipping_method: str | None
    tracking_number: str | None
    ship_date: datetime | None
    items: str
    status: str
    attempts: int
    last_error: str | None
    marketplace_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ship_date"] = self.ship_date.strftime("%Y-%m-%dT%H:%M:%SZ") if self.ship_date else None
        data["items"] = json.loads(self.items or "[]")
        return data


def _tracking_orders(result) -> list[TrackingOrder]:
    return [
        TrackingOrder(
            amazon_order_id=row["amazon_order_id"],
            marketplace_id=row["marketplace_id"],
            fulfilled_by=row["fulfilled_by"],
            amazon_status=row["amazon_status"],
            import_status=row["import_status"],
            commerce_order_id=int(row["commerce_order_id"]),
            created_at=_ts_in(row["created_at"]),
        )
        for row in result.mappings()
    ]


def tracking_orders_by_commerce_id(
    bind: Engine | Connection, commerce_order_ids: Sequence[int]
) -> dict[int, TrackingOrder]:
    """The channel orders behind these Commerce orders, by Commerce order id (others are not Amazon orders)."""
    ids = sorted({int(i) for i in commerce_order_ids})
    found: dict[int, TrackingOrder] = {}
    with _tx(bind) as conn:
        for start in range(0, len(ids), BATCH_ROWS):
            chunk = ids[start : start + BATCH_ROWS]
            for order in _tracking_orders(
                conn.execute(_q(conn, "select_tracking_orders_by_commerce_id", "ids"), {"ids": chunk})
            ):
                found[order.commerce_order_id] = order
    return found


def tracking_orders_by_amazon_id(bind: Engine | Connection, amazon_order_ids: Sequence[str]) -> list[TrackingOrder]:
    """The given Amazon orders that have a Commerce order."""
    ids = sorted(set(amazon_order_ids))
    if not ids:
        return []
    with _tx(bind) as conn:
        return _tracking_orders(conn.execute(_q(conn, "select_tracking_orders_by_amazon_id", "ids"), {"ids": ids}))


def oldest_imported_mfn_order(bind: Engine | Connection) -> datetime | None:
    """When the oldest merchant-fulfilled order with a Commerce order was created on Amazon (None if none)."""
    with _tx(bind) as conn:
        return _ts_in(conn.execute(_q(conn, "select_oldest_imported_mfn_order")).scalar())


def tracking_items(bind: Engine | Connection, amazon_order_ids: Sequence[str]) -> dict[str, list[TrackingItem]]:
    """The items of these orders, by Amazon order id."""
    ids = sorted(set(amazon_order_ids))
    items: dict[str, list[TrackingItem]] = {}
    with _tx(bind) as conn:
        for start in range(0, len(ids), BATCH_ROWS):
            rows = conn.execute(_q(conn, "select_tracking_items", "ids"), {"ids": ids[start : start + BATCH_ROWS]})
            for row in rows.mappings():
                items.setdefault(row["amazon_order_id"], []).append(
                    TrackingItem(
                        amazon_order_id=row["amazon_order_id"],
                        order_item_id=row["order_item_id"],
                        sku=row["sku"],
                        quantity_ordered=int(row["quantity_ordered"]),
                        quantity_confirmed=int(row["quantity_confirmed"]),
                        commerce_order_item_id=(
                            int(row["commerce_order_item_id"]) if row["commerce_order_item_id"] is not None else None
                        ),
                    )
                )
    return items


def set_commerce_item_ids(bind: Engine | Connection, links: Sequence[tuple[str, str, int]]) -> None:
    """Store ``(amazon_order_id, order_item_id, commerce_order_item_id)`` links in one batched statement."""
    if not links:
        return
    rows = [{"amazon_order_id": a, "order_item_id": i, "commerce_order_item_id": int(c)} for a, i, c in links]
    with _tx(bind) as conn:
        conn.execute(_q(conn, "update_commerce_item_id"), rows)


def _pushes(result) -> list[ShipmentPush]:
    pushes = []
    for row in result.mappings():
        pushes.append(
            ShipmentPush(
                amazon_order_id=row["amazon_order_id"],
                package_reference_id=row["package_reference_id"],
                commerce_order_id=int(row["commerce_order_id"]) if row["commerce_order_id"] is not None else None,
                commerce_shipment_id=int(row["commerce_shipment_id"]),
                commerce_track_id=int(row["commerce_track_id"]),
                carrier_code=row["carrier_code"],
                carrier_name=row["carrier_name"],
                shipping_method=row["shipping_method"],
                tracking_number=row["tracking_number"],
                ship_date=_ts_in(row["ship_date"]),
                items=row["items"],
                status=row["status"],
                attempts=int(row["attempts"]),
                last_error=row["last_error"],
                marketplace_id=row.get("marketplace_id"),
            )
        )
    return pushes


def shipment_pushes(bind: Engine | Connection, amazon_order_ids: Sequence[str]) -> list[ShipmentPush]:
    """Every recorded package of these orders, in order, shipment and track order."""
    ids = sorted(set(amazon_order_ids))
    pushes: list[ShipmentPush] = []
    with _tx(bind) as conn:
        for start in range(0, len(ids), BATCH_ROWS):
            chunk = ids[start : start + BATCH_ROWS]
            pushes.extend(_pushes(conn.execute(_q(conn, "select_shipment_pushes", "ids"), {"ids": chunk})))
    return pushes


def _push_row(dialect: str, push: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "amazon_order_id": push["amazon_order_id"],
        "package_reference_id": str(push["package_reference_id"]),
        "commerce_order_id": push.get("commerce_order_id"),
        "commerce_shipment_id": int(push["commerce_shipment_id"]),
        "commerce_track_id": int(push["commerce_track_id"]),
        "carrier_code": push.get("carrier_code"),
        "carrier_name": push.get("carrier_name"),
        "shipping_method": push.get("shipping_method"),
        "tracking_number": push.get("tracking_number"),
        "ship_date": _ts_out(dialect, push.get("ship_date")),
        "items": push["items"],
        "status": push["status"],
        "last_error": (push.get("last_error") or None) and push["last_error"][:1000],
        "now": _ts_out(dialect, now),
    }


def save_shipment_pushes(
    bind: Engine | Connection,
    new: Sequence[dict[str, Any]],
    changed: Sequence[dict[str, Any]],
    *,
    now: datetime | None = None,
) -> None:
    """Insert packages seen for the first time and store the new content of changed ones, in one transaction.

    Each dict holds the ``channel_shipment_push`` columns (``ship_date`` an aware
    datetime, ``items`` canonical JSON, ``status`` pending or skipped, ``last_error``
    the skip reason). Attempt counters and confirmation times are kept.
    """
    if not new and not changed:
        return
    for push in (*new, *changed):
        if push["status"] not in ("pending", "skipped"):
            raise ValueError(f"a package is saved as pending or skipped, not {push['status']!r}")
    with _tx(bind) as conn:
        dialect, stamp = _dialect(conn), now or now_utc()
        if new:
            conn.execute(_q(conn, "insert_shipment_push"), [_push_row(dialect, p, stamp) for p in new])
        if changed:
            rows = [_push_row(dialect, p, stamp) for p in changed]
            for row in rows:
                row.pop("now")
                row.pop("commerce_order_id")
                row.pop("commerce_shipment_id")
                row.pop("commerce_track_id")
            conn.execute(_q(conn, "update_shipment_push_content"), rows)


def pushes_to_send(
    bind: Engine | Connection, *, only_ids: Sequence[str] | None = None, limit: int | None = None
) -> list[ShipmentPush]:
    """Pending and failed packages (with the order's marketplace), by order, shipment and track."""
    if only_ids is not None and not only_ids:
        return []
    params: dict[str, Any] = {"limit": limit or _NO_LIMIT}
    with _tx(bind) as conn:
        return _pushes(conn.execute(_q(conn, "select_pushes_to_send", "only_ids"), {**params, **_id_filter(only_ids)}))


def record_push_result(
    bind: Engine | Connection,
    amazon_order_id: str,
    package_reference_id: str,
    status: str,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record one confirmShipment outcome (``confirmed``, ``failed`` or ``refused``) and count the attempt."""
    if status not in ("confirmed", "failed", "refused"):
        raise ValueError(f"a push result is confirmed, failed or refused, not {status!r}")
    with _tx(bind) as conn:
        stamp = _ts_out(_dialect(conn), now or now_utc())
        params = {
            "amazon_order_id": amazon_order_id,
            "package_reference_id": str(package_reference_id),
            "status": status,
            "last_error": (error or "unknown error")[:1000] if status != "confirmed" else None,
            "now": stamp,
            "confirmed_at": stamp if status == "confirmed" else None,
        }
        if conn.execute(_q(conn, "record_push_result"), params).rowcount == 0:
            raise LookupError(f"no recorded package {package_reference_id} of Amazon order {amazon_order_id}")


def refresh_confirmed_quantities(bind: Engine | Connection, amazon_order_ids: Sequence[str]) -> None:
    """Recompute ``quantity_confirmed`` of these orders' items from their confirmed packages, then the channel status.

    Idempotent (quantities are set, not incremented), so an edited package counts once.
    """
    ids = sorted(set(amazon_order_ids))
    if not ids:
        return
    with _tx(bind) as conn:
        for start in range(0, len(ids), BATCH_ROWS):
            chunk = ids[start : start + BATCH_ROWS]
            confirmed: dict[tuple[str, str], int] = {}
            for row in conn.execute(_q(conn, "select_confirmed_push_items", "ids"), {"ids": chunk}).mappings():
                for item_id, qty in json.loads(row["items"] or "[]"):
                    key = (row["amazon_order_id"], str(item_id))
                    confirmed[key] = confirmed.get(key, 0) + int(qty)
            rows = []
            for row in conn.execute(_q(conn, "select_tracking_items", "ids"), {"ids": chunk}).mappings():
                key = (row["amazon_order_id"], row["order_item_id"])
                if int(row["quantity_confirmed"]) != confirmed.get(key, 0):
                    rows.append(
                        {
                            "amazon_order_id": key[0],
                            "order_item_id": key[1],
                            "quantity_confirmed": confirmed.get(key, 0),
                        }
                    )
            if rows:
                conn.execute(_q(conn, "update_quantity_confirmed"), rows)
            conn.execute(_q(conn, "update_channel_shipping_status", "ids"), {"ids": chunk})


@dataclass(frozen=True)
class OrderToComplete:
    """A merchant-fulfilled order whose every item Amazon has confirmed: its Commerce order is to be closed."""

    amazon_order_id: str
    commerce_order_id: int
    commerce_increment_id: str | None


def orders_to_complete(
    bind: Engine | Connection, *, only_ids: Sequence[str] | None = None, limit: int | None = None
) -> list[OrderToComplete]:
    """Fully confirmed orders whose Commerce order is not closed yet (new, or failed earlier)."""
    if only_ids is not None and not only_ids:
        return []
    params: dict[str, Any] = {"limit": limit or _NO_LIMIT}
    with _tx(bind) as conn:
        result = conn.execute(_q(conn, "select_orders_to_complete", "only_ids"), {**params, **_id_filter(only_ids)})
        return [
            OrderToComplete(row["amazon_order_id"], int(row["commerce_order_id"]), row["commerce_increment_id"])
            for row in result.mappings()
        ]


def record_completion(
    bind: Engine | Connection,
    amazon_order_id: str,
    commerce_order_id: int,
    status: str,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record closing a fully confirmed order in Commerce: ``completed``, ``failed`` (retried) or ``skipped``."""
    if status not in COMPLETION_STATUSES:
        raise ValueError(f"a completion is {', '.join(COMPLETION_STATUSES)}, not {status!r}")
    with _tx(bind) as conn:
        stamp = _ts_out(_dialect(conn), now or now_utc())
        params = {
            "amazon_order_id": amazon_order_id,
            "commerce_order_id": int(commerce_order_id),
            "status": status,
            "last_error": (error or None) and error[:1000],
            "now": stamp,
            "completed_at": stamp if status == "completed" else None,
        }
        conn.execute(_q(conn, "upsert_order_completion"), params)


def push_counts(bind: Engine | Connection) -> dict[str, int]:
    """Recorded packages per status, e.g. ``{"confirmed": 40, "failed": 1, "refused": 2}``."""
    with _tx(bind) as conn:
        return {status: int(n) for status, n in conn.execute(_q(conn, "shipment_push_counts")).all()}


def push_problems(bind: Engine | Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """Packages not confirmed, with their reason (failed, refused, skipped), most recent first."""
    with _tx(bind) as conn:
        rows = conn.execute(_q(conn, "select_push_problems"), {"limit": limit}).mappings().all()
    return [
        {
            **{k: row[k] for k in ("amazon_order_id", "package_reference_id", "carrier_code", "tracking_number",
                                   "status", "last_error")},
            "commerce_shipment_id": int(row["commerce_shipment_id"]),
            "commerce_track_id": int(row["commerce_track_id"]),
            "attempts": int(row["attempts"]),
            "last_attempt_at": _iso(_ts_in(row["last_attempt_at"])),
        }
        for row in rows
    ]  # fmt: skip


def completion_problems(bind: Engine | Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """Fully confirmed orders whose Commerce order could not be closed (failed) or had nothing to close (skipped)."""
    with _tx(bind) as conn:
        rows = conn.execute(_q(conn, "select_completion_problems"), {"limit": limit}).mappings().all()
    return [
        {
            "amazon_order_id": row["amazon_order_id"],
            "commerce_order_id": int(row["commerce_order_id"]),
            "status": row["status"],
            "attempts": int(row["attempts"]),
            "last_error": row["last_error"],
            "last_attempt_at": _iso(_ts_in(row["last_attempt_at"])),
        }
        for row in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
