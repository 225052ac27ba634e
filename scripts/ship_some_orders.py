"""Play the warehouse for the demo: ship a share of the imported merchant-fulfilled Amazon orders in Commerce.

Goes through the Commerce REST API exactly as a warehouse system would
(``POST /V1/order/{id}/ship`` with items and tracking numbers, ``notify``
false). Only orders Amazon still shows ``UNSHIPPED`` are picked, so every
package can be confirmed. Seeded, so a demo replays identically:

* most picked orders ship whole in one package;
* some ship partially (the first line, or one unit of it) — the rest stays
  for later, so the order becomes PartiallyShipped;
* some ship whole in two packages: two tracking numbers on one shipment, or
  two shipments with one each.

Carriers follow the store: UPS/USPS/FedEx (US), Canada Post/Purolator (CA, as
custom carriers), Estafeta (custom) or DHL (MX).

Usage (connections ``commerce_api`` and ``channel_db`` as for the DAGs)::

    python scripts/ship_some_orders.py [--share 0.5] [--seed 7]

Prints a JSON summary: candidates, orders shipped per kind, packages.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from include import channel_db  # noqa: E402
from include.clients.commerce.search_criteria import SearchCriteria  # noqa: E402

#: store_id → (carrier_code, title) choices, as a warehouse's carrier accounts per country.
CARRIERS: dict[int, list[tuple[str, str]]] = {
    1: [("ups", "UPS Ground"), ("usps", "USPS Priority Mail"), ("fedex", "FedEx Home Delivery")],
    2: [("custom", "Canada Post"), ("custom", "Purolator")],
    3: [("custom", "Estafeta"), ("dhl", "DHL Express")],
}


def _tracking_number(rng: random.Random, carrier: tuple[str, str]) -> str:
    if carrier[0] == "ups":
        return "1Z" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=16))
    if carrier[0] == "usps":
        return "9400" + "".join(rng.choices("0123456789", k=18))
    return "".join(rng.choices("0123456789", k=12))


def _track(rng: random.Random, store_id: int) -> dict[str, str]:
    carrier = rng.choice(CARRIERS.get(store_id, CARRIERS[1]))
    return {"carrier_code": carrier[0], "title": carrier[1], "track_number": _tracking_number(rng, carrier)}


def candidates(client, engine, account: str = channel_db.DEFAULT_ACCOUNT) -> list[dict[str, Any]]:
    """Commerce orders of ``account``'s imported MFN Amazon orders that Amazon shows UNSHIPPED, nothing shipped."""
    criteria = SearchCriteria().where("state", "processing").where("ext_order_id", None, "notnull")
    orders = [o for o in client.iter_orders(criteria) if not any(float(i.get("qty_shipped") or 0) for i in o["items"])]
    channel = channel_db.tracking_orders_by_commerce_id(engine, [int(o["entity_id"]) for o in orders], account=account)
    return [
        o
        for o in orders
        if (c := channel.get(int(o["entity_id"]))) and c.fulfilled_by == "MERCHANT" and c.amazon_status == "UNSHIPPED"
    ]


def _lines(order: dict[str, Any]) -> list[tuple[int, int]]:
    return [
        (int(i["item_id"]), int(float(i["qty_ordered"])))
        for i in order["items"]
        if not i.get("parent_item_id") and float(i["qty_ordered"]) > 0
    ]


def ship_some_orders(
    client,
    engine,
    *,
    share: float = 0.5,
    seed: int = 7,
    partial_share: float = 0.25,
    two_package_share: float = 0.25,
    account: str = channel_db.DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """Ship ``share`` of the candidate orders (see the module docstring); returns what was done.

    Among the picked orders with more than one unit, ``partial_share`` ship partially and
    ``two_package_share`` in two packages (at least one of each when there are two such orders).
    """
    rng = random.Random(seed)
    found = sorted(candidates(client, engine, account), key=lambda o: int(o["entity_id"]))
    picked = sorted(rng.sample(found, round(len(found) * share)) if found else [], key=lambda o: int(o["entity_id"]))
    several = [o for o in picked if sum(q for _, q in _lines(o)) > 1]
    rng.shuffle(several)
    n_partial = max(1, round(len(several) * partial_share)) if len(several) >= 2 else 0
    n_two = max(1, round(len(several) * two_package_share)) if len(several) >= 2 else 0
    kind_of = {int(o["entity_id"]): "partial" for o in several[:n_partial]}
    kind_of |= {int(o["entity_id"]): "two_packages" for o in several[n_partial : n_partial + n_two]}
    kinds = {"full": 0, "partial": 0, "two_packages": 0}
    packages = 0
    for order in picked:
        oid, store_id = int(order["entity_id"]), int(order.get("store_id") or 1)
        lines = _lines(order)
        kind = kind_of.get(oid, "full")
        if kind == "partial":  # the first line only (one unit of it when it is the only line)
            first_id, first_qty = lines[0]
            qty = first_qty if len(lines) > 1 else 1
            client.ship_order(oid, items=[{"order_item_id": first_id, "qty": qty}], tracks=[_track(rng, store_id)])
            packages += 1
        elif kind == "two_packages":
            if rng.random() < 0.5:  # one shipment, two boxes: two tracking numbers
                client.ship_order(oid, tracks=[_track(rng, store_id), _track(rng, store_id)])
            else:  # two shipments, one box each
                half = lines[: len(lines) // 2] if len(lines) > 1 else [(lines[0][0], lines[0][1] // 2)]
                client.ship_order(
                    oid, items=[{"order_item_id": i, "qty": q} for i, q in half], tracks=[_track(rng, store_id)]
                )
                client.ship_order(oid, tracks=[_track(rng, store_id)])
            packages += 2
        else:
            client.ship_order(oid, tracks=[_track(rng, store_id)])
            packages += 1
        kinds[kind] += 1
    return {"candidates": len(found), "shipped": len(picked), "by_kind": kinds, "packages": packages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=0.5, help="share of the candidate orders to ship (0..1)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--account", default=channel_db.DEFAULT_ACCOUNT, help="ship this seller account's orders")
    args = parser.parse_args(argv)
    if not 0 <= args.share <= 1:
        parser.error("--share must be between 0 and 1")

    from include.adapters.hooks.channel_db import channel_engine
    from include.adapters.hooks.commerce_api import CommerceHook
    from include.adapters.hooks.outside_tasks import export_connections

    export_connections("commerce_api", "channel_db")
    with CommerceHook().get_client() as client:
        result = ship_some_orders(client, channel_engine(), share=args.share, seed=args.seed, account=args.account)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
