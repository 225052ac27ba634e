"""Import state of the channel orders: which to import or update now, and what became of each attempt.

Import state of a channel order (``import_status``):

``staged``      known, not ready (MFN pending; FBA not shipped yet)
``importable``  ready for a Commerce order, not attempted yet
``failed``      an attempt failed; ``import_error`` says why; retried under the retry policy
                (``next_attempt_at``; after ``retry_max_attempts`` only by a re-sync by id)
``skipped``     ready, but the settings keep it out (FBA or order import disabled)
``imported``    the Commerce order exists (``commerce_order_id``)
``canceled``    cancelled on Amazon: before import (nothing to do) or afterwards
                (the Commerce order was canceled or refunded)

Which orders are ready under the settings is the domain's rule
(:mod:`include.domain.import_rules`); these functions take its answer as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from include.channel_db.statements import DEFAULT_ACCOUNT, NO_LIMIT, chunks, id_filter, select_records, statement, tx
from include.channel_db.types import now_utc
from include.domain.buyer_data import BuyerDataCipher
from include.domain.retry_policy import RetryPolicy

CHANNELS = ("MERCHANT", "AMAZON")


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


def _channel_orders(
    bind: Engine | Connection,
    name: str,
    *,
    only_ids: Sequence[str] | None,
    limit: int | None,
    cipher: BuyerDataCipher,
    **params: Any,
) -> list[ChannelOrder]:
    """The orders a statement selects (its list parameters: ``statuses``, ``fulfilled_by`` when given as lists),
    each payload decrypted with ``cipher``."""
    expanding = [key for key, value in params.items() if isinstance(value, list)]
    return select_records(
        bind, name, ChannelOrder, only_ids=only_ids, limit=limit, params=params, expanding=expanding,
        fingerprint=lambda row: row["sync_fingerprint"],
        payload=lambda row: json.loads(cipher.decrypt_text(row["payload"])),
    )  # fmt: skip


def _check_channel(fulfilled_by: str) -> None:
    if fulfilled_by not in CHANNELS:
        raise ValueError(f"fulfilled_by must be 'MERCHANT' or 'AMAZON', got {fulfilled_by!r}")


def _retry_params(retry: RetryPolicy | None, now: datetime | None) -> dict[str, Any]:
    """The retry policy's parameters of the import selects (``max_attempts``, ``now``)."""
    return {"max_attempts": (retry or RetryPolicy()).max_attempts, "now": now or now_utc()}


