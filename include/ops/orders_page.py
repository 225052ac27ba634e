"""What the "Amazon orders" page of the Airflow UI reads from the channel database (``plugins/amazon_orders.py``).

Plain reads over a SQLAlchemy ``Engine``: sync health (high-water mark and lag, orders and
packages per status, orders imported per hour), the orders kept out of Commerce (the
quarantine, ``include/sql/quarantine.sql``) filtered and searched by Amazon order id or SKU,
and packages Amazon did not confirm. Nothing here writes, and no buyer data is selected:
rows are built from an explicit list of columns (names, e-mails, addresses and the raw
payload never leave the database).

Accounts: every function reads one seller account of the accounts file
(:mod:`include.adapters.accounts`): its rows of ``channel_order`` / ``channel_shipment_push``
(their ``account`` column), its orders set aside at staging (``channel_order_rejection``; those
recorded before rejections had an account are listed under every account) and its high-water marks
(keyed by job and account). :func:`check_account` refuses a name the accounts file does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from include import channel_db
from include.adapters.accounts import Account, load_accounts
from include.channel_db.statements import DEFAULT_ACCOUNT, account_filter, statement, tx

SYNC_JOB, PUSH_JOB = "amazon_order_sync", "amazon_tracking_push"
#: ``status`` filters of the kept-out list: the quarantine's import statuses ("imported": an update failed).
KEPT_OUT_STATUSES = ("failed", "skipped", "imported", "rejected")
PACKAGE_STATUSES = ("refused", "failed", "skipped", "held")
CHART_HOURS = 48


class UnknownAccount(LookupError):
    """An account name the accounts file does not hold."""


def check_account(account: str | None) -> Account:
    """The account to read (``None``/empty: ``default``) from the accounts file; :class:`UnknownAccount` for others."""
    name = (account or DEFAULT_ACCOUNT).strip()
    accounts = load_accounts()
    for known in accounts:
        if known.name == name:
            return known
    raise UnknownAccount(f"unknown account {name!r}; accounts: {', '.join(a.name for a in accounts)}")


def account_names() -> list[str]:
    """The names of every account of the accounts file, in its order (the page's account selector)."""
    return [a.name for a in load_accounts()]


def _iso(value: Any) -> Any:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value


def _hour(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def imported_per_hour(engine: Engine, account: str, *, now: datetime, hours: int = CHART_HOURS) -> list[dict[str, Any]]:
    """``account``'s orders created in Commerce per UTC hour over the last ``hours`` hours (oldest first, empty
    hours as 0)."""
    end = _hour(now)
    start = end - timedelta(hours=hours - 1)
    counts = dict.fromkeys((start + timedelta(hours=h) for h in range(hours)), 0)
    with tx(engine) as conn:
        for (imported_at,) in conn.execute(
            statement(conn, "imported_since"), {"since": start, **account_filter(account)}
        ):
            hour = _hour(imported_at)
            if hour in counts:
                counts[hour] += 1
    return [{"hour": _iso(hour), "orders": n} for hour, n in counts.items()]


def health(engine: Engine, account: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The channel side of sync health: high-water marks and their lag, orders and packages per status, the chart."""
    account = check_account(account).name
    now = now or datetime.now(UTC)
    marks = {}
    for job in (SYNC_JOB, PUSH_JOB):
        mark = channel_db.high_water_mark(engine, job, account)
        marks[job] = {
            "high_water_mark": _iso(mark),
            "lag_seconds": None if mark is None else max(0, int((now - mark).total_seconds())),
        }
    by_channel = channel_db.outcome_counts(engine, account=account)
    orders: dict[str, int] = {}
    for statuses in by_channel.values():
        for status, n in statuses.items():
            orders[status] = orders.get(status, 0) + n
    kept_out = channel_db.quarantine(engine, account=account)
    return {
        "account": account,
        "now": _iso(now),
        "marks": marks,
        "orders": dict(sorted(orders.items())),
        "orders_by_channel": by_channel,
        "kept_out": len(kept_out),
        "packages": dict(sorted(channel_db.push_counts(engine, account=account).items())),
        "imported_per_hour": imported_per_hour(engine, account, now=now),
    }


@dataclass(frozen=True)
class Page:
    """One page of a filtered list: its items, the total matching, and where it starts."""

    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "offset": self.offset, "limit": self.limit}


def _kept_out_rows(engine: Engine, account: str, now: datetime) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Every order of ``account``'s quarantine (:func:`include.channel_db.quarantine`, with its next try under the retry
    policy, worded as ``python -m include.ops.report quarantine`` does) and each kept-out order's SKUs."""
    from include.ops.report import current_retry_policy, next_try

    orders = channel_db.quarantine(engine, account=account)
    policy = current_retry_policy(check_account(account).settings_variable)
    items = [{**order.to_dict(), "next_try": next_try(order, policy, now)} for order in orders]
    skus: dict[str, list[str]] = {}
    with tx(engine) as conn:
        for order_id, sku in conn.execute(statement(conn, "kept_out_order_skus"), account_filter(account)):
            skus.setdefault(order_id, []).append(sku)
    return items, skus


def kept_out_orders(
    engine: Engine,
    account: str,
    *,
    status: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 50,
    now: datetime | None = None,
) -> Page:
    """The orders kept out of Commerce, oldest problem first: ``status`` one of :data:`KEPT_OUT_STATUSES` (None: all),
    ``q`` a case-insensitive part of an Amazon order id or of one of the order's SKUs."""
    account = check_account(account).name
    if status and status not in KEPT_OUT_STATUSES:
        raise ValueError(f"unknown status {status!r}; one of: {', '.join(KEPT_OUT_STATUSES)}")
    items, skus = _kept_out_rows(engine, account, now or datetime.now(UTC))
    needle = (q or "").strip().lower()
    matching = []
    for item in items:
        item["skus"] = skus.get(item["amazon_order_id"], [])
        if status and item["import_status"] != status:
            continue
        if (
            needle
            and needle not in item["amazon_order_id"].lower()
            and not any(needle in s.lower() for s in item["skus"])
        ):
            continue
        matching.append(item)
    return Page(matching[offset : offset + limit], len(matching), offset, limit)


def kept_out_ids(engine: Engine, account: str) -> set[str]:
    """The Amazon order ids of ``account`` currently kept out (what "Retry now" may re-sync)."""
    account = check_account(account).name
    return {order.amazon_order_id for order in channel_db.quarantine(engine, account=account)}


def package_problems(
    engine: Engine, account: str, *, status: str | None = "refused", offset: int = 0, limit: int = 50
) -> Page:
    """Packages Amazon did not confirm, most recent first: ``status`` refused (with Amazon's reason), failed
    (retried by every push), skipped (could not be built) or held (the Commerce order is on hold); None: all."""
    account = check_account(account).name
    if status and status not in PACKAGE_STATUSES:
        raise ValueError(f"unknown status {status!r}; one of: {', '.join(PACKAGE_STATUSES)}")
    rows = [
        p
        for p in channel_db.push_problems(engine, limit=100_000, account=account)
        if not status or p["status"] == status
    ]
    for row in rows:
        row["reason"] = row.pop("last_error")
    return Page(rows[offset : offset + limit], len(rows), offset, limit)
