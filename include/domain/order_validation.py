"""Validation at the boundary: is a landed Amazon ``Order`` fit to stage and import?

Every order read back from the landing store is checked here once, before it
reaches the channel tables: the types, formats and ranges of the fields staging
and mapping read (Orders API v2026-01-01 ``Order``), within the widths of the
channel columns. An order that fails is set aside with a reason naming the
fields (never their values: they may be buyer data); the others go on.

Amazon's model sets no string lengths, so the limits below are Amazon's
documented formats (order id 3-7-7 digits, ASIN 10 characters, seller SKU at
most 40) with room to spare, and they match the channel columns on SQLite,
MariaDB and PostgreSQL alike (docs/channel-columns.md). Free-text fields that
Amazon does not bound (buyer name, product title) are not limited here: staging
clips them for their display columns and keeps them whole in the payload.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

#: Amazon order ids: three, seven and seven digits.
ORDER_ID = re.compile(r"^[0-9]{3}-[0-9]{7}-[0-9]{7}$")
#: Most units of one item we accept in one order (Amazon Business orders reach the thousands).
MAX_QUANTITY = 100_000
#: Largest absolute amount: the channel's NUMERIC(14, 2) money columns hold up to 10^12.
MAX_AMOUNT = Decimal("999999999999.99")
#: Column widths the identifiers must fit (include/channel_db/tables.py).
MAX_SKU, MAX_ITEM_ID, MAX_MARKETPLACE, MAX_ASIN, MAX_EMAIL = 64, 50, 32, 16, 254
EARLIEST, LATEST = datetime(1995, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class InvalidOrder(ValueError):
    """A landed order that cannot be staged; ``reason`` names the fields and never holds their values."""

    def __init__(self, amazon_order_id: str | None, reason: str) -> None:
        self.amazon_order_id = amazon_order_id
        self.reason = reason
        super().__init__(reason)


# ----------------------------------------------------------------------------------------------------------- field types


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


def _identifier(max_length: int, pattern: str = r"^\S(.*\S)?$"):
    """A non-empty identifier without control characters, surrounding blanks or more than ``max_length`` characters."""
    return Annotated[
        StrictStr, Field(min_length=1, max_length=max_length, pattern=pattern), AfterValidator(_no_control)
    ]


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("is not an ISO 8601 timestamp") from None
    parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    if not EARLIEST <= parsed < LATEST:
        raise ValueError(f"is outside {EARLIEST.year}–{LATEST.year}")
    return parsed


Timestamp = Annotated[Any, AfterValidator(_timestamp)]
Amount = Annotated[Decimal, Field(allow_inf_nan=False, ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
OptionalText = StrictStr | None


class _Section(BaseModel):
    """A part of the Order. Fields we do not read are not modelled (the staged payload keeps them as sent)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Money(_Section):
    amount: Amount
    currencyCode: Currency


# ----------------------------------------------------------------------------------------------------------- sections


class SalesChannel(_Section):
    marketplaceId: _identifier(MAX_MARKETPLACE, r"^[A-Z0-9]+$") | None = None
    marketplaceName: OptionalText = None


class TimeWindow(_Section):
    earliestDateTime: OptionalText = None
    latestDateTime: OptionalText = None


class OrderFulfillment(_Section):
    fulfillmentStatus: Literal[
        "PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE"
    ]
    fulfilledBy: Literal["AMAZON", "MERCHANT"]
    fulfillmentServiceLevel: Annotated[StrictStr, Field(max_length=64)] | None = None
    shipByWindow: TimeWindow | None = None
    deliverByWindow: TimeWindow | None = None


class Buyer(_Section):
    buyerName: OptionalText = None
    buyerEmail: Annotated[StrictStr, Field(max_length=MAX_EMAIL), AfterValidator(_no_control)] | None = None
    buyerCompanyName: OptionalText = None
    buyerPurchaseOrderNumber: OptionalText = None


