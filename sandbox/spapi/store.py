"""In-memory order store: one timeline of versions per order, indexed for time-window searches.

A request sees every order as of the sandbox clock: the *current* version is the
last one whose ``lastUpdatedTime`` is at or before that moment, and searches select
on that version's ``lastUpdatedTime`` (or the order's ``createdTime``), so an order
updated after a window moves out of it, as on Amazon.
"""

from __future__ import annotations

import bisect
import copy
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.generator import UNVERIFIED_STATUSES, order_status, strip_unverified
from sandbox.spapi.times import parse_iso

#: includedData value -> (order-level keys, item-level keys) it adds to the base order.
SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "BUYER": (("buyer",), ()),
    "RECIPIENT": (("recipient",), ()),
    "PROCEEDS": (("proceeds",), ("proceeds",)),
    "EXPENSE": ((), ("expense",)),
    "PROMOTION": ((), ("promotion",)),
    "CANCELLATION": ((), ("cancellation",)),
    "FULFILLMENT": (("fulfillment",), ("fulfillment",)),
    "PACKAGES": (("packages",), ()),
    "TAX": (("tax",), ("tax",)),
    "PAYMENT": (("payment",), ()),
    "FULFILLMENT_ORDERS": (("fulfillmentOrders",), ()),
}
BASE_ORDER_KEYS = ("orderId", "orderAliases", "createdTime", "lastUpdatedTime", "programs", "associatedOrders",
                   "salesChannel")  # fmt: skip
BASE_ITEM_KEYS = ("orderItemId", "quantityOrdered", "measurement", "associatedOrderItems", "programs", "product")
_NOT_VERIFYING = UNVERIFIED_STATUSES | {"CANCELLED"}


@dataclass
class Version:
    time: datetime
    order: dict[str, Any]
    verified: bool  # payment verified at or before this version: buyer, address and money are visible


@dataclass
class OrderRecord:
    order_id: str
    created: datetime
    versions: list[Version] = field(default_factory=list)

    def index_at(self, moment: datetime) -> int | None:
        """Index of the version current at ``moment`` (None before the order exists)."""
        if moment < self.created:
            return None
        pos = bisect.bisect_right([v.time for v in self.versions], moment) - 1
        return pos if pos >= 0 else None

    def at(self, moment: datetime) -> Version | None:
        pos = self.index_at(moment)
        return None if pos is None else self.versions[pos]


@dataclass(frozen=True)
class Filters:
    statuses: frozenset[str] | None = None
    fulfilled_by: frozenset[str] | None = None
    marketplaces: frozenset[str] | None = None

    def match(self, order: dict[str, Any]) -> bool:
        if self.statuses is not None and order_status(order) not in self.statuses:
            return False
        if (
            self.fulfilled_by is not None
            and (order.get("fulfillment") or {}).get("fulfilledBy") not in self.fulfilled_by
        ):
            return False
        return self.marketplaces is None or (order.get("salesChannel") or {}).get("marketplaceId") in self.marketplaces


class StoreError(ValueError):
    """Invalid orders handed to the admin API."""


