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

AMAZON_ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
ORDER_CHANGE_TYPES = frozenset({"BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange"})
ORDER_STATUSES = frozenset(
    {"Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable", "InvoiceUnconfirmed",
     "PendingAvailability"}
)  # fmt: skip
_TOP = ("NotificationVersion", "NotificationType", "PayloadVersion", "EventTime", "Payload", "NotificationMetadata")
_CHANGE = ("NotificationLevel", "SellerId", "AmazonOrderId", "OrderChangeType", "OrderChangeTrigger", "Summary")
_SUMMARY = ("MarketplaceId", "OrderStatus", "PurchaseDate", "DestinationPostalCode", "FulfillmentType", "OrderType")
_METADATA = ("ApplicationId", "SubscriptionId", "PublishTime", "NotificationId")
_ITEM_STRINGS = ("OrderItemId", "SellerSKU", "SupplySourceId")
#: Bodies larger than this are not notifications (SQS allows 256 KiB; Amazon's are a few KiB).
MAX_BODY = 256 * 1024


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


def _object(value: Any, where: str, keys: Iterable[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidNotification(f"{where} is not an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise InvalidNotification(f"{where} lacks {', '.join(missing)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidNotification(f"{where} is not a string")
    return value


def _timestamp(value: Any, where: str) -> datetime:
    text = _string(value, where)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
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
    top = _object(data, "the notification", _TOP)
    for key in ("NotificationVersion", "NotificationType", "PayloadVersion"):
        _string(top[key], key)
    _timestamp(top["EventTime"], "EventTime")
    metadata = _object(top["NotificationMetadata"], "NotificationMetadata", _METADATA)
    for key in _METADATA:
        _string(metadata[key], f"NotificationMetadata.{key}")
    payload = _object(top["Payload"], "Payload", ("OrderChangeNotification",))
    change = _object(payload["OrderChangeNotification"], "OrderChangeNotification", _CHANGE)
    for key in ("NotificationLevel", "SellerId", "AmazonOrderId", "OrderChangeType"):
        _string(change[key], f"OrderChangeNotification.{key}")
    if not AMAZON_ORDER_ID.match(change["AmazonOrderId"]):
        raise InvalidNotification("OrderChangeNotification.AmazonOrderId is not an Amazon order id (3-7-7)")
    if change["OrderChangeType"] not in ORDER_CHANGE_TYPES:
        raise InvalidNotification("OrderChangeNotification.OrderChangeType is not one Amazon defines")
    trigger = _object(change["OrderChangeTrigger"], "OrderChangeTrigger", ("TimeOfOrderChange", "ChangeReason"))
    changed_at = _timestamp(trigger["TimeOfOrderChange"], "OrderChangeTrigger.TimeOfOrderChange")
    _string(trigger["ChangeReason"], "OrderChangeTrigger.ChangeReason")
    summary = _object(change["Summary"], "Summary", (*_SUMMARY, "OrderItems"))
    for key in _SUMMARY:
        _string(summary[key], f"Summary.{key}")
    if summary["OrderStatus"] not in ORDER_STATUSES:
        raise InvalidNotification("Summary.OrderStatus is not one Amazon defines")
    _timestamp(summary["PurchaseDate"], "Summary.PurchaseDate")
    if not isinstance(summary["OrderItems"], list):
        raise InvalidNotification("Summary.OrderItems is not a list")
    for position, item in enumerate(summary["OrderItems"]):
        item = _object(item, f"Summary.OrderItems[{position}]", (*_ITEM_STRINGS, "Quantity"))
        for key in _ITEM_STRINGS:
            _string(item[key], f"Summary.OrderItems[{position}].{key}")
        if not isinstance(item["Quantity"], int) or isinstance(item["Quantity"], bool):
            raise InvalidNotification(f"Summary.OrderItems[{position}].Quantity is not an integer")
    if seller_id and change["SellerId"] != seller_id:
        raise InvalidNotification("a notification of another seller (SellerId)", foreign=True)
    return OrderChange(change["AmazonOrderId"], change["OrderChangeType"], changed_at, metadata["NotificationId"])


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
