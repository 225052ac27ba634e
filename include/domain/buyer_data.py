"""Amazon's data protection rules for buyer data: encryption at rest and what a purged order keeps.

Every buyer field we keep (the raw order in ``channel_order.payload`` and the landing
pages, and the ``buyer_name``/``buyer_email`` columns) is stored as a Fernet token
(AES-128-CBC with an HMAC-SHA256, from ``cryptography``) under the keys of the
``amazon_pii_key`` connection: :class:`BuyerDataCipher` encrypts with the first key and
decrypts with any of them (``MultiFernet``), so keys rotate without downtime.

Retention keeps an order's buyer data until its last Amazon update in a final status
(:data:`RETENTION_STATUSES`) is ``pii_retention_days`` old; then :func:`redact_order`
reduces the raw order to an allow-list of fields that are not buyer data (ids,
statuses, amounts, SKUs, packages). The list names what is kept, so a field Amazon adds
later (a gift message, a business buyer's tax id) is dropped without anyone listing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

#: Amazon order statuses after which nothing more happens to an order but its retention clock.
RETENTION_STATUSES = ("SHIPPED", "CANCELLED", "UNFULFILLABLE")
#: The key a purged order's payload carries (an ISO time): the importer refuses such an order.
PURGED_KEY = "buyerDataPurgedAt"
#: Every Fernet token starts with these bytes (version 0x80 and the high bytes of its timestamp).
TOKEN_PREFIX = b"gAAAAA"

_ANY = True
#: What a purged order keeps: ``True`` keeps a field whole, a dict keeps those of its fields, a list of
#: one dict applies it to each element. Everything not listed (buyer, recipient, gift options...) goes.
KEPT_FIELDS: dict[str, Any] = {
    "orderId": _ANY,
    "orderAliases": _ANY,
    "createdTime": _ANY,
    "lastUpdatedTime": _ANY,
    "programs": _ANY,
    "salesChannel": _ANY,
    "fulfillment": {"fulfillmentStatus": _ANY, "fulfilledBy": _ANY, "fulfillmentServiceLevel": _ANY},
    "proceeds": _ANY,
    "orderItems": [
        {
            "orderItemId": _ANY,
            "quantityOrdered": _ANY,
            "programs": _ANY,
            "product": {"asin": _ANY, "sellerSku": _ANY, "title": _ANY, "condition": _ANY, "price": _ANY},
            "proceeds": _ANY,
            "expense": _ANY,
            "promotion": _ANY,
            "cancellation": {
                "cancellationRequest": {"requester": _ANY, "cancelReason": _ANY},
                "cancellationExecution": _ANY,
            },
            "fulfillment": {"quantityFulfilled": _ANY, "quantityUnfulfilled": _ANY},
        }
    ],
    "packages": [
        {
            "packageReferenceId": _ANY,
            "createdTime": _ANY,
            "packageStatus": _ANY,
            "carrier": _ANY,
            "shipTime": _ANY,
            "shippingService": _ANY,
            "trackingNumber": _ANY,
            "packageItems": [{"orderItemId": _ANY, "quantity": _ANY}],
        }
    ],
}


class InvalidKey(ValueError):
    """The key material is unusable (the message never holds a key)."""


class BuyerDataCipher:
    """Encrypt with the first key, decrypt with any (``MultiFernet``); tokens are ASCII text.

    ``keys``: url-safe base64 Fernet keys (``Fernet.generate_key()``), newest first.
    """

    def __init__(self, keys: Iterable[str | bytes]) -> None:
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip() if isinstance(key, bytes) else key.strip().encode()))
            except (ValueError, TypeError):
                raise InvalidKey(f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)") from None
        if not fernets:
            raise InvalidKey("no key given")
        self.key_count = len(fernets)
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    def __repr__(self) -> str:  # never show a key
        return f"BuyerDataCipher({self.key_count} key(s))"

    def encrypt(self, data: bytes) -> bytes:
        """A token of ``data`` under the first key."""
        return self._primary.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        """The data of a token made under any of the keys; raises :class:`InvalidToken` otherwise."""
        return self._all.decrypt(token)

    def encrypt_text(self, value: str | None) -> str | None:
        """``value`` as a token (text); None stays None."""
        return None if value is None else self.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt_text(self, value: str | None) -> str | None:
        """The text of a token; a value that is no token is returned as it is (written before encryption)."""
        if value is None or not is_token(value):
            return value
        return self.decrypt(value.encode("ascii")).decode("utf-8")

    def rotate(self, value: bytes) -> bytes:
        """``value`` (a token under any key, or clear data from before encryption) as a token under the first key."""
        if is_token(value):
            return self._all.rotate(value)
        return self.encrypt(value)


def is_token(value: str | bytes) -> bool:
    """Whether a stored value is a Fernet token (else: clear data written before encryption)."""
    return (value.encode("ascii", "ignore") if isinstance(value, str) else value).startswith(TOKEN_PREFIX)


def _kept(value: Any, spec: Any) -> Any:
    if spec is _ANY:
        return value
    if isinstance(spec, list):
        return [_kept(element, spec[0]) for element in value] if isinstance(value, list) else None
    if isinstance(spec, dict) and isinstance(value, dict):
        return {key: _kept(value[key], inner) for key, inner in spec.items() if key in value}
    return None


def redact_order(order: Any, purged_at: datetime) -> dict[str, Any]:
    """The raw order reduced to :data:`KEPT_FIELDS`, marked with :data:`PURGED_KEY` (anything not an order: the mark)."""
    kept = _kept(order, KEPT_FIELDS) if isinstance(order, dict) else {}
    return {**(kept or {}), PURGED_KEY: purged_at.isoformat()}


def is_purged(order: Any) -> bool:
    """Whether a raw order is the purged remains of one (:func:`redact_order`)."""
    return isinstance(order, dict) and PURGED_KEY in order


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Orders whose last update in a final status is older than this lose their buyer data."""
    return now - timedelta(days=retention_days)


def past_retention(order: Any, cutoff: datetime) -> bool:
    """Whether a raw landed order is in a final status and last updated before ``cutoff``."""
    if not isinstance(order, dict) or is_purged(order):
        return False
    fulfillment = order.get("fulfillment")
    status = fulfillment.get("fulfillmentStatus") if isinstance(fulfillment, dict) else None
    stamp = order.get("lastUpdatedTime")
    if status not in RETENTION_STATUSES or not isinstance(stamp, str):
        return False
    try:
        updated = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    return updated.tzinfo is not None and updated < cutoff


__all__ = [
    "KEPT_FIELDS", "PURGED_KEY", "RETENTION_STATUSES", "BuyerDataCipher", "InvalidToken", "InvalidKey", "is_purged",
    "is_token", "past_retention", "redact_order", "retention_cutoff",
]  # fmt: skip
