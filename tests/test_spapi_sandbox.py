"""The SP-API sandbox over real HTTP: LWA, searchOrders/getOrder rules, confirmShipment, usage plans, faults.

Every response body is validated against the published Swagger 2.0 definitions
(``../shared/specs/sp-api``), errors included.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from sandbox import credentials
from sandbox.spapi.times import iso_z, parse_iso
from tests.conftest import start_sandbox

SEARCH = "/orders/2026-01-01/orders"
ALL_SECTIONS = ("BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                "TAX", "PAYMENT", "FULFILLMENT_ORDERS")  # fmt: skip
US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# -- spec validation helper ------------------------------------------------------------------------
class SpecValidator:
    """Validates JSON bodies against a Swagger 2.0 file's ``definitions`` (``$ref``s resolved in-document)."""

    def __init__(self, path: Path) -> None:
        self.spec = json.loads(path.read_text())
        checker = jsonschema.FormatChecker(formats=())
        checker.checks("date-time")(lambda v: not isinstance(v, str) or bool(_RFC3339.match(v)))
        checker.checks("date")(lambda v: not isinstance(v, str) or bool(re.match(r"^\d{4}-\d{2}-\d{2}$", v)))
        self._checker = checker

    def validate(self, definition: str, body: Any) -> None:
        schema = {"definitions": self.spec["definitions"], "$ref": f"#/definitions/{definition}"}
        jsonschema.Draft4Validator(schema, format_checker=self._checker).validate(body)


@pytest.fixture(scope="module")
def orders_spec(specs_dir: Path) -> SpecValidator:
    return SpecValidator(specs_dir / "sp-api" / "orders_2026-01-01.json")


@pytest.fixture(scope="module")
def v0_spec(specs_dir: Path) -> SpecValidator:
    return SpecValidator(specs_dir / "sp-api" / "ordersV0.json")


# -- helpers ---------------------------------------------------------------------------------------
def lwa(sandbox, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": credentials.LWA_REFRESH_TOKEN,
        "client_id": credentials.LWA_CLIENT_ID,
        "client_secret": credentials.LWA_CLIENT_SECRET,
        **overrides,
    }
    return sandbox.spapi("POST", "/auth/o2/token", data=form)


def auth(sandbox) -> dict[str, str]:
    response = lwa(sandbox)
    assert response.status_code == 200, response.text
    return {"x-amz-access-token": response.json()["access_token"]}


def set_clock(sandbox, moment: datetime | None) -> None:
    body = {"now": iso_z(moment) if moment else None}
    sandbox.spapi("PUT", "/_sandbox/clock", json=body).raise_for_status()


def rate_limits(sandbox, mode: str, factor: float = 1.0) -> None:
    sandbox.spapi("PUT", "/_sandbox/rate-limits", json={"mode": mode, "factor": factor}).raise_for_status()


def search(sandbox, headers: dict[str, str], **params: Any) -> httpx.Response:
    query = {k: ",".join(v) if isinstance(v, list | tuple) else v for k, v in params.items()}
    return sandbox.spapi("GET", SEARCH, params=query, headers=headers)


def get_order(
    sandbox, headers: dict[str, str], order_id: str, included: tuple[str, ...] = ALL_SECTIONS
) -> httpx.Response:
    params = {"includedData": ",".join(included)} if included else {}
    return sandbox.spapi("GET", f"{SEARCH}/{order_id}", params=params, headers=headers)


def confirm(sandbox, headers: dict[str, str], order_id: str, **detail: Any) -> httpx.Response:
    marketplace = detail.pop("marketplaceId", US)
    package = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "shippingMethod": "UPS Ground",
        "trackingNumber": "1Z999AA10123456784",
        "shipDate": "2026-01-10T10:00:00Z",
        **detail,
    }
    body = {"marketplaceId": marketplace, "packageDetail": package}
    return sandbox.spapi("POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation", json=body, headers=headers)


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currencyCode": currency}


def make_order(
    order_id: str,
    created: datetime,
    updated: datetime | None = None,
    status: str = "UNSHIPPED",
    fulfilled_by: str = "MERCHANT",
    items: tuple[tuple[str, int], ...] = (("10000000000001", 2), ("10000000000002", 1)),
    marketplace: str = US,
) -> dict[str, Any]:
    """A complete v2026-01-01 Order (every item at 10.00 + 0.80 tax per unit)."""
    currency = {US: "USD", CA: "CAD"}.get(marketplace, "USD")
    order_items = []
    for item_id, qty in items:
        order_items.append({
            "orderItemId": item_id,
            "quantityOrdered": qty,
            "product": {"asin": "B000000001", "title": "Mug", "sellerSku": "MUG-001",
                        "price": {"unitPrice": money("10.00", currency)}},
            "proceeds": {"proceedsTotal": money(f"{10.8 * qty:.2f}", currency), "breakdowns": [
                {"type": "ITEM", "subtotal": money(f"{10 * qty:.2f}", currency)},
                {"type": "TAX", "subtotal": money(f"{0.8 * qty:.2f}", currency)}]},
            "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": qty},
        })  # fmt: skip
    total = sum(10.8 * q for _, q in items)
    return {
        "orderId": order_id,
        "createdTime": iso_z(created),
        "lastUpdatedTime": iso_z(updated or created),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace},
        "buyer": {"buyerName": "Test Buyer", "buyerEmail": "test@marketplace.amazon.com"},
        "recipient": {"deliveryAddress": {"name": "Test Buyer", "addressLine1": "1 Main St", "city": "Seattle",
                                          "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US"}},
        "proceeds": {"grandTotal": money(f"{total:.2f}", currency)},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": fulfilled_by},
        "orderItems": order_items,
    }  # fmt: skip


