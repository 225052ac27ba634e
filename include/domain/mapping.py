"""Amazon Orders API v2026-01-01 ``Order`` → Adobe Commerce REST payloads (pure functions).

Where the money lives in a v2026 order (``specs/sp-api/orders_2026-01-01.json``):

* ``orderItems[].product.price.unitPrice`` — the unit price (``ItemPrice``);
* ``orderItems[].proceeds.breakdowns[]`` (``ItemProceedsBreakdown``) by ``type``:
  ``ITEM`` (unit price × quantity), ``SHIPPING``, ``TAX`` and ``DISCOUNT``
  (negative), the last two split by ``detailedBreakdowns[].subtype`` into the
  ``ITEM`` and ``SHIPPING`` parts; ``proceedsTotal`` is their sum;
* ``proceeds.grandTotal`` (``OrderProceeds``) — the order total, the sum of the
  items' ``proceedsTotal``;
* ``orderItems[].promotion.breakdowns[].promotionId`` — which promotions applied.

All arithmetic uses ``Decimal``; amounts are quantized to cents with
ROUND_HALF_EVEN (Amazon's amounts already are cents, so nothing is lost). The
entity follows Magento's sign conventions: item ``discount_amount`` is
positive, order ``discount_amount`` negative, so
``grand_total = subtotal + shipping_amount + tax_amount + discount_amount``
equals Amazon's ``grandTotal`` exactly — checked here, a mismatch is a
:class:`MappingError` rather than a wrong Commerce order.

Placeholders, where Commerce requires a value Amazon does not give:

* e-mail: guest orders without ``buyer.buyerEmail`` (every FBA order: the spec
  returns it for merchant-fulfilled orders only) get
  ``<amazon-order-id>@marketplace.amazon.invalid`` — the ``.invalid`` TLD
  (RFC 2606) can never receive mail, so Commerce can never e-mail the buyer.
  A customer *account* needs a real e-mail: :func:`to_commerce_customer` refuses
  without one and the importer imports such orders as guests
  (:func:`has_buyer_email`).
* telephone: ``"N/A"`` when Amazon suppressed the phone number (FBA orders,
  old shipped orders); a single-word name gets ``"-"`` as last name.
* billing address: Amazon has no billing address; the delivery address is used.

:class:`MappingError` messages never contain buyer data (names, e-mails,
addresses): they are logged and shown in the quarantine view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from include.domain.settings import OrderSettings

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PLACEHOLDER_EMAIL_DOMAIN = "marketplace.amazon.invalid"
PLACEHOLDER_TELEPHONE = "N/A"
#: Proceeds categories that have no Commerce counterpart here: an order carrying them is refused, not mis-totalled.
UNSUPPORTED_CHARGES = ("GIFT_WRAP", "COD_FEE", "OTHER")
GUEST_GROUP_ID = 0
GENERAL_GROUP_ID = 1


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
    """The amounts of one Amazon order item, in its currency (discounts as positive magnitudes)."""

    currency: str
    unit_price: Decimal
    item_subtotal: Decimal
    item_tax: Decimal
    item_discount: Decimal
    shipping_price: Decimal
    shipping_tax: Decimal
    shipping_discount: Decimal
    proceeds_total: Decimal | None

    @property
    def row_total_due(self) -> Decimal:
        """What the buyer pays for this line: item + shipping + taxes − discounts."""
        return (
            self.item_subtotal
            + self.shipping_price
            + self.item_tax
            + self.shipping_tax
            - self.item_discount
            - self.shipping_discount
        )


def cents(value: Decimal) -> Decimal:
    """Quantize to cents, half-even."""
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
    return cents(value), str(money["currencyCode"])


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
    for breakdown in (proceeds or {}).get("breakdowns") or []:
        kind = breakdown.get("type")
        value, currency = _amount(breakdown.get("subtotal"), f"item {item_id} {kind} proceeds")
        currencies.add(currency)
        if kind in ("ITEM", "SHIPPING"):
            parts[kind] += value
        elif kind in ("TAX", "DISCOUNT"):
            suffix = "_TAX" if kind == "TAX" else "_DISC"
            details = breakdown.get("detailedBreakdowns") or []
            detailed = ZERO
            for detail in details:
                part, currency = _amount(detail.get("value"), f"item {item_id} {kind} detail")
                currencies.add(currency)
                target = "SHIPPING" if detail.get("subtype") == "SHIPPING" else "ITEM"
                parts[target + suffix] += part
                detailed += part
            if details and detailed != value:
                raise MappingError(
                    f"item {item_id}: {kind} details ({detailed}) do not add up to its subtotal ({value})"
                )
            if not details:
                parts["ITEM" + suffix] += value
        elif value:
            raise MappingError(f"item {item_id} carries a {kind} charge, which this pipeline cannot map to Commerce")
    unit, unit_currency = _amount(price, f"item {item_id} unit price") if price else (None, None)
    if unit_currency:
        currencies.add(unit_currency)
    total = None
    if proceeds and proceeds.get("proceedsTotal"):
        total, currency = _amount(proceeds["proceedsTotal"], f"item {item_id} proceeds total")
        currencies.add(currency)
    if len(currencies) > 1:
        raise MappingError(f"item {item_id} mixes currencies {', '.join(sorted(currencies))}")
    quantity = item.get("quantityOrdered") or 0
    if unit is None:
        unit = cents(parts["ITEM"] / quantity) if quantity else ZERO
    if not parts["ITEM"] and unit and quantity:
        parts["ITEM"] = cents(unit * quantity)
    return ItemMoney(
        currency=currencies.pop() if currencies else "",
        unit_price=unit,
        item_subtotal=parts["ITEM"],
        item_tax=parts["ITEM_TAX"],
        item_discount=-parts["ITEM_DISC"],
        shipping_price=parts["SHIPPING"],
        shipping_tax=parts["SHIPPING_TAX"],
        shipping_discount=-parts["SHIPPING_DISC"],
        proceeds_total=total,
    )


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


def _num(value: Decimal) -> float:
    """A cent amount as a JSON number (floats print two-decimal values exactly: ``repr`` round-trips)."""
    return float(cents(value))


def _magento_time(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


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
    fulfillment = order.get("fulfillment") or {}
    fulfilled_by = fulfillment.get("fulfilledBy") or "MERCHANT"
    proceeds = order.get("proceeds") or {}
    if not proceeds.get("grandTotal"):
        raise MappingError("Amazon has not released the order's prices yet (payment not verified)")
    amazon_total, currency = _amount(proceeds["grandTotal"], "order grand total")
    if store.currency and store.currency != currency:
        raise MappingError(f"order currency {currency} does not match store {store.code} currency {store.currency}")

    entity_items: list[dict[str, Any]] = []
    subtotal = shipping = item_tax = shipping_tax = item_discount = shipping_discount = ZERO
    qty_total = 0
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
        subtotal += money.item_subtotal
        shipping += money.shipping_price
        item_tax += money.item_tax
        shipping_tax += money.shipping_tax
        item_discount += money.item_discount
        shipping_discount += money.shipping_discount
        qty_total += quantity
        taxable = money.item_subtotal - money.item_discount
        line: dict[str, Any] = {
            "sku": sku,
            "name": (item.get("product") or {}).get("title") or sku,
            "product_type": "simple",
            "ext_order_item_id": str(item_id),
            "store_id": store.store_id,
            "qty_ordered": quantity,
            "price": _num(money.unit_price),
            "base_price": _num(money.unit_price),
            "original_price": _num(money.unit_price),
            "base_original_price": _num(money.unit_price),
            "price_incl_tax": _num(money.unit_price + money.item_tax / quantity),
            "base_price_incl_tax": _num(money.unit_price + money.item_tax / quantity),
            "row_total": _num(money.item_subtotal),
            "base_row_total": _num(money.item_subtotal),
            "row_total_incl_tax": _num(money.item_subtotal + money.item_tax),
            "base_row_total_incl_tax": _num(money.item_subtotal + money.item_tax),
            "tax_amount": _num(money.item_tax),
            "base_tax_amount": _num(money.item_tax),
            "tax_percent": float((money.item_tax * 100 / taxable).quantize(Decimal("0.0001"))) if taxable > 0 else 0.0,
            "discount_amount": _num(money.item_discount),
            "base_discount_amount": _num(money.item_discount),
            "is_virtual": 0,
        }
        promotions = [
            p.get("promotionId")
            for p in ((item.get("promotion") or {}).get("breakdowns") or [])
            if p.get("promotionId")
        ]
        if promotions:
            line["applied_rule_ids"] = ",".join(promotions)
        entity_items.append(line)

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
    first, last = _buyer_name(order)
    address = _delivery_address(order)
    if address is None:
        raise MappingError("the order has no delivery address")
    shipping_address = _order_address(address, "shipping", email, (first, last))
    billing_address = {**shipping_address, "address_type": "billing"}
    level = (fulfillment.get("fulfillmentServiceLevel") or "STANDARD").lower()
    channel = (order.get("salesChannel") or {}).get("marketplaceName") or (order.get("salesChannel") or {}).get(
        "marketplaceId"
    )
    by = "Fulfilled by Amazon" if fulfilled_by == "AMAZON" else "Merchant fulfilled"
    shipping_total = {
        "shipping_amount": _num(shipping),
        "base_shipping_amount": _num(shipping),
        "shipping_tax_amount": _num(shipping_tax),
        "base_shipping_tax_amount": _num(shipping_tax),
        "shipping_incl_tax": _num(shipping + shipping_tax),
        "base_shipping_incl_tax": _num(shipping + shipping_tax),
        "shipping_discount_amount": _num(shipping_discount),
        "base_shipping_discount_amount": _num(shipping_discount),
    }
    base_currency = store.currency or currency
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
        "subtotal": _num(subtotal),
        "base_subtotal": _num(subtotal),
        "subtotal_incl_tax": _num(subtotal + item_tax),
        "base_subtotal_incl_tax": _num(subtotal + item_tax),
        "tax_amount": _num(tax),
        "base_tax_amount": _num(tax),
        "discount_amount": _num(discount),
        "base_discount_amount": _num(discount),
        "grand_total": _num(grand_total),
        "base_grand_total": _num(grand_total),
        "total_qty_ordered": qty_total,
        "total_item_count": len(entity_items),
        "is_virtual": 0,
        "shipping_description": f"Amazon {level.replace('_', ' ').title()} ({by})",
        **shipping_total,
        "items": entity_items,
        "billing_address": billing_address,
        "payment": {
            "method": settings.payment_method,
            "account_status": "",
            "cc_last4": "",
            "amount_ordered": _num(grand_total),
            "base_amount_ordered": _num(grand_total),
            "additional_information": [f"Amazon order {amazon_id}", f"Marketplace {channel}", by],
        },
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {"address": shipping_address, "method": f"amazon_{level}", "total": shipping_total},
                    "items": entity_items,
                }
            ]
        },
    }
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
