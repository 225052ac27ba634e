"""Seeded generator of realistic Amazon order histories (Orders API v2026-01-01 shapes).

``generate_orders(count, hours, seed, now)`` returns one *timeline* per order: a list of
complete ``Order`` dicts, oldest first, each version taking effect at its
``lastUpdatedTime``. Every version carries all the data Amazon will eventually
reveal; the SP-API sandbox hides buyer, recipient, proceeds, payment and prices
while an order's payment is unverified (see :func:`strip_unverified`), exactly as
Amazon does for ``PENDING`` orders.

What the histories contain (all draws come from ``random.Random(seed)``, so the same
``seed`` and ``now`` give the same orders):

* ~70 % merchant-fulfilled (MFN) and ~30 % FBA orders on the US, CA and MX
  marketplaces (about 70/18/12 %), each in its marketplace currency;
* MFN: ``PENDING`` -> ``UNSHIPPED`` after a few minutes; some are later shipped by
  the seller (one or two packages, ``PARTIALLY_SHIPPED`` in between), some are
  cancelled while pending or by the buyer once unshipped;
* FBA: ``PENDING`` -> ``SHIPPED`` (a few cancelled while pending);
* 1-5 lines from :data:`sandbox.catalog.PRODUCTS` (occasionally an
  :data:`~sandbox.catalog.UNKNOWN_SKUS` SKU), prices converted with the marketplace
  FX rate, item tax, shipping and shipping tax, promotion discounts;
* returning buyers (~25 % of orders reuse an earlier buyer's e-mail, name and
  address), and a few orders with no buyer e-mail or no delivery address.

Money model, identical at item and order level (what a Commerce grand total needs)::

    proceedsTotal = ITEM + SHIPPING + TAX + DISCOUNT        (DISCOUNT is negative)
    TAX      = detailed ITEM tax + SHIPPING tax
    DISCOUNT = -(detailed ITEM promotion + SHIPPING promotion)
    order grandTotal = sum of item proceedsTotal; order breakdowns = sums per type

Transitions later than ``now`` are not generated: the history ends at ``now``.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.catalog import MARKETPLACES, PRODUCTS, UNKNOWN_SKUS, Product
from sandbox.spapi.times import floor_seconds, iso_z, parse_iso, utcnow

CENT = Decimal("0.01")

MARKETPLACE_NAMES = {
    "ATVPDKIKX0DER": "Amazon.com",
    "A2EUQ1WTGCTBG2": "Amazon.ca",
    "A1AM78C64UM0Y8": "Amazon.com.mx",
}
_MARKETPLACE_WEIGHTS = {"ATVPDKIKX0DER": 70, "A2EUQ1WTGCTBG2": 18, "A1AM78C64UM0Y8": 12}
_EMAIL_DOMAINS = {"US": "marketplace.amazon.com", "CA": "marketplace.amazon.ca", "MX": "marketplace.amazon.com.mx"}
_ORDER_PREFIXES = {"US": ("111", "112", "113", "114"), "CA": ("701", "702"), "MX": ("701", "702")}
_TAX_PARTY = {"US": "Amazon Services, Inc.", "CA": "Amazon.com.ca ULC", "MX": "Servicios Comerciales Amazon Mexico"}
_CARRIERS = {
    "US": (("UPS", "UPS Ground"), ("USPS", "USPS Priority Mail"), ("FedEx", "FedEx Home Delivery")),
    "CA": (("Canada Post", "Expedited Parcel"), ("Purolator", "Purolator Ground")),
    "MX": (("Estafeta", "Dia Siguiente"), ("DHL", "DHL Express")),
}
# (city, state/region, postal code, combined sales-tax rate collected by Amazon)
_PLACES = {
    "US": [
        ("Seattle", "WA", "98101", "0.1025"),
        ("Austin", "TX", "78701", "0.0825"),
        ("Denver", "CO", "80202", "0.0881"),
        ("Columbus", "OH", "43215", "0.0725"),
        ("Miami", "FL", "33101", "0.0700"),
        ("Portland", "OR", "97201", "0"),
        ("Chicago", "IL", "60601", "0.1025"),
        ("Boston", "MA", "02108", "0.0625"),
        ("Phoenix", "AZ", "85004", "0.0860"),
        ("Atlanta", "GA", "30303", "0.0890"),
    ],
    "CA": [
        ("Toronto", "ON", "M5H 2N2", "0.13"),
        ("Vancouver", "BC", "V6B 1A1", "0.12"),
        ("Montreal", "QC", "H2Y 1C6", "0.14975"),
        ("Calgary", "AB", "T2P 1J9", "0.05"),
        ("Halifax", "NS", "B3H 1A1", "0.14"),
    ],
    "MX": [
        ("Ciudad de Mexico", "CDMX", "06000", "0.16"),
        ("Guadalajara", "JAL", "44100", "0.16"),
        ("Monterrey", "NL", "64000", "0.16"),
        ("Puebla", "PUE", "72000", "0.16"),
    ],
}
_STREETS = {
    "US": ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Lake Rd", "Hill St", "2nd Ave"),
    "CA": ("King St W", "Queen St E", "Maple Rd", "Rue Sainte-Catherine", "Granville St", "Spring Garden Rd"),
    "MX": ("Av. Reforma", "Calle Juarez", "Av. Insurgentes", "Calle Hidalgo", "Av. Vallarta"),
}
_FIRST = ("Ana", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jack", "Keiko", "Luis",
          "Maria", "Noah", "Olivia", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wen", "Yara")  # fmt: skip
_LAST = ("Smith", "Garcia", "Chen", "Martin", "Nguyen", "Lopez", "Brown", "Tremblay", "Roy", "Hernandez",
         "Wilson", "Patel", "Kim", "Silva", "Muller", "Moreau", "Rossi", "Cohen", "Singh", "Walker")  # fmt: skip
_SERVICE_LEVELS = (("STANDARD", 70), ("EXPEDITED", 15), ("SECOND_DAY", 10), ("NEXT_DAY", 5))
_KNOWN_PRODUCTS = [p for p in PRODUCTS if p.sku not in UNKNOWN_SKUS]
_UNKNOWN_PRODUCTS = [p for p in PRODUCTS if p.sku in UNKNOWN_SKUS]

#: Statuses in which Amazon has not verified payment yet (no buyer, address, money).
UNVERIFIED_STATUSES = frozenset({"PENDING", "PENDING_AVAILABILITY"})


@dataclass
class _Buyer:
    name: str
    email: str | None
    address: dict[str, str] | None
    tax_rate: Decimal


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """A spec ``Money`` object with two decimals."""
    return {"amount": str(amount.quantize(CENT, ROUND_HALF_UP)), "currencyCode": currency}


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def order_status(order: dict[str, Any]) -> str | None:
    """The fulfillment status of an Order dict (None when it has no fulfillment section)."""
    return (order.get("fulfillment") or {}).get("fulfillmentStatus")


def strip_unverified(order: dict[str, Any]) -> dict[str, Any]:
    """A shallow view of ``order`` without what Amazon withholds before payment verification."""
    view = {k: v for k, v in order.items() if k not in ("buyer", "recipient", "proceeds", "payment")}
    items = order.get("orderItems", [])
    if not isinstance(items, list):  # a malformed order stored to rehearse bad records: served as stored
        return view
    slim_items: list[Any] = []
    for item in items:
        slim = {k: v for k, v in item.items() if k != "proceeds"} if isinstance(item, dict) else item
        if isinstance(slim, dict) and isinstance(slim.get("product"), dict):
            slim["product"] = {k: v for k, v in slim["product"].items() if k != "price"}
        slim_items.append(slim)
    view["orderItems"] = slim_items
    return view


def generate_orders(count: int, hours: float, seed: int, now: datetime | None = None) -> list[list[dict[str, Any]]]:
    """``count`` order timelines created over the ``hours`` before ``now``, fully determined by ``seed``."""
    now = floor_seconds(now or utcnow())
    rng = random.Random(seed)
    span = max(float(hours), 0.0) * 3600
    created_times = sorted(now - timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    used_ids: set[str] = set()
    returning: dict[str, list[_Buyer]] = {mp: [] for mp in MARKETPLACES}
    timelines = []
    for created in created_times:
        created = floor_seconds(created)
        marketplace = rng.choices(list(_MARKETPLACE_WEIGHTS), weights=list(_MARKETPLACE_WEIGHTS.values()))[0]
        country = MARKETPLACES[marketplace][0]
        fba = rng.random() < 0.30
        pool = returning[marketplace]
        if pool and rng.random() < 0.25:
            buyer = rng.choice(pool)
        else:
            buyer = _new_buyer(rng, country)
            if buyer.email:
                pool.append(buyer)
        order = _new_order(rng, created, marketplace, fba, buyer, used_ids)
        timelines.append(_timeline(rng, order, now, fba, country))
    return timelines


def summarize(timelines: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Counts describing generated timelines (current = last version)."""
    current = [t[-1] for t in timelines]
    emails = Counter(o.get("buyer", {}).get("buyerEmail") for o in current)
    emails.pop(None, None)
    return {
        "generated": len(timelines),
        "versions": sum(len(t) for t in timelines),
        "fulfilledBy": dict(Counter(o["fulfillment"]["fulfilledBy"] for o in current)),
        "fulfillmentStatuses": dict(Counter(order_status(o) for o in current)),
        "marketplaces": dict(Counter(o["salesChannel"]["marketplaceId"] for o in current)),
        "returningBuyerOrders": sum(n for n in emails.values() if n > 1),
        "firstCreatedTime": min((o["createdTime"] for o in current), default=None),
        "lastCreatedTime": max((o["createdTime"] for o in current), default=None),
        "lastUpdatedTime": max((o["lastUpdatedTime"] for o in current), default=None),
    }


