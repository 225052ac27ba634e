"""Commerce shipments → Amazon packages for ``confirmShipment`` (pure functions, no I/O).

One Amazon package per Commerce tracking number (``sales_shipment_track``):

* **packageReferenceId** — ``str(shipment_id * 10**10 + track_id)``: the Commerce
  shipment id followed by the track id zero-padded to ten digits (shipment 12,
  track 34 → ``"120000000034"``). Magento's ids are ``int(10) unsigned``
  (< 4,294,967,296 < 10**10), so the mapping is injective for every possible
  pair: collision-free across the whole Commerce instance, hence within every
  Amazon order and account, positive and numeric as the v0 spec requires, and
  stable — re-sending a package edits it on Amazon instead of adding another.
* **carrierCode** — Magento's carrier code mapped to Amazon's (:data:`CARRIER_CODES`:
  ``ups`` → ``UPS``, ``usps`` → ``USPS``, ``fedex`` → ``FedEx``, ``dhl`` → ``DHL``…).
  A custom carrier (``custom`` or any unknown code) whose title names a known
  carrier ("FedEx", "Canada Post") gets that carrier's code; anything else is
  sent as ``"Other"`` with the track title as ``carrierName`` (the spec requires
  ``carrierName`` when the code is Other).
* **shippingMethod** — the track's description when set, else its title when
  that says more than the carrier's name ("UPS Ground"); omitted otherwise.
* **shipDate** — when the Commerce shipment was created (Magento stores UTC).
* **orderItems** — the Amazon ``orderItemId`` and quantity of every item the
  shipment contains, mapped through the Commerce order item's
  ``ext_order_item_id`` (kept in ``channel_order_item.commerce_order_item_id``).
  A shipment with several tracking numbers is split unit by unit across them in
  track order (:func:`split_units`): Commerce does not record which box holds
  which item, and Amazon needs each unit in exactly one package.

A package that cannot be sent (an item without an Amazon order item, a
fractional quantity, more tracking numbers than units) carries a
``status`` skipped, its ``skip_reason`` saying why, instead of being guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from include.domain.windows import Window, WindowError, parse_timestamp

#: Track ids are below 10**10 (Magento: int(10) unsigned), so shipment * 10**10 + track never collides.
TRACK_ID_DIGITS = 10
_TRACK_FACTOR = 10**TRACK_ID_DIGITS

OTHER = "Other"

#: Magento carrier code (lower case, letters and digits only) → Amazon ``carrierCode``.
CARRIER_CODES: dict[str, str] = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhlexpress": "DHL",
    "dhlint": "DHL",
    "ontrac": "OnTrac",
    "lasership": "Lasership",
    "canadapost": "Canada Post",
    "purolator": "Purolator",
    "estafeta": "Estafeta",
    "royalmail": "Royal Mail",
    "dpd": "DPD",
    "gls": "GLS",
    "tnt": "TNT",
}
#: Carrier names as a title may spell them (normalised like the codes) → Amazon ``carrierCode``.
CARRIER_NAMES: dict[str, str] = {
    **CARRIER_CODES,
    "unitedparcelservice": "UPS",
    "unitedstatespostalservice": "USPS",
    "federalexpress": "FedEx",
}

#: The beginning of the status-history comment a completed Commerce order gets (also how we find it again).
COMMENT_PREFIX = "Tracking sent to Amazon"


class PackageError(ValueError):
    """A Commerce shipment cannot become Amazon packages (the message says why)."""


def _norm(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (value or "").lower())


# ----------------------------------------------------------------------------------------------------------- ids


def package_reference_id(shipment_id: int, track_id: int) -> str:
    """The stable numeric packageReferenceId of one Commerce track (see the module docstring)."""
    shipment_id, track_id = int(shipment_id), int(track_id)
    if shipment_id < 1 or not 1 <= track_id < _TRACK_FACTOR:
        raise PackageError(f"shipment id {shipment_id} / track id {track_id} out of range for a packageReferenceId")
    return str(shipment_id * _TRACK_FACTOR + track_id)


def parse_package_reference_id(reference: str) -> tuple[int, int]:
    """The Commerce ``(shipment_id, track_id)`` a packageReferenceId was made from."""
    if not re.fullmatch(r"[1-9][0-9]*", str(reference)) or int(reference) < _TRACK_FACTOR:
        raise PackageError(f"{reference!r} is not a packageReferenceId made by this pipeline")
    shipment_id, track_id = divmod(int(reference), _TRACK_FACTOR)
    return shipment_id, track_id


# ----------------------------------------------------------------------------------------------------------- carrier


@dataclass(frozen=True)
class Carrier:
    """Amazon's ``carrierCode`` and, for ``Other``, the ``carrierName``."""

    code: str
    name: str | None = None


