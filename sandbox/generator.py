"""Seeded generator of realistic Amazon order histories (Orders API v2026-01-01 shapes).

``generate_orders(count, hours, seed, now)`` returns one *timeline* per order: a list of
complete ``Order`` dicts, oldest first, each version taking effect at its
``lastUpdatedTime``. Every version carries all the data Amazon will eventually
reveal; the SP-API sandbox hides buyer, recipient, proceeds, payment and prices
while an order's payment is unverified (see :func:`strip_unverified`), exactly as
Amazon does for ``PENDING`` orders.

What the histories contain (all draws come from ``random.Random(seed)``, so the same
``seed`` and ``now`` give the same orders):

* ~70 % merchant-fulfilled (MFN) and ~30 % FBA orders, mostly on the US, CA and
  MX marketplaces (about 62/16/10 %) and ~12 % on BR, UK, DE, FR, SE, PL, TR and
  JP (BRL, GBP, EUR, SEK, PLN, TRY, JPY: whole yen), each in its currency;
* MFN: ``PENDING`` -> ``UNSHIPPED`` after a few minutes; some are later shipped by
  the seller (one or two packages, ``PARTIALLY_SHIPPED`` in between), some are
  cancelled while pending or by the buyer once unshipped;
* FBA: ``PENDING`` -> ``SHIPPED`` (a few cancelled while pending);
* 1-5 lines from :data:`sandbox.catalog.PRODUCTS` (occasionally an
  :data:`~sandbox.catalog.UNKNOWN_SKUS` SKU), prices converted with the marketplace
  FX rate, item tax, shipping and shipping tax, promotion discounts;
* returning buyers (~25 % of orders reuse an earlier buyer's e-mail, name and
  address), and a few merchant-fulfilled orders with no buyer e-mail;
* the shapes of Amazon's published examples, at realistic rates: Prime (~35 %
  of MFN, every FBA order), gift wrap (``GIFT_WRAP`` charge and tax) with gift
  messages (~4 %) and gift messages alone (~2 %), ``DELIVERY_TIP`` order
  charges (~3 % of US MFN orders), ``COD_FEE`` (~1 % of MX, TR and JP) and
  ``OTHER`` charges (~0.5 %), business orders (~6 %: ``AMAZON_BUSINESS``,
  buyer company, purchase order number on most, buyer VAT registration in the
  EU, TR and BR), in-store pickup (~1 % of US MFN), seller order ids (~10 %),
  replacement orders (~1 %, naming an earlier order), buyer cancellation
  requests on ~6 % of unshipped MFN orders (most then cancelled), and FBA
  orders for which Amazon withholds the buyer's name and address (~30 % of FBA).
  Merchant-fulfilled orders always have their delivery address once verified,
  as Amazon sends it.

Money model, identical at item and order level (what a Commerce grand total needs)::

    proceedsTotal = ITEM + SHIPPING + GIFT_WRAP + COD_FEE + OTHER + TAX + DISCOUNT   (DISCOUNT is negative)
    TAX      = detailed ITEM tax + SHIPPING tax + GIFT_WRAP tax
    DISCOUNT = -(detailed ITEM promotion + SHIPPING promotion)
    order grandTotal = sum of item proceedsTotal + DELIVERY_TIP; order breakdowns = sums per type (+ the tip)

Transitions later than ``now`` are not generated: the history ends at ``now``.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.catalog import MARKETPLACES, PRODUCTS, UNKNOWN_SKUS, Product
from sandbox.spapi.times import floor_seconds, iso_z, parse_iso, utcnow

CENT = Decimal("0.01")
#: Currencies without minor units (ISO 4217) among the generator's marketplaces.
ZERO_DECIMAL = frozenset({"JPY"})

MARKETPLACE_NAMES = {
    "ATVPDKIKX0DER": "Amazon.com",
    "A2EUQ1WTGCTBG2": "Amazon.ca",
    "A1AM78C64UM0Y8": "Amazon.com.mx",
    "A2Q3Y263D00KWC": "Amazon.com.br",
    "A1F83G8C2ARO7P": "Amazon.co.uk",
    "A1PA6795UKMFR9": "Amazon.de",
    "A13V1IB3VIYZZH": "Amazon.fr",
    "A2NODRKZP88ZB9": "Amazon.se",
    "A1C3SOZRARQ6R3": "Amazon.pl",
    "A33AVAJ2PDY3EV": "Amazon.com.tr",
    "A1VC38T7YXB528": "Amazon.co.jp",
}
_MARKETPLACE_WEIGHTS = {
    "ATVPDKIKX0DER": 62, "A2EUQ1WTGCTBG2": 16, "A1AM78C64UM0Y8": 10, "A1F83G8C2ARO7P": 2.5, "A1PA6795UKMFR9": 2,
    "A13V1IB3VIYZZH": 1.5, "A1VC38T7YXB528": 1.5, "A2Q3Y263D00KWC": 1.5, "A2NODRKZP88ZB9": 1, "A1C3SOZRARQ6R3": 1,
    "A33AVAJ2PDY3EV": 1,
}  # fmt: skip
_EMAIL_DOMAINS = {
    "US": "marketplace.amazon.com", "CA": "marketplace.amazon.ca", "MX": "marketplace.amazon.com.mx",
    "BR": "marketplace.amazon.com.br", "GB": "marketplace.amazon.co.uk", "DE": "marketplace.amazon.de",
    "FR": "marketplace.amazon.fr", "SE": "marketplace.amazon.se", "PL": "marketplace.amazon.pl",
    "TR": "marketplace.amazon.com.tr", "JP": "marketplace.amazon.co.jp",
}  # fmt: skip
_EU = ("GB", "DE", "FR", "SE", "PL")
_ORDER_PREFIXES = {
    "US": ("111", "112", "113", "114"), "CA": ("701", "702"), "MX": ("701", "702"), "BR": ("171",),
    **{country: ("202", "203", "204", "205", "206") for country in _EU}, "TR": ("028",), "JP": ("249", "250"),
}  # fmt: skip
_TAX_PARTY = {
    "US": "Amazon Services, Inc.", "CA": "Amazon.com.ca ULC", "MX": "Servicios Comerciales Amazon Mexico",
    "BR": "Amazon Servicos de Varejo do Brasil Ltda", "TR": "Amazon Turkey Perakende Hizmetleri Limited Sirketi",
    "JP": "Amazon Japan G.K.", **{country: "Amazon Services Europe S.a.r.L." for country in _EU},
}  # fmt: skip
_CARRIERS = {
    "US": (("UPS", "UPS Ground"), ("USPS", "USPS Priority Mail"), ("FedEx", "FedEx Home Delivery")),
    "CA": (("Canada Post", "Expedited Parcel"), ("Purolator", "Purolator Ground")),
    "MX": (("Estafeta", "Dia Siguiente"), ("DHL", "DHL Express")),
    "BR": (("Correios", "SEDEX"), ("Jadlog", "Jadlog Package")),
    "GB": (("Royal Mail", "Royal Mail Tracked 48"), ("DPD", "DPD Next Day")),
    "DE": (("DHL", "DHL Paket"), ("Hermes", "Hermes Paket")),
    "FR": (("Colissimo", "Colissimo Domicile"), ("Chronopost", "Chrono 13")),
    "SE": (("PostNord", "MyPack Home"), ("DHL", "DHL Parcel")),
    "PL": (("InPost", "Paczkomat"), ("DPD", "DPD Classic")),
    "TR": (("Yurtici Kargo", "Standart"), ("Aras Kargo", "Standart")),
    "JP": (("Yamato Transport", "TA-Q-BIN"), ("Sagawa Express", "Hikyaku Express")),
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
_PLACES.update(
    {
        "BR": [("Sao Paulo", "SP", "01310-100", "0"), ("Rio de Janeiro", "RJ", "20040-002", "0")],
        "GB": [("London", "England", "SW1A 1AA", "0.20"), ("Manchester", "England", "M1 2AB", "0.20")],
        "DE": [("Berlin", "Berlin", "10115", "0.19"), ("Munchen", "Bayern", "80331", "0.19")],
        "FR": [("Paris", "Ile-de-France", "75001", "0.20"), ("Lyon", "Auvergne-Rhone-Alpes", "69001", "0.20")],
        "SE": [("Stockholm", "Stockholm", "111 20", "0.25"), ("Goteborg", "Vastra Gotaland", "411 01", "0.25")],
        "PL": [("Warszawa", "Mazowieckie", "00-001", "0.23"), ("Krakow", "Malopolskie", "30-001", "0.23")],
        "TR": [("Istanbul", "Istanbul", "34430", "0.20"), ("Ankara", "Ankara", "06420", "0.20")],
        "JP": [("Tokyo", "Tokyo", "150-0002", "0.10"), ("Osaka", "Osaka", "530-0001", "0.10")],
    }
)
_STREETS = {
    "BR": ("Avenida Paulista", "Rua das Flores"),
    "GB": ("High Street", "Oak Avenue"),
    "DE": ("Hauptstrasse", "Bahnhofstrasse"),
    "FR": ("Rue de Rivoli", "Avenue Victor Hugo"),
    "SE": ("Storgatan", "Drottninggatan"),
    "PL": ("ul. Marszalkowska", "ul. Dluga"),
    "TR": ("Istiklal Caddesi", "Ataturk Bulvari"),
    "JP": ("Jingumae 1-1", "Umeda 2-4"),
    "US": ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Lake Rd", "Hill St", "2nd Ave"),
    "CA": ("King St W", "Queen St E", "Maple Rd", "Rue Sainte-Catherine", "Granville St", "Spring Garden Rd"),
    "MX": ("Av. Reforma", "Calle Juarez", "Av. Insurgentes", "Calle Hidalgo", "Av. Vallarta"),
}
_FIRST = ("Ana", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jack", "Keiko", "Luis",
          "Maria", "Noah", "Olivia", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wen", "Yara")  # fmt: skip
_LAST = ("Smith", "Garcia", "Chen", "Martin", "Nguyen", "Lopez", "Brown", "Tremblay", "Roy", "Hernandez",
         "Wilson", "Patel", "Kim", "Silva", "Muller", "Moreau", "Rossi", "Cohen", "Singh", "Walker")  # fmt: skip
_SERVICE_LEVELS = (("STANDARD", 70), ("EXPEDITED", 15), ("SECOND_DAY", 10), ("NEXT_DAY", 5))
_PHONE_PREFIX = {
    "MX": "52",
    "BR": "55",
    "GB": "44",
    "DE": "49",
    "FR": "33",
    "SE": "46",
    "PL": "48",
    "TR": "90",
    "JP": "81",
}
_COMPANIES = ("Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Tailspin Toys", "Litware GmbH", "Adatum SARL")
_GIFT_MESSAGES = ("Happy birthday!", "Congratulations on the new job!", "Merry Christmas, love from us all",
                  "Thank you for everything", "Enjoy your gift!")  # fmt: skip
_CANCEL_REASONS = ("Order no longer needed", "Ordered by mistake", "Found a better price", "Delivery takes too long")
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


def _unit(currency: str) -> Decimal:
    return Decimal(1) if currency in ZERO_DECIMAL else CENT


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """A spec ``Money`` object in the currency's minor unit (two decimals; none for JPY)."""
    return {"amount": str(amount.quantize(_unit(currency), ROUND_HALF_UP)), "currencyCode": currency}


