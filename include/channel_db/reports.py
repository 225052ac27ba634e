"""What operators and run summaries read: the quarantine, counts, problems, and the data-quality checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from include.channel_db.statements import account_filter, records, sql, statement, tx

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DQ_CHECKS = ("dq_no_duplicate_commerce_orders", "dq_importable_orders_accounted")


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
    next_attempt_at: datetime | None = None  # a failed import's next try under the retry policy (None: not delayed)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        return data


def quarantine(bind: Engine | Connection, *, account: str | None = None) -> list[QuarantinedOrder]:
    """Every order currently kept out (of ``account``; None: of every account; set-aside orders have no account): failed imports, settings-skipped orders, and failed updates of imported ones."""
    with tx(bind) as conn:
        result = conn.execute(statement(conn, "quarantine"), account_filter(account))
        return records(
            QuarantinedOrder,
            result,
            reason=lambda row: row["import_error"],
            attempts=lambda row: row["import_attempts"],
        )


def outcome_counts(
    bind: Engine | Connection, *, since: datetime | None = None, account: str | None = None
) -> dict[str, dict[str, int]]:
    """Orders per fulfilment channel and import status, among those staged or attempted since ``since`` (all if None).

    For example ``{"MERCHANT": {"imported": 40, "failed": 2, "staged": 5}, "AMAZON": {"imported": 12}}``.
    """
    with tx(bind) as conn:
        rows = conn.execute(
            statement(conn, "outcome_counts"), {"since": since or _EPOCH, **account_filter(account)}
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for fulfilled_by, status, orders in rows:
        counts.setdefault(fulfilled_by, {})[status] = int(orders)
    return counts


def run_check(bind: Engine | Connection, name: str) -> dict[str, bool]:
    """Run a data-quality check file (``dq_*``) and return its named results as booleans."""
    with tx(bind) as conn:
        row = conn.execute(statement(conn, name)).mappings().one()
    return {key: bool(value) for key, value in row.items()}


def dq_check_sql(name: str) -> str:
    """The SQL of a data-quality check, for common-sql's ``SQLCheckOperator(sql=...)``."""
    if name not in DQ_CHECKS:
        raise ValueError(f"unknown check {name!r}; known: {', '.join(DQ_CHECKS)}")
    return sql(name)


def push_counts(bind: Engine | Connection, *, account: str | None = None) -> dict[str, int]:
    """Recorded packages per status, e.g. ``{"confirmed": 40, "failed": 1, "refused": 2}``."""
    with tx(bind) as conn:
        return {
            status: int(n)
            for status, n in conn.execute(statement(conn, "shipment_push_counts"), account_filter(account)).all()
        }


def push_problems(bind: Engine | Connection, *, limit: int = 100, account: str | None = None) -> list[dict[str, Any]]:
    """Packages not confirmed, with their reason (failed, refused, skipped, held), most recent first."""
    with tx(bind) as conn:
        rows = (
            conn.execute(statement(conn, "select_push_problems"), {"limit": limit, **account_filter(account)})
            .mappings()
            .all()
        )
    return [
        {
            **{k: row[k] for k in ("amazon_order_id", "package_reference_id", "carrier_code", "tracking_number",
                                   "status", "last_error")},
            "commerce_shipment_id": int(row["commerce_shipment_id"]),
            "commerce_track_id": int(row["commerce_track_id"]),
            "attempts": int(row["attempts"]),
            "last_attempt_at": _iso(row["last_attempt_at"]),
        }
        for row in rows
    ]  # fmt: skip


def completion_problems(bind: Engine | Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """Fully confirmed orders whose Commerce order could not be closed (failed) or had nothing to close (skipped)."""
    with tx(bind) as conn:
        rows = conn.execute(statement(conn, "select_completion_problems"), {"limit": limit}).mappings().all()
    return [
        {
            "amazon_order_id": row["amazon_order_id"],
            "commerce_order_id": int(row["commerce_order_id"]),
            "status": row["status"],
            "attempts": int(row["attempts"]),
            "last_error": row["last_error"],
            "last_attempt_at": _iso(row["last_attempt_at"]),
        }
        for row in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
