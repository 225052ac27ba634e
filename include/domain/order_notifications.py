"""Amazon's ORDER_CHANGE notifications (Notifications API, SQS destination): checked, then coalesced per order.

A message body must be an ORDER_CHANGE notification as Amazon publishes it
(``OrderChangeNotification.json``: every required field present with its type,
the enumerations respected, the order id in Amazon's 3-7-7 format); anything
else is *dropped* with a reason naming the field, never its value (the summary
carries a postal code). A notification of another seller (when the account's
seller id is known) or of another type is *foreign*. The event path only needs
to know which orders changed: :func:`coalesce` keeps one entry per order, the
latest change, and getOrder fetches the order as it is now.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from include.domain.order_validation import ORDER_ID

#: Bodies larger than this are not notifications (SQS allows 256 KiB; Amazon's are a few KiB).
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Field:
    """One field of the model: its JSON types (``null`` allowed where Amazon allows it), enumeration, contents."""

    types: tuple[str, ...]
    enum: frozenset[str] | None = None
    required: tuple[str, ...] = ()
    properties: dict[str, Field] | None = None
    items: Field | None = None


def _f(*types: str, enum: Iterable[str] | None = None) -> Field:
    return Field(types, frozenset(enum) if enum else None)


def _obj(required: Iterable[str], **properties: Field) -> Field:
    return Field(("object",), required=tuple(required), properties=properties)


S, DATE, INT = _f("string"), _f("string", "null"), _f("integer")
#: The ORDER_CHANGE notification, field by field, as ``OrderChangeNotification.json`` publishes it.
MODEL = _obj(
    ["NotificationVersion", "NotificationType", "PayloadVersion", "EventTime", "Payload", "NotificationMetadata"],
    NotificationVersion=S, NotificationType=S, PayloadVersion=S, EventTime=S,
    Payload=_obj(["OrderChangeNotification"], OrderChangeNotification=_obj(
        ["NotificationLevel", "SellerId", "AmazonOrderId", "OrderChangeType", "OrderChangeTrigger", "Summary"],
        NotificationLevel=_f("string", enum=["OrderItemLevel", "OrderLevel"]),
        SellerId=S,
        AmazonOrderId=S,
        OrderChangeType=_f("string", enum=["BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange"]),
        OrderChangeTrigger=_obj(["TimeOfOrderChange", "ChangeReason"], TimeOfOrderChange=DATE, ChangeReason=S),
        Summary=_obj(
            ["MarketplaceId", "OrderStatus", "PurchaseDate", "DestinationPostalCode", "FulfillmentType", "OrderType",
             "OrderItems"],
            MarketplaceId=S,
            OrderStatus=_f("string", enum=["Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled",
                                           "Unfulfillable", "InvoiceUnconfirmed", "PendingAvailability"]),
            PurchaseDate=DATE, DestinationPostalCode=DATE,
            FulfillmentType=_f("string", enum=["AFN", "MFN"]),
            OrderType=_f("string", enum=["StandardOrder", "LongLeadTimeOrder", "Preorder", "BackOrder",
                                         "SourcingOnDemandOrder"]),
            NumberOfItemsShipped=INT, NumberOfItemsUnshipped=INT,
            EarliestDeliveryDate=S, LatestDeliveryDate=S, EarliestShipDate=S, LatestShipDate=S, CancelNotifyDate=S,
            OrderPrograms=Field(("array",), items=_f("string", enum=["Business", "Prime", "Premium", "IBA",
                                                                     "Replacement"])),
            ShippingPrograms=Field(("array",), items=_f("string", enum=["ShipDateSet", "GlobalExpress", "ISPU",
                                                                        "AccessPoint", "TFM", "EasyShip"])),
            EasyShipShipmentStatus=_f("string", enum=[
                "PendingSchedule", "PendingPickUp", "PendingDropOff", "LabelCanceled", "PickedUp", "DroppedOff",
                "AtOriginFC", "AtDestinationFC", "Delivered", "RejectedByBuyer", "Undeliverable",
                "ReturningToSeller", "ReturnedToSeller", "Lost", "OutForDelivery", "Damaged"]),
            ElectronicInvoiceStatus=_f("string", enum=["NotRequired", "NotFound", "Processing", "Errored",
                                                       "Accepted"]),
            OrderItems=Field(("array",), items=_obj(
                ["OrderItemId", "SellerSKU", "SupplySourceId", "Quantity"],
                OrderItemId=S, SellerSKU=S, SupplySourceId=DATE,
                OrderItemStatus=_f("string", enum=["Unshipped", "Shipped"]),
                Quantity=INT, QuantityShipped=INT, IsBuyerRequestedCancel=_f("boolean"),
                ItemEarliestDeliveryDate=S, ItemLatestDeliveryDate=S,
            )),
        ),
    )),
    NotificationMetadata=_obj(["ApplicationId", "SubscriptionId", "PublishTime", "NotificationId"],
                              ApplicationId=S, SubscriptionId=S, PublishTime=S, NotificationId=S),
)  # fmt: skip
_JSON_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


_WORDS = {"object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
          "boolean": "true or false", "null": "null"}  # fmt: skip


class InvalidNotification(ValueError):
    """A message that is not a usable ORDER_CHANGE notification; ``reason`` names the problem, ``foreign`` if it
    is valid but not ours (another type or seller)."""

    def __init__(self, reason: str, *, foreign: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.foreign = foreign


@dataclass(frozen=True)
class OrderChange:
    """What the event path takes from one notification: which order changed, how, and when."""

    amazon_order_id: str
    change_type: str
    changed_at: datetime
    notification_id: str


def check(value: Any, model: Field = MODEL, where: str = "the notification") -> None:
    """Raise :class:`InvalidNotification` naming the first field of ``value`` that does not fit ``model``."""
    if not any(_JSON_TYPES[t](value) for t in model.types):
        raise InvalidNotification(f"{where} is not {' or '.join(_WORDS[t] for t in model.types)}")
    if model.enum is not None and isinstance(value, str) and value not in model.enum:
        raise InvalidNotification(f"{where} is not one Amazon defines")
    if isinstance(value, dict) and model.properties is not None:
        missing = [key for key in model.required if key not in value]
        if missing:
            raise InvalidNotification(f"{where} lacks {', '.join(missing)}")
        for key, field_model in model.properties.items():
            if key in value:
                check(value[key], field_model, key if where == "the notification" else f"{where}.{key}")
    if isinstance(value, list) and model.items is not None:
        for position, item in enumerate(value):
            check(item, model.items, f"{where}[{position}]")


def _timestamp(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidNotification(f"{where} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise InvalidNotification(f"{where} has no time zone")
    return moment


def parse_notification(body: Any, *, seller_id: str | None = None) -> OrderChange:
    """The :class:`OrderChange` of one SQS message body, or :class:`InvalidNotification` saying why not."""
    if not isinstance(body, str | bytes):
        raise InvalidNotification("the message body is not text")
    if len(body) > MAX_BODY:
        raise InvalidNotification(f"the message body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidNotification("the message body is not JSON") from None
    if isinstance(data, dict) and "NotificationType" in data and data["NotificationType"] != "ORDER_CHANGE":
        kind = data["NotificationType"] if isinstance(data["NotificationType"], str) else "?"
        raise InvalidNotification(f"a {kind[:40]} notification, not ORDER_CHANGE", foreign=True)
    check(data)
    change = data["Payload"]["OrderChangeNotification"]
    if not ORDER_ID.match(change["AmazonOrderId"]):
        raise InvalidNotification("OrderChangeNotification.AmazonOrderId is not an Amazon order id (3-7-7)")
    when = change["OrderChangeTrigger"]["TimeOfOrderChange"]
    changed_at = (
        _timestamp(when, "OrderChangeTrigger.TimeOfOrderChange")
        if when is not None
        else _timestamp(data["EventTime"], "EventTime")
    )
    if seller_id and change["SellerId"] != seller_id:
        raise InvalidNotification("a notification of another seller (SellerId)", foreign=True)
    return OrderChange(
        change["AmazonOrderId"], change["OrderChangeType"], changed_at, data["NotificationMetadata"]["NotificationId"]
    )


def coalesce(changes: Iterable[OrderChange]) -> list[OrderChange]:
    """One change per order (the latest; duplicates and older ones fold into it), by order id."""
    latest: dict[str, OrderChange] = {}
    for change in changes:
        kept = latest.get(change.amazon_order_id)
        if kept is None or change.changed_at > kept.changed_at:
            latest[change.amazon_order_id] = change
    return [latest[order_id] for order_id in sorted(latest)]


def queue_arn(queue_url: str) -> str:
    """The ARN of an SQS queue URL ``https://sqs.<region>.amazonaws.com/<account>/<name>``."""
    match = re.match(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(\d{12})/([A-Za-z0-9_-]{1,80})$", queue_url)
    if not match:
        raise ValueError(f"not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>): {queue_url}")
    region, account, name = match.groups()
    return f"arn:aws:sqs:{region}:{account}:{name}"