def _new_buyer(rng: random.Random, country: str) -> _Buyer:
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    city, region, postal, rate = rng.choice(_PLACES[country])
    email = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=16)) + "@" + _EMAIL_DOMAINS[country]
    address = {
        "name": name,
        "addressLine1": f"{rng.randint(1, 9999)} {rng.choice(_STREETS[country])}",
        "city": city,
        "stateOrRegion": region,
        "postalCode": postal,
        "countryCode": country,
        "phone": f"+{'52' if country == 'MX' else '1'} {rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        "addressType": "RESIDENTIAL" if rng.random() < 0.9 else "COMMERCIAL",
    }
    if rng.random() < 0.2:
        address["addressLine2"] = f"Apt {rng.randint(1, 40)}"
    missing = rng.random()
    if missing < 0.03:
        return _Buyer(name, None, address, Decimal(rate))
    if missing < 0.05:
        return _Buyer(name, email, None, Decimal(rate))
    return _Buyer(name, email, address, Decimal(rate))


def _new_id(rng: random.Random, prefix: str, used: set[str]) -> str:
    while True:
        candidate = f"{prefix}-{rng.randint(0, 9_999_999):07d}-{rng.randint(0, 9_999_999):07d}"
        if candidate not in used:
            used.add(candidate)
            return candidate


