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

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, TextClause, bindparam, text

from include.settings import OrderSettings

if TYPE_CHECKING:  # pandas is only handed in by the caller; keep it out of DAG-parse imports
    import pandas as pd

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
    statement = text(sql(name, _dialect(conn)))
    if expanding:
        statement = statement.bindparams(*(bindparam(p, expanding=True) for p in expanding))
    return statement


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
        if only_ids is None:
            return _channel_orders(conn.execute(_q(conn, "orders_to_import", "statuses"), params))
        params["ids"] = list(only_ids)
        return _channel_orders(conn.execute(_q(conn, "orders_to_import_by_id", "statuses", "ids"), params))


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
        if only_ids is None:
            return _channel_orders(conn.execute(_q(conn, "orders_needing_update", "fulfilled_by"), params))
        params["ids"] = list(only_ids)
        return _channel_orders(conn.execute(_q(conn, "orders_needing_update_by_id", "fulfilled_by", "ids"), params))


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
    marketplace_id: str
    fulfilled_by: str
    amazon_status: str
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
