"""Amazon Orders API v2026-01-01 ``Order`` → Adobe Commerce REST payloads (pure functions).

Where the money lives in a v2026 order (``specs/sp-api/orders_2026-01-01.json``):

* ``orderItems[].product.price.unitPrice`` — the unit price (``ItemPrice``);
* ``orderItems[].proceeds.breakdowns[]`` (``ItemProceedsBreakdown``) by ``type``:
  ``ITEM`` (unit price × quantity), ``SHIPPING``, ``GIFT_WRAP``, ``COD_FEE``,
  ``OTHER`` (and any type Amazon adds later), ``TAX`` and ``DISCOUNT``
  (negative), the last two split by ``detailedBreakdowns[].subtype`` into the
  parts they apply to; ``proceedsTotal`` is their sum;
* ``proceeds.breakdowns[]`` (``OrderProceedsBreakdown``): the same categories
  summed over the items, plus charges not attributed to any item
  (``DELIVERY_TIP``); ``proceeds.grandTotal`` is the items' totals plus those;
* ``orderItems[].promotion.breakdowns[].promotionId`` — which promotions applied.

Every charge lands in a Commerce total, so Magento's invoices and credit memos
carry it and the order's ``grand_total`` equals Amazon's ``grandTotal`` to the
minor unit of the currency (checked here; a mismatch is a :class:`MappingError`
rather than a wrong Commerce order):

* ``ITEM`` → item rows and ``subtotal``; ``SHIPPING`` → ``shipping_amount``;
  ``TAX`` → items' ``tax_amount`` and ``shipping_tax_amount``; ``DISCOUNT`` →
  items' ``discount_amount``, ``shipping_discount_amount`` and the order's
  (negative) ``discount_amount``;
* charges Magento has no total of its own for (``GIFT_WRAP``, ``COD_FEE``,
  ``OTHER``, ``DELIVERY_TIP``, any new type) are *handling*: added to Magento's
  "Shipping & Handling" total (``shipping_amount``; their tax to
  ``shipping_tax_amount``, their discounts to ``shipping_discount_amount``),
  named in ``shipping_description`` and itemised in the order's first
  status-history comment (:func:`order_facts`). docs/mapping.md has the table.

All arithmetic uses ``Decimal``; amounts are quantized to the minor unit of
their ISO 4217 currency (:data:`MINOR_UNITS`: two decimals unless listed, none
for JPY) with ROUND_HALF_EVEN (Amazon's amounts already are, so nothing is
lost). Magento's sign conventions: item ``discount_amount`` positive, order
``discount_amount`` negative, so
``grand_total = subtotal + shipping_amount + tax_amount + discount_amount``.

Placeholders, where Commerce requires a value Amazon does not give:

* e-mail: guest orders without ``buyer.buyerEmail`` (every FBA order: the spec
  returns it for merchant-fulfilled orders only) get
  ``<amazon-order-id>@marketplace.amazon.invalid`` — the ``.invalid`` TLD
  (RFC 2606) can never receive mail, so Commerce can never e-mail the buyer.
  A customer *account* needs a real e-mail: :func:`to_commerce_customer` refuses
  without one and the importer imports such orders as guests
  (:func:`has_buyer_email`).
* address: an FBA order for which Amazon withholds the delivery address gets
  :func:`placeholder_address` (``settings.fba_placeholder_address``, on by
  default), marked as such in every line; a merchant-fulfilled order without
  one cannot be shipped and is refused.
* telephone: ``"N/A"`` when Amazon suppressed the phone number (FBA orders,
  old shipped orders); a single-word name gets ``"-"`` as last name.
* billing address: Amazon has no billing address; the delivery address is used
  (with the buyer's company and tax registration number for business orders).

:class:`MappingError` messages and status-history comments never contain buyer
data (names, e-mails, addresses, companies): the first are logged and shown in
the quarantine view, the second are read by staff who need no buyer data there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from include.domain.marketplaces import MARKETPLACES
from include.domain.settings import OrderSettings

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PLACEHOLDER_EMAIL_DOMAIN = "marketplace.amazon.invalid"
PLACEHOLDER_TELEPHONE = "N/A"
#: What every line of a placeholder address says (FBA orders Amazon gives no address for).
PLACEHOLDER_MARK = "Address withheld by Amazon (FBA)"
GUEST_GROUP_ID = 0
GENERAL_GROUP_ID = 1
#: ISO 4217 minor units of the currencies that do not have two decimals (the rest have two).
MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
#: Charge types with a Magento total of their own; every other type is handling (see the module docstring).
NATIVE_CHARGES = ("ITEM", "SHIPPING", "TAX", "DISCOUNT")
#: Words staff read for Amazon's charge types (an unknown type is shown as Amazon names it).
CHARGE_NAMES = {
    "GIFT_WRAP": "gift wrap",
    "COD_FEE": "cash-on-delivery fee",
    "OTHER": "other charge",
    "DELIVERY_TIP": "delivery tip",
}
#: Amazon ``programs`` staff need to see, in their words.
PROGRAM_NAMES = {
    "PRIME": "Prime",
    "PREMIUM": "Premium shipping",
    "AMAZON_BUSINESS": "Amazon Business",
    "IN_STORE_PICK_UP": "In-store pickup",
    "DELIVERY_BY_AMAZON": "Delivery by Amazon",
    "AMAZON_EASY_SHIP": "Easy Ship",
    "FBM_SHIP_PLUS": "FBM Ship+",
    "INVOICE_BY_AMAZON": "Invoice by Amazon",
    "PREORDER": "Pre-order",
    "AMAZON_BAZAAR": "Amazon Bazaar",
    "AMAZON_HAUL": "Amazon Haul",
}


class MappingError(ValueError):
    """The order cannot become a Commerce order; the message is a readable reason without buyer data."""


@dataclass(frozen=True)
class StoreRef:
    """The Commerce store view an order goes to (``currency`` is the store's base currency when known)."""

    store_id: int
    website_id: int
    code: str
    currency: str | None = None


@dataclass(frozen=True)
class ItemMoney:
    """The amounts of one Amazon order item, in its currency (discounts as positive magnitudes).

    ``handling``, ``handling_tax`` and ``handling_discount`` hold, by Amazon type (or
    detail subtype), the charges without a Magento total of their own.
    """

    currency: str
    unit_price: Decimal
    item_subtotal: Decimal
    item_tax: Decimal
    item_discount: Decimal
    shipping_price: Decimal
    shipping_tax: Decimal
    shipping_discount: Decimal
    proceeds_total: Decimal | None
    handling: dict[str, Decimal] = field(default_factory=dict)
    handling_tax: dict[str, Decimal] = field(default_factory=dict)
    handling_discount: dict[str, Decimal] = field(default_factory=dict)

    @property
    def row_total_due(self) -> Decimal:
        """What the buyer pays for this line: item + shipping + handling + taxes − discounts."""
        return (
            self.item_subtotal
            + self.shipping_price
            + self.item_tax
            + self.shipping_tax
            - self.item_discount
            - self.shipping_discount
            + sum(self.handling.values(), ZERO)
            + sum(self.handling_tax.values(), ZERO)
            - sum(self.handling_discount.values(), ZERO)
        )


def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount of ``currency`` (ISO 4217): 0.01, or 1 for JPY, 0.001 for KWD..."""
    return Decimal(1).scaleb(-MINOR_UNITS.get((currency or "").upper(), 2))


def quantize(value: Decimal, currency: str | None) -> Decimal:
    """``value`` in the minor unit of ``currency``, half-even."""
    return value.quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN)


def cents(value: Decimal) -> Decimal:
    """Quantize to cents, half-even (the channel tables' display columns)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _amount(money: Any, what: str) -> tuple[Decimal, str]:
    if not isinstance(money, dict) or "amount" not in money or "currencyCode" not in money:
        raise MappingError(f"{what} is missing or not a Money object")
    try:
        value = Decimal(str(money["amount"]))
    except InvalidOperation:
        raise MappingError(f"{what} is not a decimal amount: {money['amount']!r}") from None
    if not value.is_finite():
        raise MappingError(f"{what} is not a finite amount")
    currency = str(money["currencyCode"])
    return quantize(value, currency), currency


def _add(parts: dict[str, Decimal], key: str, value: Decimal) -> None:
    parts[key] = parts.get(key, ZERO) + value


def item_money(item: dict[str, Any]) -> ItemMoney | None:
    """The amounts of an order item, or None while Amazon withholds prices (unverified payment)."""
    proceeds = item.get("proceeds")
    price = ((item.get("product") or {}).get("price") or {}).get("unitPrice")
    if not proceeds and not price:
        return None
    item_id = item.get("orderItemId", "?")
    currencies: set[str] = set()
    parts = {
        "ITEM": ZERO,
        "SHIPPING": ZERO,
        "ITEM_TAX": ZERO,
        "SHIPPING_TAX": ZERO,
        "ITEM_DISC": ZERO,
        "SHIPPING_DISC": ZERO,
    }
    handling: dict[str, Decimal] = {}
    handling_tax: dict[str, Decimal] = {}
    handling_discount: dict[str, Decimal] = {}
    for breakdown in (proceeds or {}).get("breakdowns") or []:
        kind = str(breakdown.get("type") or "OTHER")
        value, currency = _amount(breakdown.get("subtotal"), f"item {item_id} {kind} proceeds")
        currencies.add(currency)
        if kind in ("ITEM", "SHIPPING"):
            parts[kind] += value
        elif kind in ("TAX", "DISCOUNT"):
            suffix = "_TAX" if kind == "TAX" else "_DISC"
            other = handling_tax if kind == "TAX" else handling_discount
            sign = 1 if kind == "TAX" else -1
            details = breakdown.get("detailedBreakdowns") or []
            detailed = ZERO
            for detail in details:
                part, currency = _amount(detail.get("value"), f"item {item_id} {kind} detail")
                currencies.add(currency)
                subtype = str(detail.get("subtype") or "ITEM")
                if subtype in ("ITEM", "DISCOUNT"):  # a tax on the item's discount is the item's tax
                    parts["ITEM" + suffix] += part
                elif subtype == "SHIPPING":
                    parts["SHIPPING" + suffix] += part
                else:
                    _add(other, subtype, sign * part)
                detailed += part
            if details and detailed != value:
                raise MappingError(
                    f"item {item_id}: {kind} details ({detailed}) do not add up to its subtotal ({value})"
                )
            if not details:
                parts["ITEM" + suffix] += value
        elif value:
            _add(handling, kind, value)
    unit, unit_currency = _amount(price, f"item {item_id} unit price") if price else (None, None)
    if unit_currency:
        currencies.add(unit_currency)
    total = None
    if proceeds and proceeds.get("proceedsTotal"):
        total, currency = _amount(proceeds["proceedsTotal"], f"item {item_id} proceeds total")
        currencies.add(currency)
    if len(currencies) > 1:
        raise MappingError(f"item {item_id} mixes currencies {', '.join(sorted(currencies))}")
    currency = currencies.pop() if currencies else ""
    quantity = item.get("quantityOrdered") or 0
    if unit is None:
        unit = quantize(parts["ITEM"] / quantity, currency) if quantity else ZERO
    if not parts["ITEM"] and unit and quantity:
        parts["ITEM"] = quantize(unit * quantity, currency)
    return ItemMoney(
        currency=currency,
        unit_price=unit,
        item_subtotal=parts["ITEM"],
        item_tax=parts["ITEM_TAX"],
        item_discount=-parts["ITEM_DISC"],
        shipping_price=parts["SHIPPING"],
        shipping_tax=parts["SHIPPING_TAX"],
        shipping_discount=-parts["SHIPPING_DISC"],
        proceeds_total=total,
        handling=handling,
        handling_tax=handling_tax,
        handling_discount=handling_discount,
    )


def order_level_charges(order: dict[str, Any], items: list[ItemMoney]) -> dict[str, Decimal]:
    """Charges of the order not attributed to any item (``DELIVERY_TIP``...), by type.

    Amazon's order breakdowns sum the items' categories and add order-level ones;
    whatever an order category holds beyond its items' sum belongs to the order.
    """
    found: dict[str, Decimal] = {}
    for breakdown in (order.get("proceeds") or {}).get("breakdowns") or []:
        kind = str(breakdown.get("type") or "OTHER")
        value, _ = _amount(breakdown.get("subtotal"), f"order {kind} proceeds")
        _add(found, kind, value)
    by_items: dict[str, Decimal] = {}
    for money in items:
        _add(by_items, "ITEM", money.item_subtotal)
        _add(by_items, "SHIPPING", money.shipping_price)
        _add(by_items, "TAX", money.item_tax + money.shipping_tax + sum(money.handling_tax.values(), ZERO))
        _add(by_items, "DISCOUNT", -(money.item_discount + money.shipping_discount))
        _add(by_items, "DISCOUNT", -sum(money.handling_discount.values(), ZERO))
        for kind, value in money.handling.items():
            _add(by_items, kind, value)
    return {
        kind: value - by_items.get(kind, ZERO) for kind, value in found.items() if value != by_items.get(kind, ZERO)
    }


def _order_charges(order: dict[str, Any], items: list[ItemMoney], amazon_total: Decimal) -> dict[str, Decimal]:
    """The order-level charges that, with the items, make Amazon's grand total: every category's remainder, else
    only the categories without an item counterpart (``DELIVERY_TIP``...), else none (the grand total then decides)."""
    remainders = order_level_charges(order, items)
    items_total = sum((money.row_total_due for money in items), ZERO)
    candidates = [remainders, {k: v for k, v in remainders.items() if k not in NATIVE_CHARGES}]
    for charges in candidates:
        if items_total + sum(charges.values(), ZERO) == amazon_total:
            return charges
    return {}


def charge_name(kind: str) -> str:
    """A charge type in staff's words."""
    return CHARGE_NAMES.get(kind, kind.replace("_", " ").lower())


def split_name(full_name: str | None) -> tuple[str, str]:
    """First and last name from a full name: the last word is the last name ("-" for a single word)."""
    words = (full_name or "").split()
    if not words:
        raise MappingError("the order has no buyer or recipient name")
    if len(words) == 1:
        return words[0], "-"
    return " ".join(words[:-1]), words[-1]


def buyer_email(order: dict[str, Any]) -> str | None:
    """The buyer's (Amazon-anonymised) e-mail, or None when Amazon gave none."""
    email = ((order.get("buyer") or {}).get("buyerEmail") or "").strip()
    return email or None


def has_buyer_email(order: dict[str, Any]) -> bool:
    """Whether a Commerce customer account can be created or found for this order."""
    return buyer_email(order) is not None


def placeholder_email(order: dict[str, Any]) -> str:
    """The undeliverable e-mail a guest order without buyer e-mail carries."""
    return f"{order['orderId'].lower()}@{PLACEHOLDER_EMAIL_DOMAIN}"


def _buyer_name(order: dict[str, Any]) -> tuple[str, str]:
    name = (order.get("buyer") or {}).get("buyerName")
    if not (name or "").strip():
        name = ((order.get("recipient") or {}).get("deliveryAddress") or {}).get("name")
    return split_name(name)


def store_code_for_order(order: dict[str, Any], settings: OrderSettings) -> str:
    """The Commerce store view code for the order's marketplace (MappingError when unmapped)."""
    marketplace = (order.get("salesChannel") or {}).get("marketplaceId")
    if not marketplace:
        raise MappingError("the order has no marketplace id")
    code = settings.store_code_for(marketplace)
    if code is None:
        raise MappingError(f"marketplace {marketplace} has no Commerce store in store_by_marketplace")
    return code


def _delivery_address(order: dict[str, Any]) -> dict[str, Any] | None:
    address = (order.get("recipient") or {}).get("deliveryAddress")
    return address or None


def is_fulfilled_by_amazon(order: dict[str, Any]) -> bool:
    """Whether Amazon fulfils the order (FBA)."""
    return (order.get("fulfillment") or {}).get("fulfilledBy") == "AMAZON"


def _address_complete(address: dict[str, Any] | None) -> bool:
    return bool(address) and all((address.get(k) or "").strip() for k in ("addressLine1", "city", "countryCode"))


def needs_placeholder_address(order: dict[str, Any], settings: OrderSettings) -> bool:
    """An FBA order whose delivery address Amazon withholds, imported with a placeholder (when the settings say so)."""
    return (
        settings.fba_placeholder_address
        and is_fulfilled_by_amazon(order)
        and not _address_complete(_delivery_address(order))
    )


def placeholder_address(order: dict[str, Any], kind: str, email: str) -> dict[str, Any]:
    """A ``sales-data-order-address-interface`` marked as a placeholder, keeping what Amazon did give (city, region,
    postal code, country), with the marketplace's country when Amazon gave none."""
    given = _delivery_address(order) or {}
    marketplace = (order.get("salesChannel") or {}).get("marketplaceId") or ""
    known = MARKETPLACES.get(marketplace)
    country = (given.get("countryCode") or "").strip().upper() or (known.iso_country if known else None)
    if not country:
        raise MappingError(f"Amazon withheld the address and marketplace {marketplace or '?'} has no known country")
    result: dict[str, Any] = {
        "address_type": kind,
        "firstname": "Amazon",
        "lastname": "FBA customer",
        "street": [PLACEHOLDER_MARK],
        "city": (given.get("city") or "").strip() or PLACEHOLDER_MARK,
        "postcode": (given.get("postalCode") or "").strip() or "-",
        "country_id": country,
        "telephone": PLACEHOLDER_TELEPHONE,
        "email": email,
    }
    region = (given.get("stateOrRegion") or "").strip()
    if region:
        result["region"] = region
        result["region_code"] = region
    return result


def _order_address(address: dict[str, Any], kind: str, email: str, fallback_name: tuple[str, str]) -> dict[str, Any]:
    missing = [key for key in ("addressLine1", "city", "countryCode") if not (address.get(key) or "").strip()]
    if missing:
        raise MappingError(f"the delivery address lacks {', '.join(missing)}")
    first, last = split_name(address["name"]) if (address.get("name") or "").strip() else fallback_name
    street = [
        address[k].strip() for k in ("addressLine1", "addressLine2", "addressLine3") if (address.get(k) or "").strip()
    ]
    result: dict[str, Any] = {
        "address_type": kind,
        "firstname": first,
        "lastname": last,
        "street": street,
        "city": address["city"].strip(),
        "postcode": (address.get("postalCode") or "").strip() or "-",
        "country_id": address["countryCode"].strip().upper(),
        "telephone": (address.get("phone") or "").strip() or PLACEHOLDER_TELEPHONE,
        "email": email,
    }
    region = (address.get("stateOrRegion") or "").strip()
    if region:
        result["region"] = region
        result["region_code"] = region
    if (address.get("companyName") or "").strip():
        result["company"] = address["companyName"].strip()
    return result


def buyer_tax_registration(order: dict[str, Any]) -> tuple[str, str] | None:
    """The buyer's tax registration (type, number) where Amazon sends one (business orders), else None."""
    for registration in (order.get("tax") or {}).get("taxRegistrations") or []:
        number = (registration.get("taxRegistrationNumber") or "").strip()
        if registration.get("entityType") == "BUYER" and number:
            return (registration.get("taxRegistrationType") or "tax").strip(), number
    return None


def to_commerce_customer(order: dict[str, Any], *, website_id: int, store_id: int) -> dict[str, Any]:
    """A ``customer-data-customer-interface`` for the buyer (name from the buyer, address from the delivery address)."""
    email = buyer_email(order)
    if email is None:
        raise MappingError(
            "the order has no buyer e-mail, so no customer account can be created (import it as a guest)"
        )
    first, last = _buyer_name(order)
    customer: dict[str, Any] = {
        "email": email,
        "firstname": first,
        "lastname": last,
        "website_id": website_id,
        "store_id": store_id,
        "group_id": GENERAL_GROUP_ID,
    }
    address = _delivery_address(order)
    if address:
        try:
            mapped = _order_address(address, "shipping", email, (first, last))
        except MappingError:
            return customer  # an incomplete address is not worth refusing the account over
        entry: dict[str, Any] = {
            key: mapped[key]
            for key in ("firstname", "lastname", "street", "city", "postcode", "telephone", "company")
            if key in mapped
        }
        entry["country_id"] = mapped["country_id"]
        if "region" in mapped:
            # region_id 0: no directory region id is known here; Commerce then keeps the region text.
            entry["region"] = {"region": mapped["region"], "region_code": mapped["region_code"], "region_id": 0}
        entry["default_billing"] = True
        entry["default_shipping"] = True
        customer["addresses"] = [entry]
    return customer


def _num(value: Decimal, currency: str) -> float:
    """An amount as a JSON number in the currency's minor unit (floats print such values exactly: ``repr`` round-trips)."""
    return float(quantize(value, currency))


def _magento_time(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _window(window: Any) -> str | None:
    if not isinstance(window, dict):
        return None
    start, end = _magento_time(window.get("earliestDateTime")), _magento_time(window.get("latestDateTime"))
    if start and end:
        return f"{start} – {end} UTC"
    if end:
        return f"{end} UTC"
    if start:
        return f"(window from {start}) UTC"
    return None


def gift_options(item: dict[str, Any]) -> tuple[str | None, str | None]:
    """The item's gift message and gift wrap level (``fulfillment.packing.giftOption``), each None when absent."""
    option = (((item.get("fulfillment") or {}).get("packing") or {}).get("giftOption")) or {}
    message = (option.get("giftMessage") or "").strip() or None
    level = (option.get("giftWrapLevel") or "").strip() or None
    return message, level


def _gift_message(message: str, sender: str, recipient: str) -> dict[str, Any]:
    """A ``gift-message-data-message-interface`` (Magento requires sender and recipient; Amazon gives the text)."""
    return {"sender": sender, "recipient": recipient, "message": message}


def is_prime(order: dict[str, Any]) -> bool:
    """Whether the order is a Prime order."""
    return "PRIME" in (order.get("programs") or [])


def shipping_method(order: dict[str, Any], settings: OrderSettings) -> str:
    """The Commerce shipping method for the order (``settings.shipping_methods``)."""
    fulfillment = order.get("fulfillment") or {}
    marketplace = (order.get("salesChannel") or {}).get("marketplaceId")
    return settings.shipping_method_for(marketplace, fulfillment.get("fulfillmentServiceLevel"), is_prime(order))


def _money_text(value: Decimal, currency: str) -> str:
    return f"{quantize(value, currency)} {currency}"


def order_facts(
    order: dict[str, Any],
    *,
    method: str,
    handling: dict[str, Decimal],
    currency: str,
    placeholder: bool,
) -> list[str]:
    """What staff need to know about the order, one line each, for its status-history comment (no buyer data:
    no names, e-mails, addresses or companies; those are in the order's own fields)."""
    amazon_id = order["orderId"]
    channel = order.get("salesChannel") or {}
    fulfillment = order.get("fulfillment") or {}
    by = "Fulfilled by Amazon" if is_fulfilled_by_amazon(order) else "Merchant fulfilled"
    level = (fulfillment.get("fulfillmentServiceLevel") or "STANDARD").replace("_", " ").title()
    marketplace = channel.get("marketplaceName") or channel.get("marketplaceId") or "?"
    lines = [f"Amazon order {amazon_id} ({marketplace}), {by}, service level {level}, shipping method {method}."]
    programs = [PROGRAM_NAMES.get(p, p.replace("_", " ").title()) for p in order.get("programs") or []]
    if programs:
        lines.append(f"Amazon programs: {', '.join(programs)}.")
    aliases = [
        f"{'seller order id' if a.get('aliasType') == 'SELLER_ORDER_ID' else (a.get('aliasType') or 'alias')} "
        f"{a['aliasId']}"
        for a in order.get("orderAliases") or []
        if a.get("aliasId")
    ]
    if aliases:
        lines.append(f"Amazon order aliases: {', '.join(aliases)}.")
    for associated in order.get("associatedOrders") or []:
        kind = associated.get("associationType") or ""
        if associated.get("orderId"):
            what = {"REPLACEMENT_ORIGINAL_ID": "Replacement", "EXCHANGE_ORIGINAL_ID": "Exchange"}.get(kind)
            text = f"{what} for Amazon order" if what else f"Related Amazon order ({kind or 'unspecified'}):"
            lines.append(f"{text} {associated['orderId']}.")
    windows = [
        f"{label} {text}"
        for label, key in (("ship by", "shipByWindow"), ("deliver by", "deliverByWindow"))
        if (text := _window(fulfillment.get(key)))
    ]
    if windows:
        lines.append(f"Amazon promise: {'; '.join(windows)}.")
    buyer = order.get("buyer") or {}
    business = []
    if (buyer.get("buyerPurchaseOrderNumber") or "").strip():
        business.append(f"purchase order number {buyer['buyerPurchaseOrderNumber'].strip()} (also on the payment)")
    if (buyer.get("buyerCompanyName") or "").strip():
        business.append("buyer company in the billing address")
    registration = buyer_tax_registration(order)
    if registration:
        business.append(f"buyer {registration[0]} registration in the order's VAT number")
    if business or "AMAZON_BUSINESS" in (order.get("programs") or []):
        lines.append(f"Business order: {'; '.join(business) or 'no purchase order number'}.")
    if handling:
        listed = ", ".join(f"{charge_name(kind)} {_money_text(value, currency)}" for kind, value in handling.items())
        lines.append(f"Amazon charges included in Shipping & Handling: {listed}.")
    tip = [
        b.get("status")
        for b in (order.get("proceeds") or {}).get("breakdowns") or []
        if b.get("type") == "DELIVERY_TIP" and b.get("status")
    ]
    if tip:
        lines.append(f"Delivery tip status on Amazon: {', '.join(tip)}.")
    wraps = sorted({level for item in order.get("orderItems") or [] if (level := gift_options(item)[1])})
    gifts = sum(1 for item in order.get("orderItems") or [] if gift_options(item)[0])
    if gifts or wraps:
        lines.append(
            f"Gift order: {gifts} item(s) with a gift message (on the items)"
            + (f", gift wrap {', '.join(wraps)}" if wraps else "")
            + "."
        )
    if placeholder:
        lines.append(
            "Amazon withheld the buyer and the delivery address (Fulfilled by Amazon): "
            "the addresses are placeholders and the order is a guest order."
        )
    return lines


def to_commerce_order(
    order: dict[str, Any],
    *,
    store: StoreRef,
    settings: OrderSettings,
    customer_id: int | None,
    increment_id: str | None,
) -> dict[str, Any]:
    """The ``entity`` for ``PUT /V1/orders/create`` (``sales-data-order-interface``) for one Amazon order.

    ``increment_id``: the Commerce order number to use; None lets Commerce assign one, unless
    ``settings.order_number_source == "amazon"``, which uses the Amazon order id.
    ``customer_id``: the Commerce customer, or None for a guest order.
    """
    amazon_id = order.get("orderId")
    if not amazon_id:
        raise MappingError("the order has no orderId")
    code = store_code_for_order(order, settings)
    if code != store.code:
        raise MappingError(f"the order belongs to store {code}, not {store.code}")
    items = order.get("orderItems") or []
    if not items:
        raise MappingError("the order has no items")
    fulfilled_by = (order.get("fulfillment") or {}).get("fulfilledBy") or "MERCHANT"
    proceeds = order.get("proceeds") or {}
    if not proceeds.get("grandTotal"):
        raise MappingError("Amazon has not released the order's prices yet (payment not verified)")
    amazon_total, currency = _amount(proceeds["grandTotal"], "order grand total")
    if store.currency and store.currency != currency:
        raise MappingError(f"order currency {currency} does not match store {store.code} currency {store.currency}")

    def num(value: Decimal) -> float:
        return _num(value, currency)

    first, last = _buyer_name_or_placeholder(order, settings)
    address = _delivery_address(order)
    recipient_name = " ".join(((address or {}).get("name") or "").split()) or f"{first} {last}"
    entity_items: list[dict[str, Any]] = []
    monies: list[ItemMoney] = []
    subtotal = shipping = item_tax = shipping_tax = item_discount = shipping_discount = ZERO
    handling: dict[str, Decimal] = {}
    qty_total = 0
    gift_texts: list[str] = []
    for item in items:
        item_id = item.get("orderItemId", "?")
        sku = ((item.get("product") or {}).get("sellerSku") or "").strip()
        if not sku:
            raise MappingError(f"item {item_id} has no seller SKU")
        quantity = item.get("quantityOrdered")
        if not isinstance(quantity, int) or quantity <= 0:
            raise MappingError(f"item {item_id} (SKU {sku}) has an invalid quantity {quantity!r}")
        money = item_money(item)
        if money is None:
            raise MappingError(f"item {item_id} (SKU {sku}) has no price yet")
        if money.currency != currency:
            raise MappingError(f"item {item_id} is in {money.currency}, the order in {currency}")
        if money.proceeds_total is not None and money.proceeds_total != money.row_total_due:
            raise MappingError(
                f"item {item_id} proceeds total {money.proceeds_total} does not equal its breakdowns {money.row_total_due}"
            )
        monies.append(money)
        subtotal += money.item_subtotal
        shipping += money.shipping_price
        item_tax += money.item_tax
        shipping_tax += money.shipping_tax
        item_discount += money.item_discount
        shipping_discount += money.shipping_discount
        for kind, value in money.handling.items():
            _add(handling, kind, value)
        for kind, value in money.handling_tax.items():
            _add(handling, f"TAX_{kind}", value)
        for kind, value in money.handling_discount.items():
            _add(handling, f"DISCOUNT_{kind}", -value)
        qty_total += quantity
        taxable = money.item_subtotal - money.item_discount
        unit_tax = money.item_tax / quantity
        line: dict[str, Any] = {
            "sku": sku,
            "name": (item.get("product") or {}).get("title") or sku,
            "product_type": "simple",
            "ext_order_item_id": str(item_id),
            "store_id": store.store_id,
            "qty_ordered": quantity,
            "price": num(money.unit_price),
            "base_price": num(money.unit_price),
            "original_price": num(money.unit_price),
            "base_original_price": num(money.unit_price),
            "price_incl_tax": num(money.unit_price + unit_tax),
            "base_price_incl_tax": num(money.unit_price + unit_tax),
            "row_total": num(money.item_subtotal),
            "base_row_total": num(money.item_subtotal),
            "row_total_incl_tax": num(money.item_subtotal + money.item_tax),
            "base_row_total_incl_tax": num(money.item_subtotal + money.item_tax),
            "tax_amount": num(money.item_tax),
            "base_tax_amount": num(money.item_tax),
            "tax_percent": float((money.item_tax * 100 / taxable).quantize(Decimal("0.0001"))) if taxable > 0 else 0.0,
            "discount_amount": num(money.item_discount),
            "base_discount_amount": num(money.item_discount),
            "is_virtual": 0,
        }
        promotions = [
            p.get("promotionId")
            for p in ((item.get("promotion") or {}).get("breakdowns") or [])
            if p.get("promotionId")
        ]
        if promotions:
            line["applied_rule_ids"] = ",".join(promotions)
        message, _ = gift_options(item)
        if message:
            gift_texts.append(message)
            line["extension_attributes"] = {"gift_message": _gift_message(message, f"{first} {last}", recipient_name)}
        entity_items.append(line)

    for kind, value in _order_charges(order, monies, amazon_total).items():
        if kind == "TAX":
            _add(handling, "TAX_ORDER", value)
        elif kind == "DISCOUNT":
            _add(handling, "DISCOUNT_ORDER", value)
        else:
            _add(handling, kind, value)
    handling_charge = sum((v for k, v in handling.items() if not k.startswith(("TAX_", "DISCOUNT_"))), ZERO)
    handling_tax = sum((v for k, v in handling.items() if k.startswith("TAX_")), ZERO)
    handling_discount = -sum((v for k, v in handling.items() if k.startswith("DISCOUNT_")), ZERO)
    shipping += handling_charge
    shipping_tax += handling_tax
    shipping_discount += handling_discount
    tax = item_tax + shipping_tax
    discount = -(item_discount + shipping_discount)
    grand_total = subtotal + shipping + tax + discount
    if grand_total != amazon_total:
        raise MappingError(
            f"Commerce total {grand_total} would differ from Amazon's order total {amazon_total} {currency}"
        )

    email = buyer_email(order)
    if customer_id is None:
        email = email or placeholder_email(order)
    elif email is None:
        raise MappingError(
            "the order has no buyer e-mail, so it cannot belong to a customer account (import it as a guest)"
        )
    placeholder = needs_placeholder_address(order, settings)
    if placeholder:
        if customer_id is not None:
            raise MappingError("an order with a placeholder address cannot belong to a customer account")
        shipping_address = placeholder_address(order, "shipping", email)
    elif address is None:
        raise MappingError("the order has no delivery address")
    else:
        shipping_address = _order_address(address, "shipping", email, (first, last))
    billing_address = {**shipping_address, "address_type": "billing"}
    buyer = order.get("buyer") or {}
    company = (buyer.get("buyerCompanyName") or "").strip()
    if company:
        billing_address["company"] = company
    registration = buyer_tax_registration(order)
    if registration:
        billing_address["vat_id"] = registration[1]
    method = shipping_method(order, settings)
    channel = (order.get("salesChannel") or {}).get("marketplaceName") or (order.get("salesChannel") or {}).get(
        "marketplaceId"
    )
    by = "Fulfilled by Amazon" if fulfilled_by == "AMAZON" else "Merchant fulfilled"
    level = ((order.get("fulfillment") or {}).get("fulfillmentServiceLevel") or "STANDARD").replace("_", " ").title()
    description = f"Amazon {level} ({'Prime, ' if is_prime(order) else ''}{by})"
    if handling_charge:
        description += " + " + ", ".join(charge_name(k) for k in handling if not k.startswith(("TAX_", "DISCOUNT_")))
    shipping_total = {
        "shipping_amount": num(shipping),
        "base_shipping_amount": num(shipping),
        "shipping_tax_amount": num(shipping_tax),
        "base_shipping_tax_amount": num(shipping_tax),
        "shipping_incl_tax": num(shipping + shipping_tax),
        "base_shipping_incl_tax": num(shipping + shipping_tax),
        "shipping_discount_amount": num(shipping_discount),
        "base_shipping_discount_amount": num(shipping_discount),
    }
    base_currency = store.currency or currency
    facts = order_facts(
        order,
        method=method,
        handling={_handling_label(k): v for k, v in handling.items()},
        currency=currency,
        placeholder=placeholder,
    )
    payment: dict[str, Any] = {
        "method": settings.payment_method,
        "account_status": "",
        "cc_last4": "",
        "amount_ordered": num(grand_total),
        "base_amount_ordered": num(grand_total),
        "additional_information": [f"Amazon order {amazon_id}", f"Marketplace {channel}", by],
    }
    po_number = (buyer.get("buyerPurchaseOrderNumber") or "").strip()
    if po_number:
        payment["po_number"] = po_number
    entity: dict[str, Any] = {
        "ext_order_id": amazon_id,
        "store_id": store.store_id,
        "state": "new",
        "status": "pending",
        "order_currency_code": currency,
        "base_currency_code": base_currency,
        "global_currency_code": base_currency,
        "store_currency_code": base_currency,
        "base_to_global_rate": 1,
        "base_to_order_rate": 1,
        "store_to_base_rate": 1,
        "store_to_order_rate": 1,
        "customer_email": email,
        "customer_firstname": first,
        "customer_lastname": last,
        "customer_is_guest": 1 if customer_id is None else 0,
        "customer_group_id": GUEST_GROUP_ID if customer_id is None else GENERAL_GROUP_ID,
        "customer_note_notify": 0,
        "subtotal": num(subtotal),
        "base_subtotal": num(subtotal),
        "subtotal_incl_tax": num(subtotal + item_tax),
        "base_subtotal_incl_tax": num(subtotal + item_tax),
        "tax_amount": num(tax),
        "base_tax_amount": num(tax),
        "discount_amount": num(discount),
        "base_discount_amount": num(discount),
        "grand_total": num(grand_total),
        "base_grand_total": num(grand_total),
        "total_qty_ordered": qty_total,
        "total_item_count": len(entity_items),
        "is_virtual": 0,
        "shipping_description": description,
        **shipping_total,
        "items": entity_items,
        "billing_address": billing_address,
        "payment": payment,
        "status_histories": [
            {
                "comment": "\n".join(facts),
                "status": "pending",
                "is_customer_notified": 0,
                "is_visible_on_front": 0,
                "parent_id": 0,
                "entity_name": "order",
            }
        ],
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {"address": shipping_address, "method": method, "total": shipping_total},
                    "items": entity_items,
                }
            ]
        },
    }
    if registration:
        entity["customer_taxvat"] = registration[1]
    if len(set(gift_texts)) == 1:
        entity["extension_attributes"]["gift_message"] = _gift_message(gift_texts[0], f"{first} {last}", recipient_name)
    created = _magento_time(order.get("createdTime"))
    if created:
        entity["created_at"] = created
    if discount:
        promotions = sorted(
            {rule for line in entity_items for rule in (line.get("applied_rule_ids") or "").split(",") if rule}
        )
        entity["discount_description"] = ", ".join(promotions) or "Amazon promotion"
    if customer_id is not None:
        entity["customer_id"] = customer_id
    number = increment_id or (amazon_id if settings.order_number_source == "amazon" else None)
    if number:
        entity["increment_id"] = number
    return entity


def _handling_label(key: str) -> str:
    """``TAX_GIFT_WRAP`` -> ``TAX on GIFT_WRAP`` (read as "tax on gift wrap"); charge types stay as they are."""
    if key in ("TAX_ORDER", "DISCOUNT_ORDER"):
        return f"ORDER_LEVEL_{key.split('_')[0]}"
    if key.startswith("TAX_"):
        return "TAX on " + key[4:]
    if key.startswith("DISCOUNT_"):
        return "DISCOUNT on " + key[9:]
    return key


def _buyer_name_or_placeholder(order: dict[str, Any], settings: OrderSettings) -> tuple[str, str]:
    """The buyer's first and last name; a placeholder name for an FBA order Amazon withholds the buyer of."""
    try:
        return _buyer_name(order)
    except MappingError:
        if needs_placeholder_address(order, settings):
            return "Amazon", "FBA customer"
        raise
