"""The Notifications API v1 of the SP-API sandbox, and ORDER_CHANGE delivery to Amazon SQS queues.

Destinations belong to the application (created with a grantless token, scope
``sellingpartnerapi::notifications``); subscriptions belong to a seller and the
application (created with the seller's token). Each order change the sandbox
makes (a new order, a status change, a buyer's cancellation request, a
confirmShipment) sends an ORDER_CHANGE notification, valid against Amazon's
``OrderChangeNotification.json``, to the queue of the seller's ORDER_CHANGE
subscription, with Amazon's delivery behaviour: not in order (a sender thread
sends what is pending in a shuffled batch), a seeded share sent twice, a seeded
share delayed (SQS ``DelaySeconds``). The queue is reached with boto3 at
``sqs_endpoint`` (the moto server ``python -m sandbox serve --sqs-port`` runs).
"""

from __future__ import annotations

import json
import logging
import queue
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.spapi.errors import ApiError, invalid_input
from sandbox.spapi.times import iso_z

log = logging.getLogger(__name__)

NOTIFICATION_TYPES = ("ORDER_CHANGE",)
SQS_ARN = re.compile(r"^arn:aws:sqs:(\S+?):(\S+?):(\S+)$")
ORDER_CHANGE_TYPES = ("BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange")
APPLICATION_ID = "amzn1.sellerapps.app.sandbox-0000-0000-0000-000000000000"
#: v2026-01-01 fulfillmentStatus → the notification's OrderStatus.
ORDER_STATUS = {
    "PENDING": "Pending", "PENDING_AVAILABILITY": "PendingAvailability", "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """How notifications reach the queue: shares sent twice and delayed (seeded), the longest delay."""

    duplicate_share: float = 0.1
    delayed_share: float = 0.1
    max_delay_s: int = 5
    seed: int = 0


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotFound", f"The requested {what} was not found.")


def order_change_notification(
    order: dict[str, Any], seller_id: str, subscription_id: str, change_type: str, reason: str, now: datetime
) -> dict[str, Any]:
    """An ORDER_CHANGE notification (``OrderChangeNotification.json``) for this version of ``order``."""
    fulfillment = order.get("fulfillment") or {}
    status = fulfillment.get("fulfillmentStatus")
    items = order.get("orderItems") if isinstance(order.get("orderItems"), list) else []
    address = (order.get("recipient") or {}).get("deliveryAddress") or {}
    summary_items = []
    for item in items:
        if not isinstance(item, dict):
            continue
        quantity = item.get("quantityOrdered")
        shipped = (item.get("fulfillment") or {}).get("quantityFulfilled", 0)
        summary_items.append(
            {
                "OrderItemId": str(item.get("orderItemId", "")),
                "SellerSKU": str((item.get("product") or {}).get("sellerSku", "")),
                "SupplySourceId": str(uuid.uuid5(uuid.NAMESPACE_URL, seller_id)),
                "OrderItemStatus": "Shipped" if quantity and shipped == quantity else "Unshipped",
                "Quantity": quantity if isinstance(quantity, int) else 0,
                "QuantityShipped": shipped if isinstance(shipped, int) else 0,
                "IsBuyerRequestedCancel": bool((item.get("cancellation") or {}).get("cancellationRequest")),
            }
        )
    shipped_total = sum(i["QuantityShipped"] for i in summary_items)
    stamp = iso_z(now)
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": stamp,
        "Payload": {
            "OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": seller_id,
                "AmazonOrderId": order["orderId"],
                "OrderChangeType": change_type,
                "OrderChangeTrigger": {
                    "TimeOfOrderChange": order.get("lastUpdatedTime") or stamp,
                    "ChangeReason": reason,
                },  # fmt: skip
                "Summary": {
                    "MarketplaceId": str((order.get("salesChannel") or {}).get("marketplaceId", "")),
                    "OrderStatus": ORDER_STATUS.get(status, "Pending"),
                    "PurchaseDate": order.get("createdTime") or stamp,
                    "DestinationPostalCode": str(address.get("postalCode", "")),
                    "FulfillmentType": "AFN" if fulfillment.get("fulfilledBy") == "AMAZON" else "MFN",
                    "OrderType": "StandardOrder",
                    "NumberOfItemsShipped": shipped_total,
                    "NumberOfItemsUnshipped": sum(i["Quantity"] for i in summary_items) - shipped_total,
                    "OrderItems": summary_items,
                },
            }
        },
        "NotificationMetadata": {
            "ApplicationId": APPLICATION_ID,
            "SubscriptionId": subscription_id,
            "PublishTime": stamp,
            "NotificationId": str(uuid.uuid4()),
        },
    }


@dataclass
class Notifications:
    """Destinations (per application), subscriptions (per seller and application) and the sender to SQS."""

    sqs_endpoint: str | None = None
    delivery: Delivery = field(default_factory=Delivery)
    #: the local SQS server (sandbox/sqs.py) when the sandbox runs one
    sqs: Any = None
    destinations: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (seller refresh token, notification type) → Subscription
    subscriptions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.delivery.seed)
        self._pending: queue.Queue = queue.Queue()
        self._sender: threading.Thread | None = None
        self._sqs = None

    # -- destinations (grantless) ---------------------------------------------------------------
    def create_destination(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise invalid_input("Invalid request body: 'name' is required.")
        if len(body["name"]) > 256:
            raise invalid_input("Invalid request body: 'name' is longer than 256 characters.")
        spec = body.get("resourceSpecification")
        arn = (
            (spec or {}).get("sqs", {}).get("arn")
            if isinstance(spec, dict) and isinstance(spec.get("sqs"), dict)
            else None
        )
        if not isinstance(arn, str) or not SQS_ARN.match(arn) or len(arn) > 1000:
            raise invalid_input("Invalid request body: resourceSpecification.sqs.arn must be an SQS queue ARN.")
        with self.lock:
            for destination in self.destinations.values():
                if destination["resource"]["sqs"]["arn"] == arn:
                    raise ApiError(409, "Conflict", "A destination for this resource already exists.")
            destination = {"name": body["name"], "destinationId": str(uuid.uuid4()), "resource": {"sqs": {"arn": arn}}}
            self.destinations[destination["destinationId"]] = destination
        return destination

    def list_destinations(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.destinations.values())

    def get_destination(self, destination_id: str) -> dict[str, Any]:
        with self.lock:
            if destination_id not in self.destinations:
                raise not_found("destination")
            return self.destinations[destination_id]

    def delete_destination(self, destination_id: str) -> None:
        with self.lock:
            if destination_id not in self.destinations:
                raise not_found("destination")
            if any(s["destinationId"] == destination_id for s in self.subscriptions.values()):
                raise ApiError(409, "Conflict", "The destination has subscriptions; delete them first.")
            del self.destinations[destination_id]

    # -- subscriptions (the seller's token) -----------------------------------------------------
    def create_subscription(self, seller_key: str, notification_type: str, body: Any) -> dict[str, Any]:
        check_type(notification_type)
        if not isinstance(body, dict) or not body.get("destinationId") or not body.get("payloadVersion"):
            raise invalid_input("Invalid request body: 'destinationId' and 'payloadVersion' are required.")
        if body["payloadVersion"] != "1.0":
            raise invalid_input(f"Invalid payloadVersion {body['payloadVersion']!r} for {notification_type}.")
        directive = body.get("processingDirective")
        if directive is not None and not isinstance(directive, dict):
            raise invalid_input("Invalid request body: 'processingDirective' must be an object.")
        with self.lock:
            if body["destinationId"] not in self.destinations:
                raise invalid_input(f"Invalid destinationId {body['destinationId']!r}.")
            if (seller_key, notification_type) in self.subscriptions:
                raise ApiError(409, "Conflict", "A subscription already exists for this notification type.")
            subscription = {
                "subscriptionId": str(uuid.uuid4()),
                "payloadVersion": "1.0",
                "destinationId": body["destinationId"],
                **({"processingDirective": directive} if directive else {}),
            }
            self.subscriptions[(seller_key, notification_type)] = subscription
        return subscription

    def get_subscription(self, seller_key: str, notification_type: str) -> dict[str, Any]:
        check_type(notification_type)
        with self.lock:
            subscription = self.subscriptions.get((seller_key, notification_type))
        if subscription is None:
            raise not_found("subscription")
        return subscription

    def delete_subscription(self, seller_key: str, notification_type: str, subscription_id: str) -> None:
        check_type(notification_type)
        with self.lock:
            subscription = self.subscriptions.get((seller_key, notification_type))
            if subscription is None or subscription["subscriptionId"] != subscription_id:
                raise not_found("subscription")
            del self.subscriptions[(seller_key, notification_type)]

    def reset(self) -> None:
        with self.lock:
            self.destinations.clear()
            self.subscriptions.clear()

    # -- delivery -------------------------------------------------------------------------------
    def order_changed(self, seller: Any, order: dict[str, Any], change_type: str, reason: str, now: datetime) -> bool:
        """Queue an ORDER_CHANGE for ``seller``'s subscription (False when it has none)."""
        with self.lock:
            subscription = self.subscriptions.get((seller.refresh_token, "ORDER_CHANGE"))
            destination = self.destinations.get(subscription["destinationId"]) if subscription else None
        if destination is None or self.sqs_endpoint is None:
            return False
        directive = subscription.get("processingDirective") or {}
        wanted = ((directive.get("eventFilter") or {}).get("orderChangeTypes")) or ORDER_CHANGE_TYPES
        if change_type not in wanted:
            return False
        body = order_change_notification(
            order, seller.selling_partner_id, subscription["subscriptionId"], change_type, reason, now
        )
        self._pending.put((destination["resource"]["sqs"]["arn"], json.dumps(body)))
        self._start_sender()
        return True

    def _start_sender(self) -> None:
        with self.lock:
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_forever, name="order-change-sender", daemon=True)
                self._sender.start()

    def _client(self):
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client(
                "sqs", endpoint_url=self.sqs_endpoint, region_name="us-east-1",
                aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
            )  # fmt: skip
        return self._sqs

    def _send_forever(self) -> None:
        while True:
            batch = [self._pending.get()]
            try:  # whatever else is pending goes in the same shuffled batch: Amazon does not keep order
                while len(batch) < 100:
                    batch.append(self._pending.get(timeout=0.05))
            except queue.Empty:
                pass
            self._rng.shuffle(batch)
            for arn, body in batch:
                copies = 2 if self._rng.random() < self.delivery.duplicate_share else 1
                for _ in range(copies):
                    delay = (
                        self._rng.randint(1, self.delivery.max_delay_s)
                        if self._rng.random() < self.delivery.delayed_share
                        else 0
                    )
                    self._send(arn, body, delay)

    def _send(self, arn: str, body: str, delay: int) -> None:
        region, account, name = SQS_ARN.match(arn).groups()
        url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        for attempt in range(20):  # the queue may be down for a while: Amazon retries delivery too
            try:
                self._client().send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)
                with self.lock:
                    self.sent += 1
                return
            except Exception as exc:  # noqa: BLE001 - any failure to reach the queue is retried, then logged
                log.warning("ORDER_CHANGE not delivered to %s (%s); retry %d", name, type(exc).__name__, attempt + 1)
                threading.Event().wait(min(0.5 * 2**attempt, 5))
        log.error("ORDER_CHANGE to %s dropped after 20 attempts", name)


def check_type(notification_type: str) -> None:
    if notification_type not in NOTIFICATION_TYPES:
        raise invalid_input(
            f"Invalid notificationType {notification_type!r}.",
            "The sandbox supports " + ", ".join(NOTIFICATION_TYPES) + ".",
        )