def put_orders(sandbox, orders: list[dict[str, Any]]) -> None:
    response = sandbox.spapi("POST", "/_sandbox/orders", json=orders)
    assert response.status_code == 200, response.text


def fetch_all(sandbox, headers: dict[str, str], spec: SpecValidator | None = None, **params: Any) -> list[dict]:
    """Every page of a search, validating each page."""
    orders, token = [], None
    for _ in range(1000):
        response = search(sandbox, headers, **params, **({"paginationToken": token} if token else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        if spec:
            spec.validate("SearchOrdersResponse", body)
        orders += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            return orders
    raise AssertionError("pagination did not end")


NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


# -- health and LWA --------------------------------------------------------------------------------
def test_health_and_request_id(sandbox):
    response = sandbox.spapi("GET", "/_sandbox/health")
    assert response.status_code == 200
    assert response.headers["x-amzn-RequestId"]


def test_lwa_token_and_errors(sandbox):
    ok = lwa(sandbox)
    assert ok.status_code == 200
    body = ok.json()
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["refresh_token"] == credentials.LWA_REFRESH_TOKEN

    bad_client = lwa(sandbox, client_secret="wrong")
    assert bad_client.status_code == 401
    assert bad_client.json()["error"] == "invalid_client" and bad_client.json()["error_description"]
    bad_grant = lwa(sandbox, refresh_token="Atzr|unknown")
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"
    missing = lwa(sandbox, refresh_token="")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    grant_type = lwa(sandbox, grant_type="password")
    assert grant_type.status_code == 400 and grant_type.json()["error"] == "unsupported_grant_type"


def test_missing_unknown_and_expired_access_tokens(sandbox, orders_spec):
    set_clock(sandbox, NOW)
    headers = auth(sandbox)
    params = {"lastUpdatedAfter": iso_z(NOW - timedelta(hours=1))}
    assert search(sandbox, headers, **params).status_code == 200

    for bad in ({}, {"x-amz-access-token": "Atza|not-issued"}):
        response = search(sandbox, bad, **params)
        assert response.status_code == 403
        orders_spec.validate("ErrorList", response.json())
        assert response.json()["errors"][0]["code"] == "Unauthorized"
        assert response.json()["errors"][0]["message"] == "Access to requested resource is denied."

    set_clock(sandbox, NOW + timedelta(minutes=61))
    expired = search(sandbox, headers, **params)
    assert expired.status_code == 403
    orders_spec.validate("ErrorList", expired.json())
    assert expired.json() == {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                          "details": "The access token you provided has expired."}]}  # fmt: skip
    assert "x-amzn-RateLimit-Limit" not in expired.headers
    refreshed = auth(sandbox)
    assert search(sandbox, refreshed, **params).status_code == 200


# -- searchOrders and getOrder ---------------------------------------------------------------------
def test_search_and_get_validate_against_spec(sandbox, orders_spec):
    set_clock(sandbox, NOW)
    summary = sandbox.spapi("POST", "/_sandbox/orders/generate", json={"count": 60, "hours": 24, "seed": 3}).json()
    assert summary["generated"] == 60
    headers = auth(sandbox)
    orders = fetch_all(
        sandbox, headers, orders_spec, createdAfter=iso_z(NOW - timedelta(days=2)), includedData=ALL_SECTIONS
    )
    assert len(orders) == 60
    statuses = {o["fulfillment"]["fulfillmentStatus"] for o in orders}
    assert {"PENDING", "UNSHIPPED", "SHIPPED"} <= statuses
    for order in orders[:10]:
        response = get_order(sandbox, headers, order["orderId"])
        assert response.status_code == 200
        orders_spec.validate("GetOrderResponse", response.json())
        assert response.json()["order"] == order
        assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"
        assert response.headers["x-amzn-RequestId"]

    missing = get_order(sandbox, headers, "111-0000000-0000000")
    assert missing.status_code == 404
    orders_spec.validate("ErrorList", missing.json())
    malformed = get_order(sandbox, headers, "not-an-order")
    assert malformed.status_code == 400
    orders_spec.validate("ErrorList", malformed.json())


