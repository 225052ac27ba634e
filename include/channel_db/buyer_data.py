"""Buyer data at rest in the channel tables: purging it after retention, re-encrypting it under a new key.

Staging writes the buyer columns and the payload encrypted (:mod:`include.channel_db.staging`);
these functions are the other two things done to them: :func:`purge_past_retention`
(``amazon_pii_retention``) and :func:`reencrypt` (``python -m include.ops.pii reencrypt``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from include.channel_db.statements import BATCH_ROWS, account_filter, chunks, statement, tx
from include.channel_db.types import now_utc
from include.domain.buyer_data import RETENTION_STATUSES, BuyerDataCipher, redact_order


@dataclass(frozen=True)
class PurgeCounts:
    """How many orders lost their buyer data (``purged``), and how many changed meanwhile and wait (``skipped``)."""

    purged: int
    skipped: int


def purge_past_retention(
    bind: Engine,
    cipher: BuyerDataCipher,
    *,
    cutoff: datetime,
    account: str | None = None,
    now: datetime | None = None,
    batch: int = BATCH_ROWS,
) -> PurgeCounts:
    """Remove the buyer data of every order (of ``account``; None: of every account) in a final status last updated
    before ``cutoff``.

    The buyer columns become NULL, the payload its redacted remains (ids, statuses, amounts,
    SKUs, packages: :func:`include.domain.buyer_data.redact_order`), and ``buyer_data_purged_at``
    is set. Import state, items, links and pushes are untouched. One transaction per batch.
    """
    stamp = now or now_utc()
    purged = skipped = 0
    while True:
        with tx(bind) as conn:
            params = {
                "statuses": list(RETENTION_STATUSES),
                "cutoff": cutoff,
                "limit": batch,
                **account_filter(account),
            }
            rows = conn.execute(statement(conn, "select_orders_past_retention", "statuses"), params).all()
            if not rows:
                return PurgeCounts(purged, skipped)
            updates = [
                {
                    "amazon_order_id": order_id,
                    "last_updated_at": last_updated,
                    "payload": cipher.encrypt_text(_redacted(cipher, payload, stamp)),
                    "now": stamp,
                }
                for order_id, last_updated, payload in rows
            ]
            done = sum(conn.execute(statement(conn, "purge_buyer_data"), [row]).rowcount for row in updates)
            purged += done
            skipped += len(updates) - done
            if len(rows) < batch or done == 0:
                return PurgeCounts(purged, skipped)


def _redacted(cipher: BuyerDataCipher, payload: str, stamp: datetime) -> str:
    try:
        order = json.loads(cipher.decrypt_text(payload))
    except ValueError:
        order = None  # not JSON: nothing of it is kept
    return json.dumps(redact_order(order, stamp), separators=(",", ":"), sort_keys=True)


def purged_order_ids(bind: Engine | Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` have had their buyer data purged."""
    found: set[str] = set()
    with tx(bind) as conn:
        for chunk in chunks(sorted(set(ids))):
            found.update(conn.execute(statement(conn, "select_purged_order_ids", "ids"), {"ids": chunk}).scalars())
    return found


def purged_order_count(bind: Engine | Connection) -> tuple[int, datetime | None]:
    """How many orders have had their buyer data purged, and when the last one was."""
    with tx(bind) as conn:
        row = conn.execute(statement(conn, "purged_order_count")).one()
    return int(row.purged or 0), row.buyer_data_purged_at


def reencrypt(bind: Engine, cipher: BuyerDataCipher, *, batch: int = BATCH_ROWS) -> int:
    """Store every order's buyer data again under ``cipher``'s first key (clear values from before encryption too).

    Values only: no other column moves, so the sync never sees a change. Returns the orders rewritten.
    """
    after, total = "", 0
    while True:
        with tx(bind) as conn:
            params = {"after_id": after, "limit": batch}
            rows = conn.execute(statement(conn, "select_buyer_data"), params).mappings().all()
            if not rows:
                return total
            updates = [
                {
                    "amazon_order_id": row["amazon_order_id"],
                    **{
                        name: None if row[name] is None else cipher.rotate(row[name].encode()).decode("ascii")
                        for name in ("buyer_name", "buyer_email", "payload")
                    },
                }
                for row in rows
            ]
            conn.execute(statement(conn, "update_buyer_data"), updates)
            total += len(updates)
            after = rows[-1]["amazon_order_id"]
