"""One staged Amazon order → its Commerce customer and order, idempotently.

Every step first looks at what Commerce already has, so running it again after
a crash, a lost response or a partial failure converges on the same end state
instead of creating anything twice:

1. find the Commerce order by ``ext_order_id`` (the Amazon order id); if none,
2. find or create the customer (``customer_creation = "create"``) or go guest,
3. create the order (``send_email`` off: Amazon, not Commerce, e-mails buyers),
4. invoice it offline (no notification) and set the configured processing
   status; an FBA order is also shipped offline, which makes it ``complete``;
5. put it on hold when the buyer has asked Amazon to cancel it
   (:mod:`include.domain.cancel_requests`), with a status-history comment.

Later Amazon changes to an imported order (cancellation, a buyer's cancellation
request made or withdrawn, buyer details) are applied by :func:`apply_amazon_changes`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from include.clients.commerce.client import CommerceClient, CommerceClientError, CommerceError, CommerceUnavailable
from include.domain.cancel_requests import cancellation_requested, held_by_sync, hold_comment, release_comment
from include.domain.mapping import MappingError, StoreRef, has_buyer_email, to_commerce_customer, to_commerce_order
from include.domain.settings import OrderSettings

log = logging.getLogger(__name__)

#: Commerce states from which nothing more is done to an order.
FINAL_STATES = frozenset({"complete", "closed", "canceled"})
#: Magento's held state; ``Order::canHold()`` is false in it and in these others.
HELD = "holded"
NOT_HOLDABLE = frozenset({*FINAL_STATES, HELD, "payment_review"})


@dataclass(frozen=True)
class ImportResult:
    """What happened to one order; ``reason`` is readable and free of buyer data."""

    amazon_order_id: str
    outcome: str  # imported | healed | updated | held | released | unchanged | canceled | refunded | failed
    commerce_order_id: int | None = None
    increment_id: str | None = None
    customer_created: bool = False
    reason: str | None = None
    held: bool = False  # imported and put on hold at once (a buyer's cancellation request was already there)

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


def import_order(client: CommerceClient, order: dict, *, settings: OrderSettings, store: StoreRef) -> ImportResult:
    """Create (or find) the Commerce order for ``order`` and bring it to its target state."""
    amazon_id = order["orderId"]
    try:
        existing = client.find_orders_by_ext_order_id(amazon_id)
        customer_created = False
        if existing:
            commerce_order, outcome = existing[0], "healed"
        else:
            customer_id = None
            if settings.customer_creation == "create" and has_buyer_email(order):
                customer_id, customer_created = _ensure_customer(client, order, store)
            increment_id = amazon_id if settings.order_number_source == "amazon" else None
            entity = to_commerce_order(
                order, store=store, settings=settings, customer_id=customer_id, increment_id=increment_id
            )
            commerce_order, outcome = client.create_order(entity), "imported"
        held = _bring_to_target_state(client, commerce_order, order, settings)
    except MappingError as exc:
        return ImportResult(amazon_id, "failed", reason=f"cannot map order: {exc}")
    except CommerceError as exc:
        return ImportResult(amazon_id, "failed", reason=_commerce_reason(exc, order))
    return ImportResult(
        amazon_id,
        outcome,
        commerce_order_id=int(commerce_order["entity_id"]),
        increment_id=commerce_order.get("increment_id"),
        customer_created=customer_created,
        held=held,
    )


def _ensure_customer(client: CommerceClient, order: dict, store: StoreRef) -> tuple[int, bool]:
    """The customer id for the buyer's e-mail on the store's website, creating the account if needed."""
    customer = to_commerce_customer(order, website_id=store.website_id, store_id=store.store_id)
    found = client.find_customer(customer["email"], store.website_id)
    if found:
        return int(found["id"]), False
    try:
        return int(client.create_customer(customer)["id"]), True
    except CommerceClientError:
        # Another order of the same buyer, imported concurrently, created the account first.
        found = client.find_customer(customer["email"], store.website_id)
        if found:
            return int(found["id"]), False
        raise


def _bring_to_target_state(client: CommerceClient, commerce_order: dict, order: dict, settings: OrderSettings) -> bool:
    """Invoice offline, set the processing status, ship FBA orders, hold an MFN order its buyer asked to cancel —
    each only if not done yet. True when the order was put on hold now.

    A held order found again (an earlier attempt held it, or staff did) is left as it is.
    """
    order_id = int(commerce_order["entity_id"])
    if commerce_order.get("state") in FINAL_STATES or commerce_order.get("state") == HELD:
        return False
    if not float(commerce_order.get("total_invoiced") or 0):
        client.invoice_order(order_id, capture=False, notify=False, order=commerce_order)
    if order.get("fulfillment", {}).get("fulfilledBy") == "AMAZON":
        # The order as created or found carries its items' shipped quantities; invoicing does not change them.
        if _qty_left_to_ship(commerce_order) > 0:
            fresh = not any(float(item.get("qty_shipped") or 0) for item in commerce_order.get("items", []))
            client.ship_order(order_id, notify=False, shipments_before=set() if fresh else None)
        return False
    if settings.processing_status != "processing":
        current = client.get_order(order_id)
        if current.get("status") != settings.processing_status:
            client.add_order_comment(
                order_id,
                f"Imported from Amazon order {order['orderId']}",
                status=settings.processing_status,
                notify=False,
            )
    if cancellation_requested(order):
        _hold(client, order_id, order)
        return True
    return False


def _hold(client: CommerceClient, order_id: int, order: dict) -> None:
    """Hold the Commerce order and say why in its status history (never notifying the buyer)."""
    client.hold_order(order_id)
    client.add_order_comment(order_id, hold_comment(order), notify=False)


def _qty_left_to_ship(commerce_order: dict) -> float:
    return sum(
        float(item.get("qty_ordered") or 0) - float(item.get("qty_shipped") or 0) - float(item.get("qty_canceled") or 0)
        for item in commerce_order.get("items", [])
        if not item.get("parent_item_id")
    )


def apply_amazon_changes(
    client: CommerceClient, order: dict, *, commerce_order_id: int, settings: OrderSettings, store: StoreRef
) -> ImportResult:
    """Carry Amazon's later changes to an imported order into Commerce.

    A cancellation cancels the Commerce order, or, once it is invoiced (our
    imports always are), refunds it with an offline credit memo, which closes
    it (a held order is released first: Magento cancels and refunds no held
    order). A buyer's open cancellation request puts the order on hold
    (``held``) unless it is complete or closed already; once the request goes
    away, a hold the sync placed is released (``released``). Changed buyer name
    or e-mail are saved on the order. No customer notification is sent for any.
    """
    amazon_id = order["orderId"]
    try:
        current = client.get_order(commerce_order_id)
        if order.get("fulfillment", {}).get("fulfillmentStatus") == "CANCELLED":
            return _cancel_in_commerce(client, amazon_id, current)
        action = _follow_cancellation_request(client, order, current)
        wanted = to_commerce_order(order, store=store, settings=settings, customer_id=None, increment_id=None)
        changes = {
            key: wanted[key]
            for key in ("customer_email", "customer_firstname", "customer_lastname")
            if wanted.get(key) and wanted.get(key) != current.get(key)
        }
        if changes:
            client.update_order(commerce_order_id, changes)
        outcome = action or ("updated" if changes else "unchanged")
        return ImportResult(amazon_id, outcome, commerce_order_id, current.get("increment_id"))
    except MappingError as exc:
        return ImportResult(amazon_id, "failed", commerce_order_id, reason=f"cannot map order: {exc}")
    except CommerceError as exc:
        return ImportResult(amazon_id, "failed", commerce_order_id, reason=_commerce_reason(exc, order))


def _follow_cancellation_request(client: CommerceClient, order: dict, current: dict) -> str | None:
    """Hold the order for a buyer's open cancellation request, or release our hold once it went away.

    Returns ``held``, ``released`` or None (nothing to do: already as it should be,
    or complete/closed in Commerce, where there is nothing left to stop).
    """
    order_id, state = int(current["entity_id"]), current.get("state")
    requested = cancellation_requested(order)
    if requested and state not in NOT_HOLDABLE:
        _hold(client, order_id, order)
        return "held"
    if state != HELD:
        return None
    ours = held_by_sync(client.get_order_comments(order_id)["items"])
    if requested and not ours:  # held by hand, or an earlier attempt held it and then failed: say why it stays held
        client.add_order_comment(order_id, hold_comment(order), notify=False)
    elif not requested and ours:
        client.unhold_order(order_id)
        client.add_order_comment(order_id, release_comment(order), notify=False)
        return "released"
    return None


def _cancel_in_commerce(client: CommerceClient, amazon_id: str, current: dict) -> ImportResult:
    """Cancel the Commerce order, or refund it offline once invoiced; nothing when already canceled or closed.

    A held order is released first: Magento's ``canCancel()`` and ``canCreditmemo()`` are false while it is held.
    """
    commerce_order_id = int(current["entity_id"])
    if current.get("state") in ("canceled", "closed"):
        return ImportResult(amazon_id, "unchanged", commerce_order_id, current.get("increment_id"))
    if current.get("state") == HELD:
        client.unhold_order(commerce_order_id)
        current = client.get_order(commerce_order_id)
    if float(current.get("total_invoiced") or 0):
        client.refund_order(commerce_order_id, notify=False, shipping_amount=current.get("shipping_invoiced"))
        outcome = "refunded"
    else:
        client.cancel_order(commerce_order_id)
        outcome = "canceled"
    client.add_order_comment(commerce_order_id, f"Amazon order {amazon_id} was cancelled on Amazon.", notify=False)
    return ImportResult(amazon_id, outcome, commerce_order_id, current.get("increment_id"))


def settle_canceled_order(client: CommerceClient, order: dict) -> ImportResult:
    """An order Amazon cancelled after a failed import attempt: cancel the Commerce order that attempt may
    have left (found by ``ext_order_id``); ``settled`` when there is none."""
    amazon_id = order["orderId"]
    try:
        existing = client.find_orders_by_ext_order_id(amazon_id)
        if not existing:
            return ImportResult(amazon_id, "settled")
        return _cancel_in_commerce(client, amazon_id, existing[0])
    except CommerceError as exc:
        return ImportResult(amazon_id, "failed", reason=_commerce_reason(exc, order))


def _commerce_reason(exc: CommerceError, order: dict) -> str:
    """A readable, PII-free reason: Magento's message template, plus the SKUs when a product is missing."""
    kind = "Commerce unavailable" if isinstance(exc, CommerceUnavailable) else "Commerce refused"
    text = exc.template
    call = " ".join(part for part in (exc.method, exc.path) if part)
    status = f"HTTP {exc.status}" if exc.status is not None else "no response"
    reason = f"{kind}: {text} ({status}{', ' + call if call else ''})"
    if "product that was requested doesn't exist" in text:
        skus = sorted({(item.get("product") or {}).get("sellerSku") or "?" for item in order.get("orderItems") or []})
        reason += f"; order SKUs: {', '.join(skus)}"
    return reason