def amazon_carrier(carrier_code: str | None, title: str | None) -> Carrier:
    """Map a Commerce track's carrier code and title to Amazon's carrier (see the module docstring)."""
    known = CARRIER_CODES.get(_norm(carrier_code)) or CARRIER_NAMES.get(_norm(title))
    if known:
        return Carrier(known)
    name = (title or "").strip() or (carrier_code or "").strip() or "Unknown carrier"
    return Carrier(OTHER, name[:255])


def shipping_method(track: Mapping[str, Any], carrier: Carrier) -> str | None:
    """The track's description, else its title when it is more than the carrier's name; None otherwise."""
    description = str(track.get("description") or "").strip()
    if description:
        return description[:255]
    title = str(track.get("title") or "").strip()
    if not title or carrier.code == OTHER:
        return None
    if _norm(title) in (_norm(carrier.code), _norm(track.get("carrier_code"))) or CARRIER_NAMES.get(_norm(title)):
        return None
    return title[:255]


# ----------------------------------------------------------------------------------------------------------- times


def parse_commerce_time(value: Any, what: str = "timestamp") -> datetime:
    """A Magento timestamp (``YYYY-MM-DD HH:MM:SS``, UTC) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise PackageError(f"{what} is not a timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_z(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------------------------------------- packages


@dataclass(frozen=True)
class Package:
    """One tracking number of one Commerce shipment, as one Amazon package: built from the shipment,
    recorded in ``channel_shipment_push`` and sent with ``confirmShipment`` — the one representation
    of a package everywhere in the tracking push.

    ``status``: pending (to send), skipped (cannot be built: ``last_error`` says why), confirmed,
    failed (retried next run) or refused (Amazon said no: ``last_error`` holds its reason).
    """

    amazon_order_id: str
    marketplace_id: str | None
    package_reference_id: str
    commerce_order_id: int | None
    commerce_shipment_id: int
    commerce_track_id: int
    carrier_code: str
    carrier_name: str | None
    shipping_method: str | None
    tracking_number: str
    ship_date: datetime | None
    items: tuple[tuple[str, int], ...]
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None

    @property
    def skip_reason(self) -> str | None:
        """Why the package cannot be sent (only for a skipped one)."""
        return self.last_error if self.status == "skipped" else None

    def package_detail(self) -> dict[str, Any]:
        """Amazon's ``PackageDetail`` for ``confirmShipment`` (optional fields only when set)."""
        detail: dict[str, Any] = {
            "packageReferenceId": str(self.package_reference_id),
            "carrierCode": self.carrier_code,
            "trackingNumber": self.tracking_number,
            "shipDate": iso_z(self.ship_date) if self.ship_date else None,
            "orderItems": [{"orderItemId": str(item_id), "quantity": int(qty)} for item_id, qty in self.items],
        }
        if self.carrier_name:
            detail["carrierName"] = self.carrier_name
        if self.shipping_method:
            detail["shippingMethod"] = self.shipping_method
        return detail

    def items_json(self) -> str:
        return items_to_json(self.items)

    def content(self) -> tuple:
        """What Amazon would be told: a change means the package must be sent again (an edit)."""
        return (
            self.carrier_code,
            self.carrier_name,
            self.shipping_method,
            self.tracking_number,
            iso_z(self.ship_date) if self.ship_date else None,
            self.items_json(),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for run summaries (no buyer data in a package)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["ship_date"] = iso_z(self.ship_date) if self.ship_date else None
        data["items"] = [list(item) for item in self.items]
        return data


def items_to_json(items: Iterable[tuple[str, int]]) -> str:
    """The canonical JSON of a package's items: ``[["<orderItemId>", qty], ...]``."""
    return json.dumps([[str(i), int(q)] for i, q in items], separators=(",", ":"))


def items_from_json(text: str) -> tuple[tuple[str, int], ...]:
    return tuple((str(i), int(q)) for i, q in json.loads(text or "[]"))


def split_units(items: Sequence[tuple[str, int]], parts: int) -> list[list[tuple[str, int]]]:
    """Split item quantities over ``parts`` packages, unit by unit in order, sizes as even as possible.

    The first ``units % parts`` packages take one unit more. A package whose share
    is zero units (more tracking numbers than units) comes back empty.
    """
    if parts < 1:
        raise ValueError("parts must be >= 1")
    units = [item_id for item_id, qty in items for _ in range(qty)]
    base, extra = divmod(len(units), parts)
    out: list[list[tuple[str, int]]] = []
    start = 0
    for index in range(parts):
        size = base + (1 if index < extra else 0)
        chunk: list[tuple[str, int]] = []
        for item_id in units[start : start + size]:
            if chunk and chunk[-1][0] == item_id:
                chunk[-1] = (item_id, chunk[-1][1] + 1)
            else:
                chunk.append((item_id, 1))
        out.append(chunk)
        start += size
    return out


def shipment_items(shipment: Mapping[str, Any], amazon_item_for: Mapping[int, str]) -> list[tuple[str, int]]:
    """The shipment's ``(amazon orderItemId, quantity)`` pairs, in Commerce item order.

    ``amazon_item_for`` maps Commerce ``order_item_id`` → Amazon ``orderItemId``.
    Raises :class:`PackageError` for an unmapped item or a fractional quantity.
    """
    quantities: dict[str, int] = {}
    rows = sorted(shipment.get("items") or [], key=lambda i: int(i.get("order_item_id") or 0))
    for row in rows:
        qty = float(row.get("qty") or 0)
        if qty <= 0:
            continue
        commerce_item = int(row.get("order_item_id") or 0)
        amazon_item = amazon_item_for.get(commerce_item)
        if amazon_item is None:
            raise PackageError(
                f"Commerce order item {commerce_item} (SKU {row.get('sku')}) has no Amazon order item to confirm"
            )
        if qty != int(qty):
            raise PackageError(f"Commerce order item {commerce_item} ships a fractional quantity {qty}")
        quantities[amazon_item] = quantities.get(amazon_item, 0) + int(qty)
    return list(quantities.items())


def packages_for_shipment(
    shipment: Mapping[str, Any], *, amazon_order_id: str, marketplace_id: str, amazon_item_for: Mapping[int, str]
) -> list[Package]:
    """One :class:`Package` per tracking number of a Commerce shipment (none when it has no tracking yet)."""
    shipment_id = int(shipment["entity_id"])
    order_id = int(shipment["order_id"])
    tracks = sorted(
        (t for t in shipment.get("tracks") or [] if str(t.get("track_number") or "").strip()),
        key=lambda t: int(t["entity_id"]),
    )
    if not tracks:
        return []
    ship_date = parse_commerce_time(shipment.get("created_at"), f"shipment {shipment_id} created_at")
    reason = None
    try:
        items = shipment_items(shipment, amazon_item_for)
        if not items:
            raise PackageError(f"shipment {shipment_id} contains no items")
        shares = split_units(items, len(tracks))
    except PackageError as exc:
        reason, shares = str(exc), [[] for _ in tracks]
    packages = []
    for track, share in zip(tracks, shares, strict=True):
        carrier = amazon_carrier(track.get("carrier_code"), track.get("title"))
        skip = reason
        if skip is None and not share:
            skip = (
                f"shipment {shipment_id} has {len(tracks)} tracking numbers for "
                f"{sum(q for _, q in items)} unit(s): no unit is left for this one"
            )
        packages.append(
            Package(
                amazon_order_id=amazon_order_id,
                marketplace_id=marketplace_id,
                package_reference_id=package_reference_id(shipment_id, int(track["entity_id"])),
                commerce_order_id=order_id,
                commerce_shipment_id=shipment_id,
                commerce_track_id=int(track["entity_id"]),
                carrier_code=carrier.code,
                carrier_name=carrier.name,
                shipping_method=shipping_method(track, carrier),
                tracking_number=str(track["track_number"]).strip()[:255],
                ship_date=ship_date,
                items=tuple(share),
                status="skipped" if skip else "pending",
                last_error=skip,
            )
        )
    return packages


def map_commerce_items(
    commerce_items: Iterable[Mapping[str, Any]], amazon_items: Mapping[str, str | None]
) -> dict[str, int]:
    """Amazon ``orderItemId`` → Commerce ``item_id`` for one order.

    ``commerce_items`` are the Commerce order's items; ``amazon_items`` maps each
    Amazon orderItemId to its SKU. The Commerce item's ``ext_order_item_id`` (set
    at import) decides; an item without one is matched by SKU when that SKU
    occurs exactly once on both sides. Child rows (``parent_item_id``) are ignored.
    """
    found: dict[str, int] = {}
    unmatched = []
    for item in commerce_items:
        if item.get("parent_item_id"):
            continue
        ext = str(item.get("ext_order_item_id") or "").strip()
        if ext and ext in amazon_items:
            found[ext] = int(item["item_id"])
        else:
            unmatched.append(item)
    skus: dict[str, list[str]] = {}
    for amazon_id, sku in amazon_items.items():
        if amazon_id not in found and sku:
            skus.setdefault(sku, []).append(amazon_id)
    commerce_skus: dict[str, list[Mapping[str, Any]]] = {}
    for item in unmatched:
        commerce_skus.setdefault(str(item.get("sku") or ""), []).append(item)
    for sku, amazon_ids in skus.items():
        candidates = commerce_skus.get(sku, [])
        if len(amazon_ids) == 1 and len(candidates) == 1:
            found[amazon_ids[0]] = int(candidates[0]["item_id"])
    return found


# ----------------------------------------------------------------------------------------------------------- errors


#: Magento's state of a held order (``POST /V1/orders/{id}/hold``).
HELD_STATE = "holded"


def held_reason(increment_id: str | None) -> str | None:
    """Why a package of a held Commerce order is not confirmed to Amazon (recorded on the package, shown in reports)."""
    order = f"Commerce order {increment_id}" if increment_id else "the Commerce order"
    return (
        f"not sent: {order} is on hold (e.g. the buyer asked Amazon to cancel it); confirmed to Amazon once the "
        "hold is released, checked on every run"
    )


def is_permanent_refusal(status: int | None) -> bool:
    """Whether an SP-API error status means Amazon refused the package for good (kept, not retried).

    400/404/409/422 (the order is cancelled, not ours, quantities exceed…) are
    refusals. 401/403 are credentials, 408/429 and 5xx are transient, and no
    status at all is a transport failure: those are retried on the next run.
    """
    return status is not None and 400 <= status < 500 and status not in (401, 403, 408, 429)


# ----------------------------------------------------------------------------------------------------------- window

#: How far back the first run looks when no imported order gives a better start.
FIRST_RUN_LOOKBACK = timedelta(days=1)


def shipment_window(
    *,
    now: datetime,
    overlap: timedelta,
    high_water_mark: datetime | None,
    data_interval_start: datetime | None = None,
    oldest_order: datetime | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Window:
    """The ``updated_at`` range of Commerce shipments a run reads.

    * ``since``/``until`` (ISO 8601) win when given (``until`` defaults to now).
    * Otherwise the window ends now and starts at the high-water mark minus the
      overlap, reaching back to the data interval's start (minus overlap) for a
      backfill of an older interval. Before the first run it starts at the
      creation of the oldest imported merchant-fulfilled order (no shipment of
      ours can be older), or ``now - 1 day`` when nothing is imported yet.

    Commerce has no two-minute rule: the end is not clamped (the overlap covers
    a shipment committed while the previous run was reading).
    """
    now = _aware(now, "now")
    if overlap < timedelta(0):
        raise WindowError(f"overlap must not be negative, got {overlap}")
    if since or until:
        if not since:
            raise WindowError("shipments_until was given without shipments_since; give both or neither")
        start = parse_timestamp(since, "shipments_since")
        end = parse_timestamp(until, "shipments_until") if until else now
        if end < start:
            raise WindowError(f"shipments_until {iso_z(end)} is before shipments_since {iso_z(start)}")
        return Window(start, end)
    if high_water_mark is not None:
        start = _aware(high_water_mark, "high_water_mark") - overlap
    elif oldest_order is not None:
        start = _aware(oldest_order, "oldest_order") - overlap
    else:
        start = now - FIRST_RUN_LOOKBACK
    if data_interval_start is not None:
        start = min(start, _aware(data_interval_start, "data_interval_start") - overlap)
    return Window(min(start, now), now)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise WindowError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    u = value.astimezone(UTC)
    return datetime(u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, tzinfo=UTC)


# ----------------------------------------------------------------------------------------------------------- comment


def completion_comment(amazon_order_id: str, packages: Sequence[tuple[str, str]]) -> str:
    """The Commerce status-history comment of a fully confirmed order; ``packages``: ``(carrier, tracking)``."""
    listed = ", ".join(f"{carrier} {number}" for carrier, number in packages)
    count = len(packages)
    return (
        f"{COMMENT_PREFIX} for Amazon order {amazon_order_id}: {count} package{'s' if count != 1 else ''} "
        f"confirmed ({listed}). Amazon notifies the buyer; no Commerce e-mail was sent."
    )