def _line(rng: random.Random, product: Product, qty: int, item_id: str, ctx: dict[str, Any], first: bool) -> dict:
    currency, fx, rate = ctx["currency"], ctx["fx"], ctx["tax_rate"]
    unit = _q(product.price * fx)
    item_total = unit * qty
    shipping = Decimal(0)
    if first and not ctx["free_shipping"]:
        shipping = _q(Decimal(rng.choice(("3.99", "4.99", "5.99", "7.99"))) * fx)
    promotions, item_disc, ship_disc = [], Decimal(0), Decimal(0)
    if rng.random() < 0.15:
        item_disc = _q(item_total * Decimal(rng.choice(("0.10", "0.15", "0.20"))))
        promotions.append({"promotionId": f"PLM-{rng.randint(10000, 99999)}-{rng.choice(('SAVE', 'DEAL', 'LD'))}"})
    if shipping and rng.random() < 0.08:
        ship_disc = shipping
        promotions.append({"promotionId": f"FreeShipping-{rng.randint(1000, 9999)}"})
    item_tax, ship_tax = _q((item_total - item_disc) * rate), _q((shipping - ship_disc) * rate)
    breakdowns: list[dict[str, Any]] = [{"type": "ITEM", "subtotal": money(item_total, currency)}]
    if shipping:
        breakdowns.append({"type": "SHIPPING", "subtotal": money(shipping, currency)})
    if item_tax or ship_tax:
        detail = [{"subtype": "ITEM", "value": money(item_tax, currency)}]
        if shipping:
            detail.append({"subtype": "SHIPPING", "value": money(ship_tax, currency)})
        breakdowns.append(
            {"type": "TAX", "subtotal": money(item_tax + ship_tax, currency), "detailedBreakdowns": detail}
        )
    if item_disc or ship_disc:
        detail = []
        if item_disc:
            detail.append({"subtype": "ITEM", "value": money(-item_disc, currency)})
        if ship_disc:
            detail.append({"subtype": "SHIPPING", "value": money(-ship_disc, currency)})
        breakdowns.append(
            {"type": "DISCOUNT", "subtotal": money(-(item_disc + ship_disc), currency), "detailedBreakdowns": detail}
        )
    total = item_total + shipping + item_tax + ship_tax - item_disc - ship_disc
    item: dict[str, Any] = {
        "orderItemId": item_id,
        "quantityOrdered": qty,
        "product": {
            "asin": product.asin,
            "title": product.name,
            "sellerSku": product.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": money(unit, currency)},
        },
        "proceeds": {"proceedsTotal": money(total, currency), "breakdowns": breakdowns},
        "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": qty},
        "tax": {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": ctx["tax_party"]}]},
    }
    if promotions:
        item["promotion"] = {"breakdowns": promotions}
    return item


