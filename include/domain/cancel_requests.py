"""Buyer cancellation requests: when a Commerce order goes on hold, and the comments staff read.

Amazon shows a buyer's request to cancel on the order items (Orders API v2026-01-01,
``orderItems[].cancellation.cancellationRequest``, requester ``BUYER``); once the
seller or Amazon cancels, ``cancellationExecution`` is added and the order becomes
``CANCELLED``. A merchant-fulfilled order with a request that nothing has executed,
for an item not shipped in full, in an order Amazon still shows as ``UNSHIPPED`` or
``PARTIALLY_SHIPPED``, is put on hold in Commerce so the warehouse does not ship it;
when the request goes away it is released (unheld); when Amazon cancels it, the
usual cancellation runs (after releasing it: Magento cancels no held order).
"""

from __future__ import annotations

from typing import Any

#: Amazon statuses in which an order still has something to ship.
NOT_SHIPPED = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED"})
#: Every comment the sync writes when it holds an order starts with this (how a release finds our holds).
HOLD_PREFIX = "On hold: the buyer asked Amazon to cancel"
RELEASE_PREFIX = "Released: the buyer's cancellation request"
#: Longest buyer-given reason copied into the comment.
REASON_LENGTH = 200


def _open_requests(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The cancellation requests on items not shipped in full that nobody has executed yet."""
    found = []
    for item in order.get("orderItems") or []:
        cancellation = item.get("cancellation") if isinstance(item, dict) else None
        if not isinstance(cancellation, dict):
            continue
        request = cancellation.get("cancellationRequest")
        if not isinstance(request, dict) or cancellation.get("cancellationExecution"):
            continue
        fulfillment = item.get("fulfillment") if isinstance(item.get("fulfillment"), dict) else {}
        fulfilled, ordered = fulfillment.get("quantityFulfilled") or 0, item.get("quantityOrdered") or 0
        if not isinstance(fulfilled, int) or not isinstance(ordered, int) or fulfilled < ordered:
            found.append(request)
    return found


def cancellation_requested(order: dict[str, Any]) -> bool:
    """True when a merchant-fulfilled, not (fully) shipped order carries a buyer's open cancellation request."""
    fulfillment = order.get("fulfillment") or {}
    if fulfillment.get("fulfilledBy") != "MERCHANT" or fulfillment.get("fulfillmentStatus") not in NOT_SHIPPED:
        return False
    return bool(_open_requests(order))


def hold_comment(order: dict[str, Any]) -> str:
    """The status-history comment of a hold: why, and what staff do next (no buyer name, address or e-mail)."""
    reasons = sorted({" ".join(str(r.get("cancelReason") or "").split()) for r in _open_requests(order)} - {""})
    reason = f' (reason given: "{"; ".join(reasons)[:REASON_LENGTH]}")' if reasons else ""
    return (
        f"{HOLD_PREFIX} Amazon order {order['orderId']}{reason}. Do not ship it: accept or decline the request "
        "on Amazon (Seller Central); the sync cancels this order when Amazon cancels it, and releases the hold "
        "when the request goes away."
    )


def release_comment(order: dict[str, Any]) -> str:
    """The status-history comment of a release."""
    return f"{RELEASE_PREFIX} on Amazon order {order['orderId']} went away: the hold is released, ship as usual."


def held_by_sync(history: list[dict[str, Any]]) -> bool:
    """Whether the latest hold or release comment in a Commerce status history is one of our holds.

    ``history`` as ``GET /V1/orders/{id}/comments`` lists it. An order staff held by
    hand has none of our hold comments after the last release, and is left alone.
    """
    ours = [h for h in history if str(h.get("comment") or "").startswith((HOLD_PREFIX, RELEASE_PREFIX))]
    if not ours:
        return False
    latest = max(ours, key=lambda h: (str(h.get("created_at") or ""), int(h.get("entity_id") or 0)))
    return str(latest.get("comment")).startswith(HOLD_PREFIX)