def test_search_response_shape_and_defaults(sandbox, orders_spec):
    set_clock(sandbox, NOW)
    put_orders(sandbox, [make_order("111-0000001-0000001", NOW - timedelta(hours=2))])
    headers = auth(sandbox)
    response = search(sandbox, headers, lastUpdatedAfter=iso_z(NOW - timedelta(days=1)))
    assert response.status_code == 200
    body = response.json()
    orders_spec.validate("SearchOrdersResponse", body)
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert response.headers["x-amzn-RequestId"]
    assert "pagination" not in body
    # lastUpdatedBefore defaults to two minutes before the request
    assert body["lastUpdatedBefore"] == iso_z(NOW - timedelta(minutes=2))
    created = search(sandbox, headers, createdAfter=iso_z(NOW - timedelta(days=1))).json()
    assert created["createdBefore"] == iso_z(NOW - timedelta(minutes=2)) and "lastUpdatedBefore" not in created
    # without includedData only the base order is returned
    order = body["orders"][0]
    assert set(order) == {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems"}
    assert set(order["orderItems"][0]) == {"orderItemId", "quantityOrdered", "product"}


def test_included_data_sections(sandbox, orders_spec):
    set_clock(sandbox, NOW)
    shipped = make_order("111-0000002-0000001", NOW - timedelta(hours=3), NOW - timedelta(hours=1), status="SHIPPED")
    shipped["packages"] = [{"packageReferenceId": "1", "trackingNumber": "T1",
                            "packageItems": [{"orderItemId": "10000000000001", "quantity": 2},
                                             {"orderItemId": "10000000000002", "quantity": 1}]}]  # fmt: skip
    put_orders(sandbox, [shipped])
    headers = auth(sandbox)
    cases = {
        ("BUYER",): ({"buyer"}, set()),
        ("RECIPIENT",): ({"recipient"}, set()),
        ("PROCEEDS",): ({"proceeds"}, {"proceeds"}),
        ("FULFILLMENT",): ({"fulfillment"}, {"fulfillment"}),
        ("PACKAGES",): ({"packages"}, set()),
        ("BUYER", "PACKAGES", "FULFILLMENT"): ({"buyer", "packages", "fulfillment"}, {"fulfillment"}),
        ALL_SECTIONS: ({"buyer", "recipient", "proceeds", "fulfillment", "packages"}, {"proceeds", "fulfillment"}),
    }
    base_order = {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems"}
    base_item = {"orderItemId", "quantityOrdered", "product"}
    for included, (order_extra, item_extra) in cases.items():
        response = get_order(sandbox, headers, "111-0000002-0000001", included)
        orders_spec.validate("GetOrderResponse", response.json())
        order = response.json()["order"]
        assert set(order) == base_order | order_extra, included
        assert set(order["orderItems"][0]) == base_item | item_extra, included
    bad = get_order(sandbox, headers, "111-0000002-0000001", ("BUYER", "EVERYTHING"))
    assert bad.status_code == 400
    orders_spec.validate("ErrorList", bad.json())


def test_pending_orders_hide_buyer_recipient_and_money(sandbox, orders_spec):
    set_clock(sandbox, NOW - timedelta(minutes=30))
    order_id = "111-0000003-0000001"
    put_orders(sandbox, [make_order(order_id, NOW - timedelta(hours=1), status="PENDING")])
    headers = auth(sandbox)
    pending = get_order(sandbox, headers, order_id).json()["order"]
    orders_spec.validate("Order", pending)
    assert pending["fulfillment"]["fulfillmentStatus"] == "PENDING"
    assert not {"buyer", "recipient", "proceeds", "payment"} & set(pending)
    assert all("proceeds" not in i and "price" not in i["product"] for i in pending["orderItems"])

    set_clock(sandbox, NOW)
    moved = sandbox.spapi("POST", f"/_sandbox/orders/{order_id}/status", json={"status": "UNSHIPPED"})
    assert moved.status_code == 200, moved.text
    order = get_order(sandbox, headers, order_id).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert order["lastUpdatedTime"] == iso_z(NOW)
    assert order["buyer"]["buyerEmail"] and order["recipient"]["deliveryAddress"] and order["proceeds"]["grandTotal"]

    cancelled = sandbox.spapi("POST", f"/_sandbox/orders/{order_id}/status", json={"status": "CANCELLED"})
    assert cancelled.status_code == 200
    order = get_order(sandbox, headers, order_id).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    assert all(i["cancellation"]["cancellationExecution"]["cancelledBy"] for i in order["orderItems"])


def test_pagination_returns_every_order_once(sandbox, orders_spec):
    set_clock(sandbox, NOW)
    rate_limits(sandbox, "off")
    sandbox.spapi("POST", "/_sandbox/orders/generate", json={"count": 240, "hours": 48, "seed": 11}).raise_for_status()
    headers = auth(sandbox)
    listing = sandbox.spapi("GET", "/_sandbox/orders").json()["orders"]
    after, before = NOW - timedelta(hours=30), NOW - timedelta(hours=6)
    expected = sorted(
        (o["lastUpdatedTime"], o["orderId"]) for o in listing if after <= parse_iso(o["lastUpdatedTime"]) <= before
    )
    assert len(expected) > 50
    got = fetch_all(sandbox, headers, orders_spec, lastUpdatedAfter=iso_z(after), lastUpdatedBefore=iso_z(before),
                    maxResultsPerPage=7, includedData=["FULFILLMENT"])  # fmt: skip
    assert [(o["lastUpdatedTime"], o["orderId"]) for o in got] == expected

    created = fetch_all(sandbox, headers, createdAfter=iso_z(NOW - timedelta(days=3)), maxResultsPerPage=13)
    expected_created = sorted(
        (o["createdTime"], o["orderId"]) for o in listing if parse_iso(o["createdTime"]) <= NOW - timedelta(minutes=2)
    )
    assert [(o["createdTime"], o["orderId"]) for o in created] == expected_created

    # filters combine with pagination
    mfn_unshipped = fetch_all(sandbox, headers, lastUpdatedAfter=iso_z(after), fulfilledBy=["MERCHANT"],
                              fulfillmentStatuses=["UNSHIPPED"], marketplaceIds=[US], maxResultsPerPage=5,
                              includedData=["FULFILLMENT"])  # fmt: skip
    assert mfn_unshipped
    for order in mfn_unshipped:
        assert order["fulfillment"]["fulfilledBy"] == "MERCHANT"
        assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
        assert order["salesChannel"]["marketplaceId"] == US


def test_created_window_counts_every_order_created_in_it(sandbox):
    set_clock(sandbox, NOW)
    rate_limits(sandbox, "off")
    orders = [make_order(f"111-0000004-{i:07d}", NOW - timedelta(minutes=10 * i + 5)) for i in range(30)]
    put_orders(sandbox, orders)
    headers = auth(sandbox)
    got = fetch_all(sandbox, headers, createdAfter=iso_z(NOW - timedelta(hours=3)), maxResultsPerPage=4)
    expected = sorted(
        (o["createdTime"], o["orderId"]) for o in orders if parse_iso(o["createdTime"]) >= NOW - timedelta(hours=3)
    )
    assert [(o["createdTime"], o["orderId"]) for o in got] == expected
    window = fetch_all(sandbox, headers, createdAfter=iso_z(NOW - timedelta(minutes=65)),
                       createdBefore=iso_z(NOW - timedelta(minutes=25)))  # fmt: skip
    assert {o["orderId"] for o in window} == {o["orderId"] for o in orders if 2 <= int(o["orderId"][-7:]) <= 6}


def test_pagination_token_rules(sandbox, orders_spec):
    set_clock(sandbox, NOW)
    rate_limits(sandbox, "off")
    put_orders(sandbox, [make_order(f"111-0000005-{i:07d}", NOW - timedelta(minutes=5 + i)) for i in range(10)])
    headers = auth(sandbox)
    params = {"lastUpdatedAfter": iso_z(NOW - timedelta(hours=1)), "maxResultsPerPage": 3}
    first = search(sandbox, headers, **params).json()
    token = first["pagination"]["nextToken"]
    # maxResultsPerPage and includedData may change between pages
    second = search(
        sandbox, headers, **{**params, "maxResultsPerPage": 4, "includedData": "BUYER"}, paginationToken=token
    )
    assert second.status_code == 200 and len(second.json()["orders"]) == 4 and "buyer" in second.json()["orders"][0]
    # other parameters may not
    changed = search(sandbox, headers, **{**params, "fulfilledBy": "AMAZON"}, paginationToken=token)
    assert changed.status_code == 400
    orders_spec.validate("ErrorList", changed.json())
    assert (
        search(
            sandbox, headers, **{**params, "lastUpdatedAfter": iso_z(NOW - timedelta(hours=2))}, paginationToken=token
        ).status_code
        == 400
    )
    tampered = search(sandbox, headers, **params, paginationToken=token[:-4] + "AAAA")
    assert tampered.status_code == 400 and tampered.json()["errors"][0]["code"] == "InvalidInput"
    # tokens expire after 24 hours
    set_clock(sandbox, NOW + timedelta(hours=24, minutes=1))
    expired = search(sandbox, auth(sandbox), **params, paginationToken=token)
    assert expired.status_code == 400
    orders_spec.validate("ErrorList", expired.json())
    assert "expired" in expired.json()["errors"][0]["details"]


@pytest.mark.parametrize(
    "params",
    [
        {},  # neither createdAfter nor lastUpdatedAfter
        {"createdAfter": "-1d", "lastUpdatedAfter": "-1d"},
        {"createdAfter": "-1d", "lastUpdatedBefore": "-1h"},
        {"lastUpdatedAfter": "-1d", "createdBefore": "-1h"},
        {"createdBefore": "-1h"},
        {"lastUpdatedAfter": "-1d", "lastUpdatedBefore": "-1m"},  # 2-minute rule
        {"createdAfter": "-1d", "createdBefore": "-1m"},
        {"lastUpdatedAfter": "-1h", "lastUpdatedBefore": "-1d"},  # before < after
        {"lastUpdatedAfter": "+1h"},  # in the future
        {"lastUpdatedAfter": "yesterday"},
        {"lastUpdatedAfter": "2026-13-01T00:00:00Z"},
        {"createdAfter": "01/09/2026"},
        {"lastUpdatedAfter": "-1d", "maxResultsPerPage": "0"},
        {"lastUpdatedAfter": "-1d", "maxResultsPerPage": "101"},
        {"lastUpdatedAfter": "-1d", "maxResultsPerPage": "ten"},
        {"lastUpdatedAfter": "-1d", "fulfillmentStatuses": "UNSHIPPED,SHIPPING"},
        {"lastUpdatedAfter": "-1d", "fulfilledBy": "SELLER"},
        {"lastUpdatedAfter": "-1d", "includedData": "BUYER,ADDRESS"},
        {"lastUpdatedAfter": "-1d", "marketplaceIds": "XX0000000000"},
        {"lastUpdatedAfter": "-1d", "marketplaceIds": ",".join([US] * 51)},
        {"lastUpdatedAfter": "-1d", "paginationToken": "not-a-token"},
    ],
)
def test_search_rejects_invalid_parameters(sandbox, orders_spec, params):
    set_clock(sandbox, NOW)
    shifts = {
        "-1d": -timedelta(days=1),
        "-1h": -timedelta(hours=1),
        "-1m": -timedelta(minutes=1),
        "+1h": timedelta(hours=1),
    }
    query = {k: iso_z(NOW + shifts[v]) if v in shifts else v for k, v in params.items()}
    response = search(sandbox, auth(sandbox), **query)
    assert response.status_code == 400, response.text
    orders_spec.validate("ErrorList", response.json())
    assert response.json()["errors"][0]["code"] == "InvalidInput"
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_search_accepts_iso_variants_and_repeated_array_params(sandbox):
    set_clock(sandbox, NOW)
    put_orders(sandbox, [make_order("111-0000006-0000001", NOW - timedelta(hours=2))])
    headers = auth(sandbox)
    for after in ("2026-01-10T09:00:00Z", "2026-01-10T09:00:00.000Z", "2026-01-10T04:00:00-05:00", "2026-01-10"):
        response = search(sandbox, headers, lastUpdatedAfter=after)
        assert response.status_code == 200, after
        assert [o["orderId"] for o in response.json()["orders"]] == ["111-0000006-0000001"], after
    repeated = sandbox.spapi("GET", SEARCH, headers=headers, params=[
        ("lastUpdatedAfter", "2026-01-10T00:00:00Z"), ("fulfillmentStatuses", "PENDING"),
        ("fulfillmentStatuses", "UNSHIPPED"), ("marketplaceIds", US), ("marketplaceIds", CA)])  # fmt: skip
    assert [o["orderId"] for o in repeated.json()["orders"]] == ["111-0000006-0000001"]
    none = search(sandbox, headers, lastUpdatedAfter="2026-01-10T00:00:00Z", fulfillmentStatuses="SHIPPED")
    assert none.json()["orders"] == []


def test_timeline_moves_an_order_out_of_an_earlier_window(sandbox):
    order_id = "111-0000007-0000001"
    unshipped = make_order(order_id, NOW - timedelta(hours=4), NOW - timedelta(hours=3))
    shipped = make_order(order_id, NOW - timedelta(hours=4), NOW - timedelta(hours=1), status="SHIPPED")
    put_orders(sandbox, [unshipped, shipped])  # one orderId twice: a timeline of two versions
    early = {"lastUpdatedAfter": iso_z(NOW - timedelta(hours=4)), "lastUpdatedBefore": iso_z(NOW - timedelta(hours=2)),
             "includedData": "FULFILLMENT"}  # fmt: skip

    set_clock(sandbox, NOW - timedelta(minutes=110))  # before the second version
    headers = auth(sandbox)
    seen = search(sandbox, headers, **early).json()["orders"]
    assert [(o["orderId"], o["fulfillment"]["fulfillmentStatus"]) for o in seen] == [(order_id, "UNSHIPPED")]

    set_clock(sandbox, NOW)  # the order was updated since: it left the early window
    headers = auth(sandbox)
    assert search(sandbox, headers, **early).json()["orders"] == []
    late = search(sandbox, headers, lastUpdatedAfter=iso_z(NOW - timedelta(hours=2)), includedData="FULFILLMENT").json()
    assert [(o["orderId"], o["fulfillment"]["fulfillmentStatus"]) for o in late["orders"]] == [(order_id, "SHIPPED")]
    # it is still in a createdAfter window, with its current state
    created = search(sandbox, headers, createdAfter=iso_z(NOW - timedelta(hours=5)), includedData="FULFILLMENT").json()
    assert created["orders"][0]["lastUpdatedTime"] == iso_z(NOW - timedelta(hours=1))
    # and before it was created it does not exist
    set_clock(sandbox, NOW - timedelta(hours=5))
    assert get_order(sandbox, auth(sandbox), order_id).status_code == 404


# -- confirmShipment -------------------------------------------------------------------------------
@pytest.fixture
def shipping_orders(sandbox):
    set_clock(sandbox, NOW)
    orders = [
        make_order("111-0000008-0000001", NOW - timedelta(hours=5), NOW - timedelta(hours=4)),
        make_order("111-0000008-0000002", NOW - timedelta(hours=5), status="SHIPPED", fulfilled_by="AMAZON"),
        make_order("111-0000008-0000003", NOW - timedelta(hours=5), status="CANCELLED"),
        make_order("111-0000008-0000004", NOW - timedelta(hours=5), status="PENDING"),
    ]
    put_orders(sandbox, orders)
    return auth(sandbox)


def test_confirm_shipment_partial_edit_and_complete(sandbox, shipping_orders, orders_spec):
    headers, order_id = shipping_orders, "111-0000008-0000001"
    first = confirm(sandbox, headers, order_id, orderItems=[{"orderItemId": "10000000000001", "quantity": 1}])
    assert first.status_code == 204, first.text
    assert first.content == b""
    assert first.headers["x-amzn-RateLimit-Limit"] == "2.0" and first.headers["x-amzn-RequestId"]
    order = get_order(sandbox, headers, order_id).json()
    orders_spec.validate("GetOrderResponse", order)
    order = order["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert order["lastUpdatedTime"] == iso_z(NOW)
    assert [(p["packageReferenceId"], p["trackingNumber"], p["carrier"]) for p in order["packages"]] == [
        ("1", "1Z999AA10123456784", "UPS")
    ]
    assert order["packages"][0]["packageItems"] == [{"orderItemId": "10000000000001", "quantity": 1}]
    assert order["orderItems"][0]["fulfillment"] == {"quantityFulfilled": 1, "quantityUnfulfilled": 1}

    # re-sending packageReferenceId 1 edits that package instead of adding one
    set_clock(sandbox, NOW + timedelta(minutes=5))
    edit = confirm(
        sandbox,
        headers,
        order_id,
        trackingNumber="1ZEDITED",
        orderItems=[{"orderItemId": "10000000000001", "quantity": 2}],
    )
    assert edit.status_code == 204
    order = get_order(sandbox, headers, order_id).json()["order"]
    assert [(p["packageReferenceId"], p["trackingNumber"]) for p in order["packages"]] == [("1", "1ZEDITED")]
    assert order["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert order["lastUpdatedTime"] == iso_z(NOW + timedelta(minutes=5))

    # over-shipping across packages is refused, nothing changes
    over = confirm(
        sandbox,
        headers,
        order_id,
        packageReferenceId="2",
        orderItems=[{"orderItemId": "10000000000001", "quantity": 1}],
    )
    assert over.status_code == 400
    assert over.json()["errors"][0]["code"] == "InvalidInput"

    rest = confirm(sandbox, headers, order_id, packageReferenceId="2", carrierCode="Other", carrierName="Local Courier",
                   trackingNumber="LC-1", orderItems=[{"orderItemId": "10000000000002", "quantity": 1}])  # fmt: skip
    assert rest.status_code == 204, rest.text
    order = get_order(sandbox, headers, order_id).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [(p["packageReferenceId"], p["carrier"]) for p in order["packages"]] == [
        ("1", "UPS"),
        ("2", "Local Courier"),
    ]
    assert all(i["fulfillment"]["quantityUnfulfilled"] == 0 for i in order["orderItems"])

    # the shipped order is now in a later lastUpdated window
    set_clock(sandbox, NOW + timedelta(minutes=10))
    found = search(sandbox, headers, lastUpdatedAfter=iso_z(NOW - timedelta(minutes=1)), includedData="PACKAGES").json()
    assert [len(o["packages"]) for o in found["orders"]] == [2]

    log = sandbox.spapi("GET", "/_sandbox/shipment-confirmations").json()
    assert [(c["orderId"], c["body"]["packageDetail"]["packageReferenceId"]) for c in log] == [
        (order_id, "1"), (order_id, "1"), (order_id, "2")
    ]  # fmt: skip
    assert log[0]["receivedAt"] == iso_z(NOW)


@pytest.mark.parametrize(
    ("order_id", "overrides", "status"),
    [
        ("111-0000008-0000002", {}, 400),  # FBA
        ("111-0000008-0000003", {}, 400),  # cancelled
        ("111-0000008-0000004", {}, 400),  # pending
        ("111-0000008-0000001", {"packageReferenceId": "PKG-1"}, 400),
        ("111-0000008-0000001", {"packageReferenceId": "0"}, 400),
        ("111-0000008-0000001", {"packageReferenceId": 1}, 400),
        ("111-0000008-0000001", {"orderItems": [{"orderItemId": "999", "quantity": 1}]}, 400),
        ("111-0000008-0000001", {"orderItems": [{"orderItemId": "10000000000001", "quantity": 3}]}, 400),
        ("111-0000008-0000001", {"orderItems": [{"orderItemId": "10000000000001", "quantity": 0}]}, 400),
        ("111-0000008-0000001", {"orderItems": []}, 400),
        ("111-0000008-0000001", {"marketplaceId": CA}, 400),
        ("111-0000008-0000001", {"shipDate": "02/21/2022"}, 400),
        ("111-0000008-0000001", {"trackingNumber": ""}, 400),
        ("111-0000008-0000001", {"carrierCode": "Other"}, 400),  # carrierName required with Other
        ("111-0000008-0000009", {}, 404),
    ],
)
def test_confirm_shipment_rejections(sandbox, shipping_orders, v0_spec, order_id, overrides, status):
    overrides.setdefault("orderItems", [{"orderItemId": "10000000000001", "quantity": 1}])
    response = confirm(sandbox, shipping_orders, order_id, **overrides)
    assert response.status_code == status, response.text
    v0_spec.validate("ConfirmShipmentErrorResponse", response.json())
    assert response.json()["errors"][0]["code"] == ("InvalidInput" if status == 400 else "NotFound")
    assert sandbox.spapi("GET", "/_sandbox/shipment-confirmations").json() == []


def test_confirm_shipment_rejects_malformed_bodies(sandbox, shipping_orders, v0_spec):
    path = "/orders/v0/orders/111-0000008-0000001/shipmentConfirmation"
    for content in (b"{not json", b"[]", json.dumps({"marketplaceId": US}).encode()):
        response = sandbox.spapi(
            "POST", path, content=content, headers={**shipping_orders, "content-type": "application/json"}
        )
        assert response.status_code == 400
        v0_spec.validate("ConfirmShipmentErrorResponse", response.json())
    assert sandbox.spapi("POST", path, json={}).status_code == 403


def test_concurrent_confirmations_never_over_ship(sandbox):
    set_clock(sandbox, NOW)
    rate_limits(sandbox, "off")
    order_id = "111-0000010-0000001"
    put_orders(sandbox, [make_order(order_id, NOW - timedelta(hours=2), items=(("10000000000001", 5),))])
    headers = auth(sandbox)

    def ship(ref: int) -> int:
        with httpx.Client(base_url=sandbox.spapi_url, timeout=30) as client:
            body = {
                "marketplaceId": US,
                "packageDetail": {
                    "packageReferenceId": str(ref),
                    "carrierCode": "UPS",
                    "trackingNumber": f"T{ref}",
                    "shipDate": "2026-01-10T10:00:00Z",
                    "orderItems": [{"orderItemId": "10000000000001", "quantity": 1}],
                },
            }
            path = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
            return client.post(path, json=body, headers=headers).status_code  # fmt: skip

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = Counter(pool.map(ship, range(1, 13)))
    assert codes == {204: 5, 400: 7}
    order = get_order(sandbox, headers, order_id).json()["order"]
    assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED" and len(order["packages"]) == 5
    assert len(sandbox.spapi("GET", "/_sandbox/shipment-confirmations").json()) == 5


# -- usage plans and faults ------------------------------------------------------------------------
def test_burst_then_quota_exceeded(sandbox, orders_spec):
    headers = auth(sandbox)
    params = {"lastUpdatedAfter": iso_z(datetime.now(UTC) - timedelta(hours=1))}
    responses = [search(sandbox, headers, **params) for _ in range(24)]
    codes = [r.status_code for r in responses]
    assert codes[:20] == [200] * 20 and codes[20:] == [429] * 4
    throttled = responses[-1]
    orders_spec.validate("ErrorList", throttled.json())
    assert throttled.json() == {
        "errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]
    }
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert throttled.headers["x-amzn-RequestId"]
    # other operations have their own buckets
    assert get_order(sandbox, headers, "111-0000000-0000000").status_code == 404
    # scaled mode multiplies the rate, keeps the burst, and starts with full buckets
    rate_limits(sandbox, "scaled", 100)
    assert search(sandbox, headers, **params).headers["x-amzn-RateLimit-Limit"] == "0.56"
    limits = sandbox.spapi("GET", "/_sandbox/rate-limits").json()
    assert limits["plans"]["searchOrders"] == {"rate": pytest.approx(0.56), "burst": 20}
    # reset restores the startup mode with full buckets
    sandbox.spapi("POST", "/_sandbox/reset").raise_for_status()
    assert sandbox.spapi("GET", "/_sandbox/rate-limits").json()["mode"] == "default"
    assert search(sandbox, headers, **params).status_code == 200


def test_rate_limits_off_has_no_throttle(sandbox):
    rate_limits(sandbox, "off")
    headers = auth(sandbox)
    params = {"lastUpdatedAfter": iso_z(datetime.now(UTC) - timedelta(hours=1))}
    responses = [search(sandbox, headers, **params) for _ in range(30)]
    assert {r.status_code for r in responses} == {200}
    assert "x-amzn-RateLimit-Limit" not in responses[-1].headers
    assert sandbox.spapi("PUT", "/_sandbox/rate-limits", json={"mode": "fast"}).status_code == 400


def test_fault_injection_then_success(sandbox, orders_spec):
    headers = auth(sandbox)
    rules = {"rules": [{"kind": "503", "count": 1, "path": "^/orders/2026-01-01/orders$"}]}
    sandbox.spapi("PUT", "/_sandbox/faults", json=rules).raise_for_status()
    params = {"lastUpdatedAfter": iso_z(datetime.now(UTC) - timedelta(hours=1))}
    failed = search(sandbox, headers, **params)
    assert failed.status_code == 503
    orders_spec.validate("ErrorList", failed.json())
    assert failed.json()["errors"][0]["code"] == "ServiceUnavailable"
    assert search(sandbox, headers, **params).status_code == 200


def test_lost_response_still_commits_the_confirmation(sandbox, shipping_orders):
    rules = {"rules": [{"kind": "lost_response", "count": 1, "path": "shipmentConfirmation"}]}
    sandbox.spapi("PUT", "/_sandbox/faults", json=rules).raise_for_status()
    with pytest.raises(httpx.HTTPError):
        confirm(
            sandbox,
            shipping_orders,
            "111-0000008-0000001",
            orderItems=[{"orderItemId": "10000000000002", "quantity": 1}],
        )
    log = sandbox.spapi("GET", "/_sandbox/shipment-confirmations").json()
    assert [c["orderId"] for c in log] == ["111-0000008-0000001"]
    # the retry with the same packageReferenceId edits the package: still one package
    retry = confirm(
        sandbox, shipping_orders, "111-0000008-0000001", orderItems=[{"orderItemId": "10000000000002", "quantity": 1}]
    )
    assert retry.status_code == 204
    order = get_order(sandbox, shipping_orders, "111-0000008-0000001").json()["order"]
    assert len(order["packages"]) == 1


def test_cli_seeded_start_with_scaled_limits(tmp_path):
    box = start_sandbox(f"sqlite:///{tmp_path / 'commerce.db'}", "--seed", "3", "--orders", "50", "--hours", "6",
                        "--rate-limits", "scaled", "--rate-factor", "10")  # fmt: skip
    try:
        assert box.spapi("GET", "/_sandbox/health").json()["orders"] == 50
        limits = box.spapi("GET", "/_sandbox/rate-limits").json()
        assert (limits["mode"], limits["factor"]) == ("scaled", 10)
        headers = auth(box)
        response = search(box, headers, createdAfter=iso_z(datetime.now(UTC) - timedelta(hours=7)))
        assert response.headers["x-amzn-RateLimit-Limit"] == "0.056"
        assert 40 <= len(response.json()["orders"]) <= 50  # the newest may be younger than two minutes
    finally:
        box.stop()


# -- admin API -------------------------------------------------------------------------------------
def test_admin_api_validation_and_reset(sandbox):
    assert sandbox.spapi("POST", "/_sandbox/orders", json=[{"orderId": "x"}]).status_code == 400
    assert sandbox.spapi("POST", "/_sandbox/orders", content=b"nope").status_code == 400
    assert sandbox.spapi("PUT", "/_sandbox/clock", json={"now": "soon"}).status_code == 400
    assert sandbox.spapi("POST", "/_sandbox/orders/111-1-1/status", json={"status": "SHIPPED"}).status_code == 404
    assert sandbox.spapi("POST", "/_sandbox/orders/generate", json={"count": -1}).status_code == 400
    set_clock(sandbox, NOW)
    summary = sandbox.spapi("POST", "/_sandbox/orders/generate", json={"count": 25, "hours": 6, "seed": 5}).json()
    assert summary["generated"] == 25 and sum(summary["fulfilledBy"].values()) == 25
    assert sandbox.spapi("GET", "/_sandbox/clock").json() == {"now": iso_z(NOW), "fixed": True}
    assert len(sandbox.spapi("GET", "/_sandbox/orders").json()["orders"]) == 25
    sandbox.spapi("POST", "/_sandbox/reset").raise_for_status()
    assert sandbox.spapi("GET", "/_sandbox/orders").json()["orders"] == []
    assert sandbox.spapi("GET", "/_sandbox/clock").json()["fixed"] is False