def order_proceeds(items: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """Order-level proceeds: per-type sums of the item breakdowns and their grand total."""
    sums: dict[str, Decimal] = {}
    total = Decimal(0)
    for item in items:
        proceeds = item.get("proceeds") or {}
        total += Decimal(proceeds.get("proceedsTotal", {}).get("amount", "0"))
        for part in proceeds.get("breakdowns", []):
            sums[part["type"]] = sums.get(part["type"], Decimal(0)) + Decimal(part["subtotal"]["amount"])
    order = ("ITEM", "SHIPPING", "TAX", "DISCOUNT")
    breakdowns = [{"type": t, "subtotal": money(sums[t], currency)} for t in order if t in sums]
    return {"grandTotal": money(total, currency), "breakdowns": breakdowns}


def _new_order(
    rng: random.Random, created: datetime, marketplace: str, fba: bool, buyer: _Buyer, used: set[str]
) -> dict[str, Any]:
    country, currency, fx = MARKETPLACES[marketplace]
    prime = fba or rng.random() < 0.35
    ctx = {
        "currency": currency,
        "fx": fx,
        "tax_rate": buyer.tax_rate,
        "tax_party": _TAX_PARTY[country],
        "free_shipping": prime or rng.random() < 0.3,
    }
    n_lines = rng.choices((1, 2, 3, 4, 5), weights=(45, 28, 15, 8, 4))[0]
    products = rng.sample(_KNOWN_PRODUCTS, n_lines)
    if rng.random() < 0.04:
        products[rng.randrange(n_lines)] = rng.choice(_UNKNOWN_PRODUCTS)
    items = []
    for index, product in enumerate(products):
        qty = rng.choices((1, 2, 3, 4), weights=(70, 18, 8, 4))[0]
        item_id = _new_id_numeric(rng, used)
        items.append(_line(rng, product, qty, item_id, ctx, first=index == 0))
    level = (
        "STANDARD" if fba else rng.choices([s for s, _ in _SERVICE_LEVELS], weights=[w for _, w in _SERVICE_LEVELS])[0]
    )
    ship_days = 1 if level in ("NEXT_DAY", "SECOND_DAY") else 2
    deliver_days = {"NEXT_DAY": 1, "SECOND_DAY": 2, "EXPEDITED": 3}.get(level, 5)
    day = created.replace(hour=0, minute=0, second=0)
    order: dict[str, Any] = {
        "orderId": _new_id(rng, rng.choice(_ORDER_PREFIXES[country]), used),
        "createdTime": iso_z(created),
        "lastUpdatedTime": iso_z(created),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": marketplace,
            "marketplaceName": MARKETPLACE_NAMES[marketplace],
        },
        "buyer": {"buyerName": buyer.name},
        "proceeds": order_proceeds(items, currency),
        "payment": {"paymentExecutions": [{"paymentMethod": "CreditCard"}]},
        "fulfillment": {
            "fulfillmentStatus": "PENDING",
            "fulfilledBy": "AMAZON" if fba else "MERCHANT",
            "fulfillmentServiceLevel": level,
            "shipByWindow": {
                "earliestDateTime": iso_z(created),
                "latestDateTime": iso_z(day + timedelta(days=ship_days, hours=23, minutes=59, seconds=59)),
            },
            "deliverByWindow": {
                "earliestDateTime": iso_z(day + timedelta(days=deliver_days)),
                "latestDateTime": iso_z(day + timedelta(days=deliver_days + 3, hours=23, minutes=59, seconds=59)),
            },
        },
        "orderItems": items,
    }
    order["payment"]["paymentExecutions"][0]["paymentAmount"] = order["proceeds"]["grandTotal"]
    if prime:
        order["programs"] = ["PRIME"]
    if buyer.email and not fba:  # the spec: buyerEmail only for merchant-fulfilled orders
        order["buyer"]["buyerEmail"] = buyer.email
    if buyer.address:
        address = dict(buyer.address)
        if fba:  # the spec: phone numbers are suppressed for FBA orders
            address.pop("phone", None)
        order["recipient"] = {"deliveryAddress": address}
    return order