def _q(value: Decimal, currency: str = "USD") -> Decimal:
    return value.quantize(_unit(currency), ROUND_HALF_UP)


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


def generate_orders(
    count: int, hours: float, seed: int, now: datetime | None = None, *, marketplaces: Sequence[str] | None = None
) -> list[list[dict[str, Any]]]:
    """``count`` order timelines created over the ``hours`` before ``now``, fully determined by ``seed``.

    ``marketplaces``: sell only there (a seller of one region); default: every marketplace of the catalogue.
    """
    weights = {m: w for m, w in _MARKETPLACE_WEIGHTS.items() if marketplaces is None or m in marketplaces}
    if not weights:
        raise ValueError("none of these marketplaces is in the sandbox's catalogue")
    now = floor_seconds(now or utcnow())
    rng = random.Random(seed)
    span = max(float(hours), 0.0) * 3600
    created_times = sorted(now - timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    used_ids: set[str] = set()
    returning: dict[str, list[_Buyer]] = {mp: [] for mp in MARKETPLACES}
    previous: list[str] = []
    timelines = []
    for created in created_times:
        created = floor_seconds(created)
        marketplace = rng.choices(list(weights), weights=list(weights.values()))[0]
        country = MARKETPLACES[marketplace][0]
        fba = rng.random() < 0.30
        pool = returning[marketplace]
        if pool and rng.random() < 0.25:
            buyer = rng.choice(pool)
        else:
            buyer = _new_buyer(rng, country)
            if buyer.email:
                pool.append(buyer)
        order = _new_order(rng, created, marketplace, fba, buyer, used_ids, previous)
        previous.append(order["orderId"])
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
        "phone": f"+{_PHONE_PREFIX.get(country, '1')} {rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        "addressType": "RESIDENTIAL" if rng.random() < 0.9 else "COMMERCIAL",
    }
    if rng.random() < 0.2:
        address["addressLine2"] = f"Apt {rng.randint(1, 40)}"
    if rng.random() < 0.03:
        return _Buyer(name, None, address, Decimal(rate))
    return _Buyer(name, email, address, Decimal(rate))