class Address(_Section):
    name: OptionalText = None
    companyName: OptionalText = None
    addressLine1: OptionalText = None
    addressLine2: OptionalText = None
    addressLine3: OptionalText = None
    city: OptionalText = None
    districtOrCounty: OptionalText = None
    stateOrRegion: OptionalText = None
    municipality: OptionalText = None
    postalCode: OptionalText = None
    countryCode: Annotated[StrictStr, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    phone: OptionalText = None


class Recipient(_Section):
    deliveryAddress: Address | None = None


class ProceedsDetail(_Section):
    subtype: OptionalText = None
    value: Money | None = None


class ProceedsBreakdown(_Section):
    type: OptionalText = None
    status: OptionalText = None
    subtotal: Money | None = None
    detailedBreakdowns: list[ProceedsDetail] | None = None


class Proceeds(_Section):
    grandTotal: Money | None = None
    proceedsTotal: Money | None = None
    breakdowns: list[ProceedsBreakdown] | None = None


class Price(_Section):
    unitPrice: Money | None = None


class Product(_Section):
    sellerSku: _identifier(MAX_SKU) | None = None
    asin: _identifier(MAX_ASIN, r"^[A-Za-z0-9]+$") | None = None
    title: OptionalText = None
    price: Price | None = None


class GiftOption(_Section):
    giftMessage: OptionalText = None
    giftWrapLevel: OptionalText = None


class Packing(_Section):
    giftOption: GiftOption | None = None


class ItemFulfillment(_Section):
    quantityFulfilled: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)] | None = None
    quantityUnfulfilled: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)] | None = None
    packing: Packing | None = None


class PromotionBreakdown(_Section):
    promotionId: OptionalText = None


class Promotion(_Section):
    breakdowns: list[PromotionBreakdown] | None = None


class OrderItem(_Section):
    orderItemId: _identifier(MAX_ITEM_ID, r"^[A-Za-z0-9_.-]+$")
    quantityOrdered: Annotated[StrictInt, Field(ge=0, le=MAX_QUANTITY)]
    product: Product
    proceeds: Proceeds | None = None
    promotion: Promotion | None = None
    fulfillment: ItemFulfillment | None = None


class Alias(_Section):
    aliasId: OptionalText = None
    aliasType: OptionalText = None


class AssociatedOrder(_Section):
    orderId: OptionalText = None
    associationType: OptionalText = None


class TaxRegistration(_Section):
    entityType: OptionalText = None
    taxRegistrationType: OptionalText = None
    taxRegistrationNumber: OptionalText = None


class OrderTax(_Section):
    taxRegistrations: list[TaxRegistration] | None = None