def _new_id_numeric(rng: random.Random, used: set[str]) -> str:
    while True:
        candidate = str(rng.randint(10**13, 10**14 - 1))
        if candidate not in used:
            used.add(candidate)
            return candidate


def next_version(order: dict[str, Any], at: datetime, status: str) -> dict[str, Any]:
    """A deep copy of ``order`` with a new fulfillment status, stamped at ``at``."""
    version = copy.deepcopy(order)
    version["lastUpdatedTime"] = iso_z(at)
    version.setdefault("fulfillment", {})["fulfillmentStatus"] = status
    return version


def cancel(order: dict[str, Any], at: datetime, cancelled_by: str, reason: str, requested: bool) -> dict[str, Any]:
    """The CANCELLED version of ``order``: item cancellation details, nothing fulfilled."""
    version = next_version(order, at, "CANCELLED")
    for item in version["orderItems"]:
        cancellation: dict[str, Any] = {"cancellationExecution": {"cancelledBy": cancelled_by, "cancelReason": reason}}
        if requested:
            cancellation["cancellationRequest"] = {"requester": "BUYER", "cancelReason": reason}
        item["cancellation"] = cancellation
        item["fulfillment"] = {**item.get("fulfillment", {}), "quantityUnfulfilled": 0}
    return version


def ship_package(
    order: dict[str, Any], at: datetime, package: dict[str, Any], items: list[tuple[str, int]]
) -> dict[str, Any]:
    """The version of ``order`` after adding (or replacing) ``package`` carrying ``items``."""
    version = copy.deepcopy(order)
    version["lastUpdatedTime"] = iso_z(at)
    package = {**package, "packageItems": [{"orderItemId": i, "quantity": q} for i, q in items]}
    packages = [p for p in version.get("packages", []) if p["packageReferenceId"] != package["packageReferenceId"]]
    previous = next(
        (p for p in version.get("packages", []) if p["packageReferenceId"] == package["packageReferenceId"]), None
    )
    if previous and "createdTime" in previous:
        package["createdTime"] = previous["createdTime"]
    packages.append(package)
    packages.sort(key=lambda p: (len(p["packageReferenceId"]), p["packageReferenceId"]))
    version["packages"] = packages
    shipped: Counter[str] = Counter()
    for pkg in packages:
        for entry in pkg.get("packageItems", []):
            shipped[entry["orderItemId"]] += entry["quantity"]
    complete = True
    for item in version["orderItems"]:
        done = min(shipped[item["orderItemId"]], item["quantityOrdered"])
        item["fulfillment"] = {**item.get("fulfillment", {}), "quantityFulfilled": done,
                               "quantityUnfulfilled": item["quantityOrdered"] - done}  # fmt: skip
        complete = complete and done >= item["quantityOrdered"]
    version.setdefault("fulfillment", {})["fulfillmentStatus"] = "SHIPPED" if complete else "PARTIALLY_SHIPPED"
    return version