def _new_id(rng: random.Random, prefix: str, used: set[str]) -> str:
    while True:
        candidate = f"{prefix}-{rng.randint(0, 9_999_999):07d}-{rng.randint(0, 9_999_999):07d}"
        if candidate not in used:
            used.add(candidate)
            return candidate


def _line(rng: random.Random, product: Product, qty: int, item_id: str, ctx: dict[str, Any], first: bool) -> dict:
    currency, fx, rate = ctx["currency"], ctx["fx"], ctx["tax_rate"]
    unit = _q(product.price * fx, currency)
    item_total = unit * qty
    shipping = Decimal(0)
    if first and not ctx["free_shipping"]:
        shipping = _q(Decimal(rng.choice(("3.99", "4.99", "5.99", "7.99"))) * fx, currency)
    promotions, item_disc, ship_disc = [], Decimal(0), Decimal(0)
    if rng.random() < 0.15:
        item_disc = _q(item_total * Decimal(rng.choice(("0.10", "0.15", "0.20"))), currency)
        promotions.append({"promotionId": f"PLM-{rng.randint(10000, 99999)}-{rng.choice(('SAVE', 'DEAL', 'LD'))}"})
    if shipping and rng.random() < 0.08:
        ship_disc = shipping
        promotions.append({"promotionId": f"FreeShipping-{rng.randint(1000, 9999)}"})
    item_tax, ship_tax = _q((item_total - item_disc) * rate, currency), _q((shipping - ship_disc) * rate, currency)
    wrap = _q(Decimal("3.99") * fx, currency) if ctx["gift_wrap"] else Decimal(0)
    wrap_tax = _q(wrap * rate, currency)
    fees = {kind: _q(Decimal(amount) * fx, currency) for kind, amount in (("COD_FEE", "2.00"), ("OTHER", "1.50"))
            if first and ctx[kind]}  # fmt: skip
    breakdowns: list[dict[str, Any]] = [{"type": "ITEM", "subtotal": money(item_total, currency)}]
    if shipping:
        breakdowns.append({"type": "SHIPPING", "subtotal": money(shipping, currency)})
    if wrap:
        breakdowns.append({"type": "GIFT_WRAP", "subtotal": money(wrap, currency)})
    breakdowns.extend({"type": kind, "subtotal": money(amount, currency)} for kind, amount in fees.items())
    if item_tax or ship_tax or wrap_tax:
        detail = [{"subtype": "ITEM", "value": money(item_tax, currency)}]
        if shipping:
            detail.append({"subtype": "SHIPPING", "value": money(ship_tax, currency)})
        if wrap_tax:
            detail.append({"subtype": "GIFT_WRAP", "value": money(wrap_tax, currency)})
        breakdowns.append(
            {"type": "TAX", "subtotal": money(item_tax + ship_tax + wrap_tax, currency), "detailedBreakdowns": detail}
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
    total = item_total + shipping + item_tax + ship_tax - item_disc - ship_disc + wrap + wrap_tax + sum(fees.values())
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
    if ctx["gift_message"] or wrap:
        option: dict[str, str] = {}
        if ctx["gift_message"]:
            option["giftMessage"] = ctx["gift_message"]
        if wrap:
            option["giftWrapLevel"] = ctx["gift_wrap"]
        item["fulfillment"]["packing"] = {"giftOption": option}
    if ctx["business"]:
        item["product"]["price"]["priceDesignation"] = "BUSINESS_PRICE"
    return item


def order_proceeds(items: list[dict[str, Any]], currency: str, tip: Decimal = Decimal(0)) -> dict[str, Any]:
    """Order-level proceeds: per-type sums of the item breakdowns, the order's delivery tip, and their grand total."""
    sums: dict[str, Decimal] = {}
    total = Decimal(0)
    for item in items:
        proceeds = item.get("proceeds") or {}
        total += Decimal(proceeds.get("proceedsTotal", {}).get("amount", "0"))
        for part in proceeds.get("breakdowns", []):
            sums[part["type"]] = sums.get(part["type"], Decimal(0)) + Decimal(part["subtotal"]["amount"])
    order = ("ITEM", "SHIPPING", "GIFT_WRAP", "COD_FEE", "OTHER", "TAX", "DISCOUNT")
    breakdowns = [{"type": t, "subtotal": money(sums[t], currency)} for t in order if t in sums]
    if tip:
        breakdowns.append({"type": "DELIVERY_TIP", "status": "FINALIZED", "subtotal": money(tip, currency)})
    return {"grandTotal": money(total + tip, currency), "breakdowns": breakdowns}


def _new_order(
    rng: random.Random,
    created: datetime,
    marketplace: str,
    fba: bool,
    buyer: _Buyer,
    used: set[str],
    previous: list[str] | None = None,
) -> dict[str, Any]:
    country, currency, fx = MARKETPLACES[marketplace]
    prime = fba or rng.random() < 0.35
    gift = rng.random()
    business = not fba and rng.random() < 0.06
    ctx = {
        "currency": currency,
        "fx": fx,
        "tax_rate": buyer.tax_rate,
        "tax_party": _TAX_PARTY[country],
        "free_shipping": prime or rng.random() < 0.3,
        "gift_wrap": rng.choice(("STANDARD", "PREMIUM")) if gift < 0.04 else None,
        "gift_message": rng.choice(_GIFT_MESSAGES) if gift < 0.06 else None,
        "COD_FEE": not fba and country in ("MX", "TR", "JP") and rng.random() < 0.03,
        "OTHER": not fba and rng.random() < 0.005,
        "business": business,
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
    tip = (
        Decimal(rng.choice(("2.00", "3.00", "5.00", "8.00")))
        if country == "US" and not fba and rng.random() < 0.03
        else Decimal(0)
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
        "proceeds": order_proceeds(items, currency, tip),
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
    programs = ["PRIME"] if prime else []
    if not fba and level in ("NEXT_DAY", "SECOND_DAY") and rng.random() < 0.3:
        programs.append("PREMIUM")
    if buyer.email and not fba:  # the spec: buyerEmail only for merchant-fulfilled orders
        order["buyer"]["buyerEmail"] = buyer.email
    address = dict(buyer.address or {})
    if fba:  # the spec: phone numbers are suppressed for FBA orders
        address.pop("phone", None)
    if fba and rng.random() < 0.30:  # Amazon withholds the buyer and the address of many FBA orders
        order["buyer"], address = {}, {}
    elif not fba and country == "US" and rng.random() < 0.01:  # picked up in a store: the store is the address
        programs.append("IN_STORE_PICK_UP")
        order["buyer"] = {}
        address = {"name": f"Pickup Store #{rng.randint(1000, 9999)}", "companyName": "Pickup Store",
                   "addressLine1": f"{rng.randint(1, 999)} {rng.choice(_STREETS[country])}",
                   "city": address.get("city", "Seattle"), "stateOrRegion": address.get("stateOrRegion", "WA"),
                   "postalCode": address.get("postalCode", "98101"), "countryCode": country,
                   "addressType": "COMMERCIAL"}  # fmt: skip
    if business:
        programs.append("AMAZON_BUSINESS")
        company = rng.choice(_COMPANIES)
        order["buyer"]["buyerCompanyName"] = company
        address.update(companyName=company, addressType="COMMERCIAL")
        if rng.random() < 0.75:
            order["buyer"]["buyerPurchaseOrderNumber"] = f"PO-{created.year}-{rng.randint(10000, 99999)}"
        if country in (*_EU, "TR", "BR"):
            kind = {"BR": "CNPJ", "TR": "BUSINESS"}.get(country, "VAT")
            number = (
                f"{country}{rng.randint(10**8, 10**9 - 1)}" if kind == "VAT" else str(rng.randint(10**9, 10**10 - 1))
            )
            order["tax"] = {"taxRegistrations": [
                {"entityType": "BUYER", "legalName": company, "taxRegistrationType": kind, "taxRegistrationNumber": number}
            ]}  # fmt: skip
    if address:
        order["recipient"] = {"deliveryAddress": address}
    if programs:
        order["programs"] = programs
    if rng.random() < 0.10:
        order["orderAliases"] = [{"aliasId": f"SO-{rng.randint(100000, 999999)}", "aliasType": "SELLER_ORDER_ID"}]
    if previous and rng.random() < 0.01:
        order["associatedOrders"] = [{"orderId": rng.choice(previous), "associationType": "REPLACEMENT_ORIGINAL_ID"}]
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


def request_cancellation(order: dict[str, Any], at: datetime, reason: str) -> dict[str, Any]:
    """The version of an unshipped ``order`` in which the buyer asked to cancel it (no execution yet)."""
    version = copy.deepcopy(order)
    version["lastUpdatedTime"] = iso_z(at)
    for item in version["orderItems"]:
        item["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": reason}}
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
    if roll < 0.06:  # the buyer asks to cancel; Amazon cancels most such orders, the rest wait for the seller
        reason = rng.choice(_CANCEL_REASONS)
        asked_at = unshipped_at + timedelta(hours=rng.uniform(0.2, 6))
        if add(asked_at, lambda at: request_cancellation(versions[-1], at, reason)) and roll < 0.045:
            add(asked_at + timedelta(hours=rng.uniform(0.5, 6)),
                lambda at: cancel(versions[-1], at, "BUYER", reason, requested=True))  # fmt: skip
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