def orders_to_import(
    bind: Engine | Connection,
    *,
    fulfilled_by: str,
    statuses: Sequence[str],
    cipher: BuyerDataCipher,
    limit: int | None = None,
    only_ids: Sequence[str] | None = None,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> list[ChannelOrder]:
    """Orders of a fulfilment channel in Amazon ``statuses`` that should get a Commerce order now, oldest first.

    Skipped ones are retried; failed ones once due under the ``retry`` policy (default
    :class:`RetryPolicy`), and never by themselves after its last attempt. Orders named
    in ``only_ids`` (a re-sync by id) are taken whatever the policy says. No
    ``statuses``, nothing (:func:`include.domain.import_rules.statuses_to_import` says
    which, under the settings).
    """
    _check_channel(fulfilled_by)
    if not statuses:
        return []
    return _channel_orders(
        bind, "orders_to_import", only_ids=only_ids, limit=limit, cipher=cipher, fulfilled_by=fulfilled_by,
        statuses=list(statuses), account=account, **_retry_params(retry, now),
    )  # fmt: skip


def order_ids_to_import(
    bind: Engine | Connection,
    *,
    fulfilled_by: str,
    statuses: Sequence[str],
    only_ids: Sequence[str] | None = None,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> list[str]:
    """The ids of :func:`orders_to_import` (same rules and order), without loading the orders."""
    _check_channel(fulfilled_by)
    if not statuses:
        return []
    params = {
        "fulfilled_by": fulfilled_by, "statuses": list(statuses), "limit": NO_LIMIT, "account": account, **id_filter(only_ids),
        **_retry_params(retry, now),
    }  # fmt: skip
    with tx(bind) as conn:
        return list(conn.execute(statement(conn, "order_ids_to_import", "statuses", "only_ids"), params).scalars())


def orders_needing_update(
    bind: Engine | Connection,
    *,
    cipher: BuyerDataCipher,
    fulfilled_by: str | None = None,
    limit: int | None = None,
    only_ids: Sequence[str] | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> list[ChannelOrder]:
    """Imported orders whose cancellation or buyer name/e-mail changed on Amazon since import or last update."""
    channels = list(CHANNELS) if fulfilled_by is None else [fulfilled_by]
    for channel in channels:
        _check_channel(channel)
    return _channel_orders(
        bind,
        "orders_needing_update",
        only_ids=only_ids,
        limit=limit,
        cipher=cipher,
        fulfilled_by=channels,
        account=account,
    )


def canceled_orders_to_settle(
    bind: Engine | Connection,
    *,
    cipher: BuyerDataCipher,
    fulfilled_by: str = "MERCHANT",
    limit: int | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> list[ChannelOrder]:
    """Orders cancelled on Amazon after a failed import attempt: Commerce may hold an unlinked order for them."""
    _check_channel(fulfilled_by)
    return _channel_orders(
        bind,
        "canceled_orders_to_settle",
        only_ids=None,
        limit=limit,
        cipher=cipher,
        fulfilled_by=[fulfilled_by],
        account=account,
    )


def record_cancel_settled(bind: Engine | Connection, amazon_order_id: str, *, now: datetime | None = None) -> None:
    """A cancelled order from :func:`canceled_orders_to_settle` had no Commerce order: stop looking."""
    with tx(bind) as conn:
        params = {"amazon_order_id": amazon_order_id, "now": now or now_utc()}
        conn.execute(statement(conn, "record_cancel_settled"), params)


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
    params = {
        "amazon_order_id": amazon_order_id,
        "commerce_order_id": int(commerce_order_id),
        "increment_id": increment_id,
        "fingerprint": fingerprint,
        "now": now or now_utc(),
    }
    with tx(bind) as conn:
        if conn.execute(statement(conn, "record_imported"), params).rowcount == 0:
            raise LookupError(f"Amazon order {amazon_order_id} is not staged in the channel database")
        conn.execute(statement(conn, "insert_order_link"), params)


def record_failure(
    bind: Engine | Connection,
    amazon_order_id: str,
    reason: str,
    *,
    now: datetime | None = None,
    retry: RetryPolicy | None = None,
) -> None:
    """Keep the order out with a readable reason (no buyer data!), count the attempt, keep the first failure time,
    and schedule the next try under the ``retry`` policy (default :class:`RetryPolicy`)."""
    record_failures(bind, [(amazon_order_id, reason)], now=now, retry=retry)


def record_failures(
    bind: Engine | Connection,
    failures: Sequence[tuple[str, str]],
    *,
    now: datetime | None = None,
    retry: RetryPolicy | None = None,
) -> None:
    """:func:`record_failure` for many orders in one batched statement (after one look-up of their attempts)."""
    if not failures:
        return
    stamp = now or now_utc()
    policy = retry or RetryPolicy()
    with tx(bind) as conn:
        attempts: dict[str, int | None] = {}  # None: imported (its update is retried on every run)
        for chunk in chunks(sorted({oid for oid, _ in failures})):
            rows = conn.execute(statement(conn, "select_import_attempts", "ids"), {"ids": chunk})
            attempts.update({oid: None if commerce_id is not None else int(n) for oid, n, commerce_id in rows})
        rows = [
            {
                "amazon_order_id": oid,
                "reason": (reason or "unknown error")[:1000],
                "now": stamp,
                "next_attempt_at": None
                if attempts.get(oid, 0) is None
                else policy.next_attempt_at((attempts.get(oid) or 0) + 1, stamp),
            }
            for oid, reason in failures
        ]
        conn.execute(statement(conn, "record_failure"), rows)


def record_skipped(
    bind: Engine | Connection,
    *,
    fulfilled_by: str,
    reason: str,
    now: datetime | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> int:
    """Mark every ready order of a fulfilment channel (of ``account``) as kept out by the settings; returns how many."""
    _check_channel(fulfilled_by)
    with tx(bind) as conn:
        params = {"fulfilled_by": fulfilled_by, "reason": reason, "now": now or now_utc(), "account": account}
        return conn.execute(statement(conn, "record_skipped"), params).rowcount


def record_updated(
    bind: Engine | Connection,
    amazon_order_id: str,
    *,
    fingerprint: str | None = None,
    canceled: bool = False,
    now: datetime | None = None,
) -> None:
    """Amazon's later changes were applied to the Commerce order (``canceled``: it was canceled or refunded)."""
    params = {
        "amazon_order_id": amazon_order_id,
        "fingerprint": fingerprint,
        "canceled": 1 if canceled else 0,
        "now": now or now_utc(),
    }
    with tx(bind) as conn:
        conn.execute(statement(conn, "record_updated"), params)