def _package(rng: random.Random, ref: str, country: str, at: datetime) -> dict[str, Any]:
    carrier, service = rng.choice(_CARRIERS[country])
    tracking = (
        "1Z" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=16))
        if carrier == "UPS"
        else str(rng.randint(10**11, 10**12 - 1))
    )
    return {
        "packageReferenceId": ref,
        "createdTime": iso_z(at),
        "packageStatus": {"status": "SHIPPED"},
        "carrier": carrier,
        "shipTime": iso_z(at),
        "shippingService": service,
        "trackingNumber": tracking,
    }


def _timeline(rng: random.Random, order: dict[str, Any], now: datetime, fba: bool, country: str) -> list[dict]:
    created = parse_iso(order["createdTime"])
    versions = [order]

    def add(version_at: datetime, make) -> bool:
        if version_at > now:
            return False
        versions.append(make(floor_seconds(version_at)))
        return True

    roll = rng.random()
    if fba:
        if roll < 0.03:
            add(created + timedelta(minutes=rng.uniform(10, 120)),
                lambda at: cancel(versions[-1], at, "AMAZON", "Payment could not be verified", requested=False))  # fmt: skip
        else:
            at = created + timedelta(hours=rng.uniform(0.5, 20))

            def shipped(at: datetime) -> dict[str, Any]:
                version = next_version(versions[-1], at, "SHIPPED")
                for item in version["orderItems"]:
                    item["fulfillment"] = {"quantityFulfilled": item["quantityOrdered"], "quantityUnfulfilled": 0}
                return version

            add(at, shipped)
        return versions
    if roll < 0.04:
        add(created + timedelta(minutes=rng.uniform(5, 90)),
            lambda at: cancel(versions[-1], at, "AMAZON", "Payment could not be verified", requested=False))  # fmt: skip
        return versions
    unshipped_at = created + timedelta(minutes=rng.uniform(1, 25))
    if not add(unshipped_at, lambda at: next_version(versions[-1], at, "UNSHIPPED")):
        return versions
    roll = rng.random()
    if roll < 0.05:
        add(unshipped_at + timedelta(hours=rng.uniform(0.5, 10)),
            lambda at: cancel(versions[-1], at, "BUYER", "Order no longer needed", requested=True))  # fmt: skip
    elif roll < 0.30:
        first_at = unshipped_at + timedelta(hours=rng.uniform(2, 30))
        lines = [(i["orderItemId"], i["quantityOrdered"]) for i in order["orderItems"]]
        units = sum(q for _, q in lines)
        if units > 1 and rng.random() < 0.3:  # two packages, PARTIALLY_SHIPPED in between
            if len(lines) > 1:
                first, rest = lines[:1], lines[1:]
            else:
                (item_id, qty), = lines  # fmt: skip
                first, rest = [(item_id, 1)], [(item_id, qty - 1)]
            second_at = first_at + timedelta(hours=rng.uniform(1, 12))
            pkg1, pkg2 = _package(rng, "1", country, first_at), _package(rng, "2", country, second_at)
            if add(first_at, lambda at: ship_package(versions[-1], at, pkg1, first)):
                add(second_at, lambda at: ship_package(versions[-1], at, pkg2, rest))
        else:
            pkg1 = _package(rng, "1", country, first_at)
            add(first_at, lambda at: ship_package(versions[-1], at, pkg1, lines))
    return versions
