"""Staging: flattened Amazon orders and items upserted in batches; landed orders set aside with a reason."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, astuple, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from include.channel_db.statements import BATCH_ROWS, DEFAULT_ACCOUNT, chunks, statement, tx
from include.channel_db.tables import channel_order, channel_order_item
from include.channel_db.types import now_utc
from include.channel_db.upserts import send, staging_upsert
from include.domain.buyer_data import BuyerDataCipher
from include.domain.staging import BUYER_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS, RejectedOrder

if TYPE_CHECKING:  # pandas is only handed in by the caller; keep it out of DAG-parse imports
    import pandas as pd

log = logging.getLogger(__name__)

#: Column names a database message may quote (kept when masking quoted values).
_COLUMN_NAMES = frozenset(ORDER_COLUMNS) | frozenset(ITEM_COLUMNS)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


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


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as bind parameters, None for missing values (the column types convert the rest)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _newest_per_key(frame: pd.DataFrame, keys: list[str], ts: str) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame.sort_values(ts, kind="stable").drop_duplicates(keys, keep="last")


def _upsert(conn: Connection, frame: pd.DataFrame, table, version: str, **extra: Any) -> int:
    """Upsert a frame's rows in batches (see :mod:`include.channel_db.upserts`); returns the statements sent."""
    upsert = staging_upsert(conn.dialect.name, table, tuple(frame.columns), version, bool(extra))
    rows = _records(frame.assign(**extra))
    for batch in chunks(rows):
        send(conn, upsert, batch)
    return -(-len(rows) // BATCH_ROWS)


def _protected(orders_df: pd.DataFrame, cipher: BuyerDataCipher, writes: list[bool]) -> pd.DataFrame:
    """The order rows as stored: buyer columns and payload encrypted, the purge mark cleared (newer data wins it too).

    ``writes`` says, row by row, whether the upsert will store the row's data (new or newer). The
    others are stored rows that are as new or newer (read in this transaction), which the upsert
    keeps whatever it is sent: their buyer data is not encrypted for nothing (an empty payload).
    """
    encrypted = {
        name: [
            cipher.encrypt_text(value) if isinstance(value, str) and write else None
            for value, write in zip(orders_df[name].tolist(), writes, strict=True)
        ]
        for name in BUYER_COLUMNS
    }
    encrypted["payload"] = [value or "" for value in encrypted["payload"]]
    return orders_df.assign(**encrypted, buyer_data_purged_at=None)


def upsert_staged(
    bind: Engine | Connection,
    orders_df: pd.DataFrame,
    items_df: pd.DataFrame,
    *,
    importable: Mapping[str, Sequence[str]],
    cipher: BuyerDataCipher,
    now: datetime | None = None,
) -> StageResult:
    """Upsert flattened orders and items (:func:`include.domain.staging.flatten`) in batches, in one transaction.

    A newer ``lastUpdatedTime`` always wins, an older or equal one never overwrites;
    import-state columns are never touched. Afterwards each order's ``import_status``
    is derived again from Amazon's status (see ``refresh_import_status.sql``):
    ``importable`` maps each fulfilment channel to the Amazon statuses in which its
    orders are ready for Commerce (:data:`include.domain.import_rules.IMPORTABLE_STATUSES`).
    The buyer columns and the payload are stored encrypted with ``cipher``; a newer
    version of an order whose buyer data was purged is kept (encrypted) until purged again.
    """
    now = now or now_utc()
    orders_df = _newest_per_key(orders_df, ["amazon_order_id"], "last_updated_at")
    items_df = _newest_per_key(items_df, ["amazon_order_id", "order_item_id"], "order_last_updated_at")
    if orders_df.empty and items_df.empty:
        return StageResult(0, 0, 0, 0, 0, 0)
    with tx(bind) as conn:
        statements = 0
        known: dict[str, datetime] = {}
        ids = orders_df["amazon_order_id"].tolist()
        for chunk in chunks(ids):
            known.update(conn.execute(statement(conn, "select_order_versions", "ids"), {"ids": chunk}).all())
            statements += 1
        new = updated = 0
        writes = []
        for order_id, last_updated in zip(ids, orders_df["last_updated_at"], strict=True):
            if order_id not in known:
                new += 1
            elif last_updated.to_pydatetime() > known[order_id]:
                updated += 1
            writes.append(order_id not in known or last_updated.to_pydatetime() > known[order_id])
        stored = _protected(orders_df, cipher, writes)
        statements += _upsert(conn, stored, channel_order, "last_updated_at", seen_at=now)
        statements += _upsert(conn, items_df, channel_order_item, "order_last_updated_at")
        params = {"mfn_statuses": list(importable["MERCHANT"]), "afn_statuses": list(importable["AMAZON"])}
        conn.execute(statement(conn, "refresh_import_status", "mfn_statuses", "afn_statuses"), params)
        statements += 1
    return StageResult(len(ids), new, updated, len(ids) - new - updated, len(items_df), statements)


def upsert_staged_isolating(
    engine: Engine,
    orders_df: pd.DataFrame,
    items_df: pd.DataFrame,
    *,
    importable: Mapping[str, Sequence[str]],
    cipher: BuyerDataCipher,
    now: datetime | None = None,
) -> tuple[StageResult, list[tuple[str, str]]]:
    """:func:`upsert_staged`, and when the database refuses the batch's data, again order by order.

    Returns what was staged and the ``(amazon_order_id, reason)`` of each order the
    database refused on its own (the reason is the database's message with quoted
    values masked). Errors other than refused data (connection lost, a bug in a
    statement) are raised as they are.
    """
    try:
        return upsert_staged(engine, orders_df, items_df, importable=importable, cipher=cipher, now=now), []
    except (DataError, IntegrityError) as exc:
        log.warning("the channel database refused a staging batch (%s); staging it order by order", _db_reason(exc))
    staged = StageResult(0, 0, 0, 0, 0, 0)
    refused: list[tuple[str, str]] = []
    items_by_order = dict(tuple(items_df.groupby("amazon_order_id", sort=False))) if not items_df.empty else {}
    for position in range(len(orders_df)):
        one = orders_df.iloc[position : position + 1]
        order_id = str(one["amazon_order_id"].iloc[0])
        items = items_by_order.get(order_id, items_df.iloc[0:0])
        try:
            staged += upsert_staged(engine, one, items, importable=importable, cipher=cipher, now=now)
        except (DataError, IntegrityError) as exc:
            refused.append((order_id, _db_reason(exc)))
    return staged, refused


def _db_reason(exc: DBAPIError) -> str:
    """The database's message, first line only, every quoted value masked (it could be buyer data)."""
    original = exc.orig
    args = getattr(original, "args", ())
    text = str(args[1]) if len(args) > 1 and isinstance(args[0], int) else str(original)  # PyMySQL: (code, message)
    text = (text.strip().splitlines() or [type(original).__name__])[0]
    return _QUOTED.sub(lambda m: m.group(0) if m.group(0)[1:-1] in _COLUMN_NAMES else "'…'", text)[:300]


def record_rejections(
    bind: Engine | Connection,
    rejected: Sequence[RejectedOrder],
    *,
    account: str = DEFAULT_ACCOUNT,
    now: datetime | None = None,
) -> None:
    """Keep each rejected landed order of ``account`` (one row per order id, or per raw record without a usable
    id)."""
    if not rejected:
        return
    stamp = now or now_utc()
    rows = [
        {
            "rejection_key": f"id:{r.amazon_order_id}" if r.amazon_order_id else f"raw:{_digest(r)}",
            "amazon_order_id": r.amazon_order_id,
            "reason": r.reason,
            "landing_source": r.source,
            "account": account,
            "now": stamp,
        }
        for r in rejected
    ]
    with tx(bind) as conn:  # one executemany; an order rejected twice in one call is recorded once
        conn.execute(statement(conn, "upsert_rejection"), list({row["rejection_key"]: row for row in rows}.values()))


def _digest(rejected: RejectedOrder) -> str:
    return hashlib.sha256(f"{rejected.source}|{rejected.reason}".encode()).hexdigest()[:32]


def clear_rejections(bind: Engine | Connection, staged_ids: Sequence[str]) -> None:
    """Forget the rejections of orders that now have a valid version staged."""
    with tx(bind) as conn:
        for chunk in chunks(staged_ids):
            conn.execute(statement(conn, "delete_resolved_rejections", "ids"), {"ids": chunk})