def _build_versions(orders: list[dict[str, Any]]) -> OrderRecord:
    parsed = []
    for order in orders:
        if not isinstance(order, dict) or not isinstance(order.get("orderId"), str) or not order["orderId"]:
            raise StoreError("every order needs a string orderId")
        try:
            created, updated = parse_iso(order["createdTime"]), parse_iso(order["lastUpdatedTime"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(
                f"order {order['orderId']}: createdTime and lastUpdatedTime must be ISO-8601 ({exc})"
            ) from None
        if updated < created:
            raise StoreError(f"order {order['orderId']}: lastUpdatedTime is before createdTime")
        parsed.append((updated, created, order))
    parsed.sort(key=lambda entry: entry[0])
    record = OrderRecord(parsed[0][2]["orderId"], min(p[1] for p in parsed))
    verified = False
    for updated, _, order in parsed:
        verified = verified or order_status(order) not in _NOT_VERIFYING
        record.versions.append(Version(updated, order, verified))
    return record


def project(version: Version, included: Iterable[str]) -> dict[str, Any]:
    """The order as a response shows it: base fields, the requested sections, pending data hidden."""
    order = version.order if version.verified else strip_unverified(version.order)
    order_keys, item_keys = list(BASE_ORDER_KEYS), list(BASE_ITEM_KEYS)
    for name in included:
        extra_order, extra_item = SECTIONS[name]
        order_keys += extra_order
        item_keys += extra_item
    out = {k: order[k] for k in order_keys if k in order}
    items = order.get("orderItems", [])
    # Malformed items (stored on purpose to rehearse bad records) are served as they were stored.
    out["orderItems"] = (
        [{k: item[k] for k in item_keys if k in item} if isinstance(item, dict) else item for item in items]
        if isinstance(items, list)
        else items
    )
    return out


class OrderStore:
    """Thread-safe order timelines with a (lastUpdatedTime, orderId) and a (createdTime, orderId) index."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._records: dict[str, OrderRecord] = {}
        self._updates: list[tuple[datetime, str, int]] = []
        self._created: list[tuple[datetime, str]] = []
        self._dirty = False

    # -- writes ---------------------------------------------------------------------------------
    def clear(self) -> None:
        with self.lock:
            self._records.clear()
            self._updates, self._created, self._dirty = [], [], False

    def put_orders(self, orders: list[dict[str, Any]]) -> list[str]:
        """Store orders as given; several entries with one orderId form that order's timeline."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for order in orders:
            if not isinstance(order, dict) or not isinstance(order.get("orderId"), str):
                raise StoreError("every order needs a string orderId")
            groups.setdefault(order["orderId"], []).append(copy.deepcopy(order))
        records = [_build_versions(group) for group in groups.values()]
        with self.lock:
            for record in records:
                self._records[record.order_id] = record
            self._dirty = True
        return list(groups)

    def put_timelines(self, timelines: list[list[dict[str, Any]]]) -> None:
        """Store generator output (versions are taken over without copying)."""
        records = [_build_versions(t) for t in timelines if t]
        with self.lock:
            for record in records:
                self._records[record.order_id] = record
            self._dirty = True

    def append_version(self, order_id: str, order: dict[str, Any]) -> Version:
        """Add a new current version (its lastUpdatedTime must not precede the last one)."""
        with self.lock:
            record = self._records[order_id]
            time = parse_iso(order["lastUpdatedTime"])
            last = record.versions[-1]
            if time < last.time:
                raise StoreError("a new version cannot precede the order's last update")
            version = Version(time, order, last.verified or order_status(order) not in _NOT_VERIFYING)
            record.versions.append(version)
            if not self._dirty:
                bisect.insort(self._updates, (time, order_id, len(record.versions) - 1))
            return version

    # -- reads ----------------------------------------------------------------------------------
    def record(self, order_id: str) -> OrderRecord | None:
        with self.lock:
            return self._records.get(order_id)

    def marketplaces(self) -> set[str]:
        with self.lock:
            return {
                (r.versions[-1].order.get("salesChannel") or {}).get("marketplaceId") for r in self._records.values()
            } - {None}

    def current(self, moment: datetime) -> list[tuple[str, Version]]:
        """Every order existing at ``moment`` with its current version, by orderId."""
        with self.lock:
            pairs = [(oid, r.at(moment)) for oid, r in self._records.items()]
        return sorted((oid, v) for oid, v in pairs if v is not None)

    def __len__(self) -> int:
        return len(self._records)

    def _reindex(self) -> None:
        if not self._dirty:
            return
        self._updates = sorted(
            (v.time, r.order_id, i) for r in self._records.values() for i, v in enumerate(r.versions)
        )
        self._created = sorted((r.created, r.order_id) for r in self._records.values())
        self._dirty = False

    def search(
        self,
        by: str,
        after: datetime,
        before: datetime,
        snapshot: datetime,
        filters: Filters,
        cursor: tuple[datetime, str] | None,
        limit: int,
    ) -> tuple[list[tuple[datetime, str]], bool]:
        """Keys (time, orderId) of the next ``limit`` orders matching as of ``snapshot``, and whether more follow.

        ``by`` is ``"updated"`` (the current version's lastUpdatedTime) or ``"created"``;
        both bounds are inclusive; results are ordered by (time, orderId) after ``cursor``.
        """
        found: list[tuple[datetime, str]] = []
        with self.lock:
            self._reindex()
            if by == "updated":
                index: list = self._updates
                start = (
                    bisect.bisect_right(index, (cursor[0], cursor[1], 1 << 62))
                    if cursor
                    else bisect.bisect_left(index, (after,))
                )
            else:
                index = self._created
                start = bisect.bisect_right(index, cursor) if cursor else bisect.bisect_left(index, (after,))
            for pos in range(start, len(index)):
                entry = index[pos]
                moment, order_id = entry[0], entry[1]
                if moment > before:
                    break
                if moment < after:
                    continue
                record = self._records[order_id]
                current = record.index_at(snapshot)
                if current is None:
                    continue
                if by == "updated" and current != entry[2]:
                    continue  # a later version is current: the order moved out of this position
                if not filters.match(record.versions[current].order):
                    continue
                if len(found) == limit:
                    return found, True
                found.append((moment, order_id))
        return found, False