class Order(_Section):
    """The fields of an Amazon ``Order`` that staging and mapping read, with their types and limits."""

    orderId: _identifier(19, ORDER_ID.pattern)
    createdTime: Timestamp
    lastUpdatedTime: Timestamp
    salesChannel: SalesChannel
    orderItems: list[OrderItem]
    fulfillment: OrderFulfillment  # always requested (includedData FULFILLMENT): without it no path applies
    proceeds: Proceeds | None = None
    buyer: Buyer | None = None
    recipient: Recipient | None = None
    programs: list[StrictStr] | None = None
    orderAliases: list[Alias] | None = None
    associatedOrders: list[AssociatedOrder] | None = None
    tax: OrderTax | None = None

    @field_validator("orderItems")
    @classmethod
    def _distinct_item_ids(cls, items: list[OrderItem]) -> list[OrderItem]:
        ids = [item.orderItemId for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError("has the same orderItemId more than once")
        return items

    @model_validator(mode="after")
    def _consistent(self) -> Order:
        cancelled = self.fulfillment.fulfillmentStatus == "CANCELLED"
        for index, item in enumerate(self.orderItems):
            if item.quantityOrdered < 1 and not cancelled:
                raise ValueError(f"orderItems[{index}].quantityOrdered must be at least 1 (the order is not cancelled)")
            shipped = item.fulfillment.quantityFulfilled if item.fulfillment else None
            if shipped is not None and shipped > item.quantityOrdered:
                raise ValueError(f"orderItems[{index}].fulfillment.quantityFulfilled exceeds quantityOrdered")
        return self


def _currencies(order: Order) -> set[str]:
    """The currency codes of the order's amounts that staging and mapping read (one order has one currency)."""
    monies: list[Money | None] = [order.proceeds.grandTotal if order.proceeds else None]
    if order.proceeds:
        monies.extend(breakdown.subtotal for breakdown in order.proceeds.breakdowns or [])
    for item in order.orderItems:
        monies.append(item.product.price.unitPrice if item.product.price else None)
        if item.proceeds:
            monies.append(item.proceeds.proceedsTotal)
            for breakdown in item.proceeds.breakdowns or []:
                monies.append(breakdown.subtotal)
                monies.extend(detail.value for detail in breakdown.detailedBreakdowns or [])
    return {money.currencyCode for money in monies if money is not None}


# ----------------------------------------------------------------------------------------------------------- entry point


def order_id_of(raw: Any) -> str | None:
    """The order's id as a short printable label (for the rejection record), or None."""
    order_id = raw.get("orderId") if isinstance(raw, dict) else None
    if order_id is None or isinstance(order_id, dict | list):
        return None
    text = _CONTROL.sub("?", _SURROGATE.sub("?", str(order_id))).strip()
    return text[:50] or None


def _where(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part).startswith(("function-", "constrained-", "lax-", "json-")) and part not in (
            "str", "int", "list[...]", "dict[str,any]",
        ):  # fmt: skip
            path += f".{part}" if path else str(part)
    return path or "order"


#: Plain words for the formats the patterns check (pydantic would quote the regular expression).
_FORMATS = {
    ORDER_ID.pattern: "must be Amazon's order id, 3-7-7 digits such as 112-1234567-1234567",
    r"^[A-Z]{3}$": "must be an ISO 4217 currency code (three capital letters)",
    r"^[A-Z0-9]+$": "must be an Amazon marketplace id (capital letters and digits)",
    r"^[A-Za-z0-9]+$": "must be letters and digits only",
    r"^[A-Za-z0-9_.-]+$": "must be letters, digits, '.', '_' or '-' only",
    r"^[A-Za-z]{2}$": "must be a two-letter ISO 3166 country code",
    r"^\S(.*\S)?$": "must not be empty or start or end with a blank",
}


def _problem(error: dict[str, Any]) -> str:
    """One pydantic error as ``field: what is wrong (got <type>)``, without the offending value."""
    message = str(error.get("msg", "is invalid"))
    if error.get("type") == "string_pattern_mismatch":
        message = _FORMATS.get(str((error.get("ctx") or {}).get("pattern")), "has an unexpected format")
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    got = type(error.get("input")).__name__
    got = {"NoneType": "null", "str": "string", "int": "integer", "float": "number", "dict": "object"}.get(got, got)
    where = _where(tuple(error.get("loc", ())))
    detail = f"{message} (got {got})" if error.get("type") not in ("value_error", "missing") else message
    return f"{where}: {detail}" if where != "order" else detail


def validate_order(raw: Any, *, max_problems: int = 3) -> Order:
    """The landed order as a checked :class:`Order`, or :class:`InvalidOrder` naming what is wrong."""
    order_id = order_id_of(raw)
    if not isinstance(raw, dict):
        raise InvalidOrder(None, f"not an Order object (got {type(raw).__name__})")
    try:
        order = Order.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors(include_url=False)]
        more = len(problems) - max_problems
        reason = "; ".join(problems[:max_problems]) + (f"; and {more} more" if more > 0 else "")
        raise InvalidOrder(order_id, reason) from None
    currencies = sorted(_currencies(order))
    if len(currencies) > 1:
        raise InvalidOrder(order_id, f"amounts in more than one currency ({', '.join(currencies)})")
    return order


def clean_text(value: str | None, max_length: int) -> str | None:
    """Free text for a display column: control characters removed, blanks trimmed, clipped to the column."""
    if value is None:
        return None
    text = " ".join(_CONTROL.sub(" ", _SURROGATE.sub("?", value)).split())
    return text[:max_length] or None
