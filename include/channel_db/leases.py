"""Leases: a task claims the channel rows it is about to write to Commerce or Amazon, so no other task writes them.

Two tasks may look at the same orders at once: mapped import chunks of a backfill
and of a scheduled or manual run, on different Celery workers. Before writing an
order (or confirming a package) a task *claims* it: ``lease_owner`` (the task's
:class:`Lease` owner) and ``lease_expires_at`` are set by one conditional UPDATE
that only takes rows that are free, expired or already the task's own
(``include/sql/claim_*.sql``; on PostgreSQL with ``FOR UPDATE SKIP LOCKED``). The
task then re-reads what it holds and writes only that; the rest belongs to another
task, or is tried by the next run once that task's lease expires. A crashed
worker (SIGKILL, lost machine) never releases its leases: they expire after
``Lease.seconds``. A live task renews its leases while it works (:func:`holding_leases`),
so a long chunk never loses them, and releases them when its outcomes are recorded.

The lease is no lock on the outcome: a task re-reads each claimed row's state after
the claim (an order another task imported meanwhile is no longer importable) and the
writes themselves stay idempotent (``ext_order_id`` look-up, ``packageReferenceId``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Row

from include.channel_db.statements import chunks, statement, tx
from include.channel_db.types import now_utc

log = logging.getLogger(__name__)

#: The tables whose rows are leased, by the statement-name suffix of their claims, renewals and releases.
_KINDS = ("order", "push")


@dataclass(frozen=True)
class Lease:
    """Who claims (``owner``: unique per task attempt, readable by an operator) and for how long (``seconds``)."""

    owner: str
    seconds: int

    def __post_init__(self) -> None:
        if not self.owner or len(self.owner) > 200:
            raise ValueError("a lease owner is 1 to 200 characters")
        if self.seconds < 1:
            raise ValueError("a lease lasts at least one second")

    def params(self, now: datetime | None = None) -> dict:
        stamp = now or now_utc()
        return {"owner": self.owner, "now": stamp, "lease_expires_at": stamp + timedelta(seconds=self.seconds)}


def claim_orders(
    bind: Engine | Connection, amazon_order_ids: Sequence[str], lease: Lease, *, now: datetime | None = None
) -> list[str]:
    """Claim these channel orders; returns those the lease holds now (in the given order), the others are taken."""
    held = {str(row[0]) for row in _claim(bind, "orders", amazon_order_ids, lease, now)}
    return [oid for oid in dict.fromkeys(amazon_order_ids) if oid in held]


def claim_pushes(
    bind: Engine | Connection, amazon_order_ids: Sequence[str], lease: Lease, *, now: datetime | None = None
) -> set[tuple[str, str]]:
    """Claim the packages of these orders; returns the ``(amazon_order_id, package_reference_id)`` the lease holds."""
    return {(str(a), str(p)) for a, p in _claim(bind, "pushes", amazon_order_ids, lease, now)}


def _claim(
    bind: Engine | Connection, rows: str, amazon_order_ids: Sequence[str], lease: Lease, now: datetime | None
) -> list[Row]:
    """``claim_<rows>`` for these orders, then the rows the lease holds (``select_claimed_<rows>``), in chunks."""
    held: list[Row] = []
    with tx(bind) as conn:
        for chunk in chunks(sorted(set(amazon_order_ids))):
            conn.execute(statement(conn, f"claim_{rows}", "ids"), {**lease.params(now), "ids": chunk})
            owned = {"owner": lease.owner, "ids": chunk}
            held += conn.execute(statement(conn, f"select_claimed_{rows}", "ids"), owned).all()
    return held


def renew_leases(bind: Engine | Connection, lease: Lease, *, now: datetime | None = None) -> None:
    """Extend every lease the owner holds by ``lease.seconds`` from now."""
    with tx(bind) as conn:
        for kind in _KINDS:
            conn.execute(statement(conn, f"renew_{kind}_leases"), lease.params(now))


def release_leases(bind: Engine | Connection, lease: Lease) -> None:
    """Free every row the owner holds."""
    with tx(bind) as conn:
        for kind in _KINDS:
            conn.execute(statement(conn, f"release_{kind}_leases"), {"owner": lease.owner})


@contextmanager
def holding_leases(engine: Engine, lease: Lease) -> Iterator[Lease]:
    """Renew the lease's rows every third of its duration while the block runs; release them all at the end.

    A process killed inside the block releases nothing: its leases expire.
    """
    stop = threading.Event()

    def keep_alive() -> None:
        while not stop.wait(lease.seconds / 3):
            try:
                renew_leases(engine, lease)
            except Exception:  # a missed renewal shortens the lease; the next one may work
                log.warning("renewing the leases of %s failed", lease.owner, exc_info=True)

    renewer = threading.Thread(target=keep_alive, name=f"lease-{lease.owner}", daemon=True)
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join()
        release_leases(engine, lease)
