"""Orders v0 ``confirmShipment``: request validation and its effect on the order timeline."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from sandbox.generator import order_status, ship_package
from sandbox.spapi.errors import ApiError, invalid_input
from sandbox.spapi.times import iso_z, parse_iso

_POSITIVE_NUMERIC = re.compile(r"^0*[1-9][0-9]*$")


def _require_str(obj: dict[str, Any], name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_input(
            f"Missing or invalid '{name}' in {where}.", f"'{name}' is required and must be a non-empty string."
        )
    return value


def validate_request(body: Any) -> dict[str, Any]:
    """Check a ConfirmShipmentRequest's shape and field formats; returns the packageDetail."""
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a ConfirmShipmentRequest JSON object.")
    _require_str(body, "marketplaceId", "request")
    if "codCollectionMethod" in body and body["codCollectionMethod"] != "DirectPayment":
        raise invalid_input("Invalid 'codCollectionMethod'.", "The only supported value is DirectPayment.")
    detail = body.get("packageDetail")
    if not isinstance(detail, dict):
        raise invalid_input("Missing or invalid 'packageDetail' in request.")
    ref = detail.get("packageReferenceId")
    if not isinstance(ref, str) or not _POSITIVE_NUMERIC.match(ref):
        raise invalid_input(
            "Invalid 'packageReferenceId'.", "packageReferenceId must be a string holding a positive numeric value."
        )
    carrier = _require_str(detail, "carrierCode", "packageDetail")
    if carrier.strip().lower() == "other":
        _require_str(detail, "carrierName", "packageDetail (required when carrierCode is Other)")
    for optional in ("carrierName", "shippingMethod", "shipFromSupplySourceId"):
        if optional in detail and not isinstance(detail[optional], str):
            raise invalid_input(f"Invalid '{optional}' in packageDetail.", f"'{optional}' must be a string.")
    _require_str(detail, "trackingNumber", "packageDetail")
    ship_date = _require_str(detail, "shipDate", "packageDetail")
    try:
        parse_iso(ship_date)
    except ValueError:
        raise invalid_input("Invalid 'shipDate'.", f"'{ship_date}' is not an ISO 8601 date-time.") from None
    items = detail.get("orderItems")
    if not isinstance(items, list) or not items:
        raise invalid_input("Missing or invalid 'orderItems' in packageDetail.", "At least one order item is required.")
    for entry in items:
        if not isinstance(entry, dict):
            raise invalid_input("Invalid entry in 'orderItems'.")
        _require_str(entry, "orderItemId", "orderItems")
        qty = entry.get("quantity")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            raise invalid_input("Invalid 'quantity' in orderItems.", "quantity must be a positive integer.")
        codes = entry.get("transparencyCodes")
        if codes is not None and (not isinstance(codes, list) or not all(isinstance(c, str) for c in codes)):
            raise invalid_input(
                "Invalid 'transparencyCodes' in orderItems.", "transparencyCodes must be a list of strings."
            )
    return detail


def apply(order: dict[str, Any], body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The order's next version after this confirmation, or a 400 when Amazon would refuse it."""
    detail = validate_request(body)
    order_id = order["orderId"]
    if body["marketplaceId"] != (order.get("salesChannel") or {}).get("marketplaceId"):
        raise invalid_input(
            "Invalid 'marketplaceId'.", f"Order {order_id} was not placed in marketplace {body['marketplaceId']}."
        )
    fulfillment = order.get("fulfillment") or {}
    if fulfillment.get("fulfilledBy") != "MERCHANT":
        raise invalid_input(
            "Shipment confirmation is not allowed for this order.", f"Order {order_id} is fulfilled by Amazon."
        )
    status = order_status(order)
    if status == "CANCELLED":
        raise invalid_input("Shipment confirmation is not allowed for this order.", f"Order {order_id} is cancelled.")
    if status in ("PENDING", "PENDING_AVAILABILITY"):
        raise invalid_input("Shipment confirmation is not allowed for this order.", f"Order {order_id} is pending.")
    ordered = {item["orderItemId"]: int(item.get("quantityOrdered", 0)) for item in order.get("orderItems", [])}
    in_package: Counter[str] = Counter()
    for entry in detail["orderItems"]:
        if entry["orderItemId"] not in ordered:
            raise invalid_input(
                "Invalid 'orderItemId'.", f"Order item {entry['orderItemId']} does not belong to order {order_id}."
            )
        in_package[entry["orderItemId"]] += entry["quantity"]
    ref = str(int(detail["packageReferenceId"]))
    shipped: Counter[str] = Counter(in_package)
    for package in order.get("packages", []):
        if package.get("packageReferenceId") == ref:
            continue  # re-sending a packageReferenceId replaces that package
        for entry in package.get("packageItems", []):
            shipped[entry["orderItemId"]] += int(entry.get("quantity", 0))
    for item_id, qty in shipped.items():
        if qty > ordered[item_id]:
            raise invalid_input(
                "Shipped quantity exceeds the ordered quantity.",
                f"Order item {item_id}: {qty} confirmed across packages, {ordered[item_id]} ordered.",
            )
    stamp = iso_z(now)
    package: dict[str, Any] = {
        "packageReferenceId": ref,
        "createdTime": stamp,
        "packageStatus": {"status": "SHIPPED"},
        "carrier": detail.get("carrierName") or detail["carrierCode"],
        "shipTime": iso_z(parse_iso(detail["shipDate"])),
        "trackingNumber": detail["trackingNumber"],
    }
    if detail.get("shippingMethod"):
        package["shippingService"] = detail["shippingMethod"]
    version = ship_package(order, now, package, list(in_package.items()))
    codes = {e["orderItemId"]: e["transparencyCodes"] for e in detail["orderItems"] if e.get("transparencyCodes")}
    if codes:
        for pkg in version["packages"]:
            if pkg["packageReferenceId"] == ref:
                for entry in pkg["packageItems"]:
                    if entry["orderItemId"] in codes:
                        entry["transparencyCodes"] = codes[entry["orderItemId"]]
    return version


def not_found(order_id: str) -> ApiError:
    return ApiError(404, "NotFound", "The requested order was not found.", f"No order exists with orderId {order_id}.")
