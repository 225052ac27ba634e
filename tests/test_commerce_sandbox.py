"""The Commerce sandbox over real HTTP: Magento's REST contract, rules and admin API.

Every response is validated against the published Magento 2.4 schema
(``../shared/specs/commerce``) by :class:`Api`, which looks up the operation's
response schema for the status code and resolves ``$ref`` inside the spec.
Core behaviour (auth, customers, orders, searchCriteria, uniqueness, state
rules, concurrency) runs on SQLite and on MariaDB where the server is present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jsonschema
import pytest

from sandbox import credentials
from sandbox.commerce import fields_filter
from tests.conftest import Sandbox, start_sandbox

SPEC_FILE = "commerce/magento-2.4.5-admin-rest.json"
TOKEN = credentials.COMMERCE_INTEGRATION_TOKEN
SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later."
)


# --- spec validation --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec(specs_dir) -> dict[str, Any]:
    path = specs_dir / SPEC_FILE
    if not path.is_file():
        pytest.skip(f"Commerce spec not found at {path}")
    return json.loads(path.read_text())


def response_schema(spec: dict[str, Any], method: str, template: str, status: int) -> dict[str, Any]:
    """The JSON schema of an operation's response for ``status`` (falling back to ``default``)."""
    operation = spec["paths"][template][method.lower()]
    responses = operation["responses"]
    entry = responses.get(str(status)) or responses["default"]
    schema = entry["content"]["application/json"]["schema"]
    if status >= 400:
        # The generated spec types ``parameters`` as an array of objects; Magento sends an object for named
        # placeholders ({"fieldName": ...}) and a list of strings for positional ones (["..."]). Validate the
        # rest of the error body strictly and ``parameters`` by Magento's actual shapes.
        error = dict(spec["components"]["schemas"]["error-response"])
        error["properties"] = {
            **error["properties"],
            "parameters": {"type": ["object", "array"]},
            "errors": {"type": "array", "items": {"type": "object", "required": ["message"]}},
        }
        return error
    return schema


def validate(spec: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Validate with ``$ref`` resolved inside the spec document."""
    root = {**schema, "components": spec["components"]}
    jsonschema.Draft7Validator(root).validate(instance)


def validate_component(spec: dict[str, Any], name: str, instance: Any) -> None:
    validate(spec, {"$ref": f"#/components/schemas/{name}"}, instance)


class Api:
    """Calls ``/rest[/<store>]/V1/...`` with a bearer token and validates every response against the spec."""

    def __init__(self, box: Sandbox, spec: dict[str, Any]) -> None:
        self.box = box
        self.spec = spec

    def call(self, method: str, template: str, *, store: str | None = None, token: str | None = TOKEN,
             json: Any = None, params: Any = None, **path: Any) -> httpx.Response:  # fmt: skip
        url = "/rest" + (f"/{store}" if store else "") + template.format(**path)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.box.commerce(method, url, json=json, params=params, headers=headers)
        if response.status_code != 404 or response.json().get("message") != "Request does not match any route.":
            validate(self.spec, response_schema(self.spec, method, template, response.status_code), response.json())
        return response

    def ok(self, method: str, template: str, **kwargs: Any) -> Any:
        response = self.call(method, template, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def error(self, status: int, method: str, template: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, template, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    # shortcuts
    def create_order(self, **kwargs: Any) -> dict[str, Any]:
        store = kwargs.pop("store", None)
        return self.ok("PUT", "/V1/orders/create", json={"entity": order_entity(**kwargs)}, store=store)

    def order(self, order_id: int) -> dict[str, Any]:
        return self.ok("GET", "/V1/orders/{id}", id=order_id)

    def search(self, template: str, criteria: dict[str, Any]) -> dict[str, Any]:
        return self.ok("GET", template, params=criteria)

    def notifications(self, **params: Any) -> list[dict[str, Any]]:
        response = self.box.commerce("GET", "/_sandbox/notifications", params=params)
        assert response.status_code == 200
        return response.json()


def address(kind: str = "shipping", **overrides: Any) -> dict[str, Any]:
    return {
        "address_type": kind, "firstname": "Test", "lastname": "Buyer", "street": ["1 Test Street", "Apt 2"],
        "city": "Seattle", "region": "Washington", "region_code": "WA", "postcode": "98101", "country_id": "US",
        "telephone": "+1 206 555 0100", "email": "buyer@example.com", **overrides,
    }  # fmt: skip


def order_entity(sku: str = "MUG-001", qty: float = 2, price: float = 13.15, ext: str = "111-0000001-0000001",
                 email: str = "buyer@example.com", items: list[dict[str, Any]] | None = None, shipping: float = 5.0,
                 tax: float = 0.0, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """An order as the pipeline sends it (totals are stored as given, not recalculated)."""
    items = (
        items
        if items is not None
        else [{"sku": sku, "qty_ordered": qty, "price": price, "base_price": price, "row_total": price * qty}]
    )
    subtotal = sum(i["price"] * i["qty_ordered"] for i in items)
    entity = {
        "ext_order_id": ext, "customer_email": email, "customer_firstname": "Test", "customer_lastname": "Buyer",
        "customer_is_guest": 1, "order_currency_code": "USD", "base_currency_code": "USD",
        "subtotal": subtotal, "base_subtotal": subtotal, "shipping_amount": shipping, "base_shipping_amount": shipping,
        "tax_amount": tax, "base_tax_amount": tax, "discount_amount": 0, "base_discount_amount": 0,
        "grand_total": subtotal + shipping + tax, "base_grand_total": subtotal + shipping + tax,
        "items": items, "billing_address": address("billing"),
        "payment": {"method": "checkmo", "additional_information": ["Amazon MFN"], "account_status": "", "cc_last4": ""},
        "extension_attributes": {"shipping_assignments": [
            {"shipping": {"address": address(), "method": "flatrate_flatrate"}, "items": []}
        ]},
    }  # fmt: skip
    entity.update(extra)
    return entity


def criteria(*groups: list[tuple[str, Any, str]], page_size: int | None = None, page: int | None = None,
             sort: list[tuple[str, str]] = ()) -> dict[str, str]:  # fmt: skip
    """searchCriteria query parameters: each group is a list of (field, value, condition_type), OR-ed."""
    params: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, (name, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = name
            params[f"{prefix}[value]"] = str(value)
            params[f"{prefix}[condition_type]"] = condition
    for s, (name, direction) in enumerate(sort):
        params[f"searchCriteria[sortOrders][{s}][field]"] = name
        params[f"searchCriteria[sortOrders][{s}][direction]"] = direction
    if page_size is not None:
        params["searchCriteria[pageSize]"] = str(page_size)
    if page is not None:
        params["searchCriteria[currentPage]"] = str(page)
    return params


# --- fixtures: SQLite (shared sandbox) and MariaDB ----------------------------------------------------


@pytest.fixture(scope="module")
def mariadb_box(request) -> Iterator[Sandbox]:
    url = request.getfixturevalue("mariadb_url")
    box = start_sandbox(url)
    yield box
    box.stop()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def api(request, spec) -> Api:
    """The Commerce API on each database backend, reset to its seeded state."""
    if request.param == "sqlite":
        return Api(request.getfixturevalue("sandbox"), spec)
    box = request.getfixturevalue("mariadb_box")
    box.reset()
    return Api(box, spec)


@pytest.fixture
def sqlite_api(sandbox, spec) -> Api:
    return Api(sandbox, spec)


# --- auth ---------------------------------------------------------------------------------------------


def test_admin_token_and_auth_failures(api: Api) -> None:
    body = {"username": credentials.COMMERCE_ADMIN_USER, "password": credentials.COMMERCE_ADMIN_PASSWORD}
    token = api.ok("POST", "/V1/integration/admin/token", token=None, json=body)
    assert isinstance(token, str) and len(token) >= 32
    assert api.ok("GET", "/V1/orders", token=token)["total_count"] == 0

    wrong = api.error(401, "POST", "/V1/integration/admin/token", token=None, json={**body, "password": "nope"})
    assert wrong == {"message": SIGN_IN_INCORRECT}
    missing = api.error(400, "POST", "/V1/integration/admin/token", token=None, json={"username": "admin"})
    assert missing["parameters"] == {"fieldName": "password"}

    for bad in (None, "not-a-token"):
        denied = api.error(401, "GET", "/V1/orders", token=bad)
        assert denied == {
            "message": "The consumer isn't authorized to access %resources.",
            "parameters": {"resources": "Magento_Sales::actions_view"},
        }
    assert api.error(401, "GET", "/V1/customers/search", token=None)["parameters"] == {
        "resources": "Magento_Customer::customer"
    }

    # admin tokens live 4 hours; the integration token does not expire
    api.box.commerce("PUT", "/_sandbox/clock", json={"offset_s": 4 * 3600 - 60}).raise_for_status()
    assert api.call("GET", "/V1/orders", token=token).status_code == 200
    api.box.commerce("PUT", "/_sandbox/clock", json={"offset_s": 4 * 3600 + 1}).raise_for_status()
    assert api.call("GET", "/V1/orders", token=token).status_code == 401
    assert api.call("GET", "/V1/orders", token=TOKEN).status_code == 200
    fresh = api.ok("POST", "/V1/integration/admin/token", token=None, json=body)
    assert api.call("GET", "/V1/orders", token=fresh).status_code == 200


# --- customers ----------------------------------------------------------------------------------------


def test_customers_create_get_search_and_email_uniqueness(api: Api) -> None:
    customer = {
        "email": "Jane.Doe@example.com", "firstname": "Jane", "lastname": "Doe",
        "addresses": [{**{k: v for k, v in address().items() if k not in ("address_type", "email", "region", "region_code")},
                       "default_billing": True, "default_shipping": True}],
    }  # fmt: skip
    created = api.ok("POST", "/V1/customers", json={"customer": customer, "password": "Secret-123"})
    assert created["id"] and created["website_id"] == 1 and created["store_id"] == 1
    assert created["default_billing"] == str(created["addresses"][0]["id"])
    assert created["addresses"][0]["street"] == ["1 Test Street", "Apt 2"]
    assert "password" not in json.dumps(created)

    # Magento: (email, website_id) is unique, compared case-insensitively
    duplicate = api.error(
        400, "POST", "/V1/customers", json={"customer": {**customer, "email": "jane.doe@EXAMPLE.com"}}
    )
    assert duplicate == {"message": "A customer with the same email address already exists in an associated website."}
    weak = api.error(
        400, "POST", "/V1/customers", json={"customer": {**customer, "email": "x@example.com"}, "password": "short"}
    )
    assert "password needs at least" in weak["message"]
    assert api.error(400, "POST", "/V1/customers", json={"customer": {"email": "y@example.com", "lastname": "Y"}})[
        "parameters"
    ] == {"fieldName": "firstname"}

    incomplete = {**customer, "email": "z@example.com", "addresses": [{"firstname": "Z", "lastname": "Z", "street": ["1"],
                  "country_id": "US", "postcode": "10001"}]}  # fmt: skip
    errors = api.error(400, "POST", "/V1/customers", json={"customer": incomplete})
    assert errors["message"] == "One or more input exceptions have occurred."
    assert [e["parameters"]["fieldName"] for e in errors["errors"]] == ["city", "telephone"]

    assert api.ok("GET", "/V1/customers/{customerId}", customerId=created["id"])["email"] == "Jane.Doe@example.com"
    missing = api.error(404, "GET", "/V1/customers/{customerId}", customerId=999)
    assert missing["parameters"] == {"fieldName": "customerId", "fieldValue": "999"}

    found = api.search("/V1/customers/search", criteria([("email", "jane.doe@example.com", "eq")]))
    assert [c["id"] for c in found["items"]] == [created["id"]] and found["total_count"] == 1
    assert found["search_criteria"]["filter_groups"][0]["filters"][0] == {
        "field": "email", "value": "jane.doe@example.com", "condition_type": "eq",
    }  # fmt: skip
    assert api.search("/V1/customers/search", criteria([("email", "nobody@example.com", "eq")]))["total_count"] == 0
    unknown = api.error(400, "GET", "/V1/customers/search", params=criteria([("no_such_attribute", "1", "eq")]))
    assert unknown == {"message": "Invalid attribute name: %1", "parameters": ["no_such_attribute"]}

    # Magento sends the welcome e-mail for every account created through createAccount
    mails = api.notifications(type="new_account")
    assert [(m["email"], m["entity_id"]) for m in mails] == [("Jane.Doe@example.com", created["id"])]


# --- orders -------------------------------------------------------------------------------------------


def test_order_create_get_and_search(api: Api) -> None:
    order = api.create_order(ext="111-1111111-1111111")
    assert order["increment_id"] == "000000001" and order["store_id"] == 1
    assert (order["state"], order["status"]) == ("new", "pending")
    assert order["grand_total"] == 31.3 and order["customer_is_guest"] == 1
    item = order["items"][0]
    assert item["sku"] == "MUG-001" and item["qty_ordered"] == 2 and item["product_id"] > 0
    assert order["billing_address"]["street"] == ["1 Test Street", "Apt 2"]
    shipping = order["extension_attributes"]["shipping_assignments"][0]["shipping"]
    assert shipping["address"]["address_type"] == "shipping" and shipping["method"] == "flatrate_flatrate"
    assert order["payment"]["method"] == "checkmo"
    assert len(order["status_histories"]) == 1
    validate_component(api.spec, "sales-data-order-interface", order)

    assert api.order(order["entity_id"]) == order
    assert api.error(404, "GET", "/V1/orders/{id}", id=999_999)["message"] == (
        "The entity that was requested doesn't exist. Verify the entity and try again."
    )
    found = api.search("/V1/orders", criteria([("ext_order_id", "111-1111111-1111111", "eq")]))
    assert found["total_count"] == 1 and found["items"][0]["entity_id"] == order["entity_id"]

    # ext_order_id is indexed, not unique (idempotency is the client's job); increment ids follow the sequence
    again = api.create_order(ext="111-1111111-1111111")
    assert again["increment_id"] == "000000002"
    assert api.search("/V1/orders", criteria([("ext_order_id", "111-1111111-1111111", "eq")]))["total_count"] == 2

    # each store has its own sequence (Magento's default profile prefixes the store id)
    ca = api.create_order(store="amazon_ca", ext="702-0000000-0000001", order_currency_code="CAD",
                          created_at="2026-01-02T03:04:05Z")  # fmt: skip
    assert (ca["store_id"], ca["increment_id"], ca["order_currency_code"]) == (2, "2000000001", "CAD")
    assert ca["created_at"] == "2026-01-02 03:04:05"  # a given created_at is kept, as Magento's resource model does

    # no order e-mail: Magento's repository save never sends one
    assert api.notifications() == []


def test_gift_messages_on_orders_and_items_are_saved_and_returned(api: Api) -> None:
    gift = {"sender": "Ana", "recipient": "Ben", "message": "Happy birthday!"}
    items = [
        {"sku": "MUG-001", "qty_ordered": 1, "price": 10.0, "extension_attributes": {"gift_message": gift}},
        {"sku": "TEE-001", "qty_ordered": 1, "price": 20.0},
    ]
    shipping = {"address": address(), "method": "flatrate_flatrate"}
    order = api.create_order(ext="111-2222222-0000001", items=items, extension_attributes={
        "shipping_assignments": [{"shipping": shipping, "items": []}], "gift_message": gift})  # fmt: skip
    validate_component(api.spec, "sales-data-order-interface", order)
    assert {k: order["extension_attributes"]["gift_message"][k] for k in gift} == gift
    assert order["extension_attributes"]["gift_message"]["gift_message_id"] > 0
    with_gift, without = order["items"]
    assert with_gift["extension_attributes"]["gift_message"]["message"] == "Happy birthday!"
    assert "extension_attributes" not in without and "gift_message_id" not in with_gift
    item = api.ok("GET", "/V1/orders/items/{id}", id=with_gift["item_id"])
    assert item["extension_attributes"]["gift_message"] == with_gift["extension_attributes"]["gift_message"]
    assert api.order(order["entity_id"]) == order
    missing = api.error(400, "PUT", "/V1/orders/create", json={"entity": order_entity(
        ext="111-2222222-0000002", extension_attributes={"gift_message": {"sender": "Ana", "recipient": "Ben"}})})  # fmt: skip
    assert missing["parameters"] == {"fieldName": "message"}


def test_order_uniqueness_and_validation(api: Api) -> None:
    api.create_order(increment_id="AMZ-1")
    clash = api.error(400, "PUT", "/V1/orders/create", json={"entity": order_entity(increment_id="AMZ-1")})
    assert clash == {"message": "Unique constraint violation found"}
    # the same increment id in another store is fine: the key is (increment_id, store_id)
    assert api.create_order(increment_id="AMZ-1", store_id=3)["store_id"] == 3

    unknown = api.error(400, "PUT", "/V1/orders/create", json={"entity": order_entity(sku="LMP-006")})
    assert unknown == {"message": "The product that was requested doesn't exist. Verify the product and try again."}
    no_phone = order_entity(billing_address={k: v for k, v in address("billing").items() if k != "telephone"})
    bad_address = api.error(400, "PUT", "/V1/orders/create", json={"entity": no_phone})
    assert bad_address == {
        "message": "We can't save the address:\n%1",
        "parameters": ['"Phone Number" is required. Enter and try again.'],
    }
    assert api.error(400, "PUT", "/V1/orders/create", json={})["parameters"] == {"fieldName": "entity"}
    assert api.error(400, "PUT", "/V1/orders/create", json={"entity": order_entity(items=[])})
    # nothing half-written by the failures
    assert api.ok("GET", "/V1/orders")["total_count"] == 2


# --- state rules --------------------------------------------------------------------------------------


def _invoice(api: Api, order_id: int, status: int = 200, **body: Any) -> Any:
    body = {"capture": True, "notify": False, **body}
    response = api.call("POST", "/V1/order/{orderId}/invoice", orderId=order_id, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _ship(api: Api, order_id: int, status: int = 200, **body: Any) -> Any:
    body = {"notify": False, "tracks": [], **body}
    response = api.call("POST", "/V1/order/{orderId}/ship", orderId=order_id, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _refund(api: Api, order_id: int, status: int = 200, **body: Any) -> Any:
    body = {"notify": False, **body}
    response = api.call("POST", "/V1/order/{orderId}/refund", orderId=order_id, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _cancel(api: Api, order_id: int) -> bool:
    return api.ok("POST", "/V1/orders/{id}/cancel", id=order_id)


def test_invoice_ship_complete_then_refund_closed(api: Api) -> None:
    order = api.create_order(tax=1.0)
    oid = order["entity_id"]
    invoice_id = _invoice(api, oid)
    assert isinstance(invoice_id, int)
    after = api.order(oid)
    assert (after["state"], after["status"]) == ("processing", "processing")
    assert after["items"][0]["qty_invoiced"] == 2
    assert after["total_invoiced"] == after["total_paid"] == order["grand_total"] and after["total_due"] == 0
    assert _invoice(api, oid, 400) == {
        "message": "Invoice Document Validation Error(s):\nThe order does not allow an invoice to be created."
    }
    # an invoiced order cannot be canceled: Magento answers false (the caller refunds instead)
    assert _cancel(api, oid) is False

    tracks = [{"track_number": "1Z999AA10123456784", "title": "UPS", "carrier_code": "ups"}]
    shipment_id = _ship(api, oid, tracks=tracks)
    done = api.order(oid)
    assert (done["state"], done["status"]) == ("complete", "complete")
    assert done["items"][0]["qty_shipped"] == 2
    assert _ship(api, oid, 400) == {
        "message": "Shipment Document Validation Error(s):\nThe order does not allow a shipment to be created."
    }
    shipment = api.ok("GET", "/V1/shipment/{id}", id=shipment_id)
    assert shipment["order_id"] == oid and shipment["tracks"][0]["track_number"] == "1Z999AA10123456784"

    memo_id = _refund(api, oid, arguments={"shipping_amount": 5.0, "adjustment_positive": 0, "adjustment_negative": 0})
    assert isinstance(memo_id, int)
    closed = api.order(oid)
    assert (closed["state"], closed["status"]) == ("closed", "closed")
    assert closed["total_refunded"] == order["grand_total"] and closed["items"][0]["qty_refunded"] == 2
    assert _refund(api, oid, 400)["message"].startswith("Creditmemo Document Validation Error(s):\n")
    # every change left a status history entry, none of them notified the customer
    histories = closed["status_histories"]
    assert len(histories) == 4 and not any(h["is_customer_notified"] for h in histories)
    assert histories[0]["comment"].startswith("We refunded USD 32.30 offline")
    assert api.notifications() == []


def test_cancel_rules(api: Api) -> None:
    order = api.create_order()
    oid = order["entity_id"]
    assert _cancel(api, oid) is True
    canceled = api.order(oid)
    assert (canceled["state"], canceled["status"]) == ("canceled", "canceled")
    assert canceled["items"][0]["qty_canceled"] == 2 and canceled["total_canceled"] == order["grand_total"]
    assert _cancel(api, oid) is False
    assert _invoice(api, oid, 400)["message"] == (
        "Invoice Document Validation Error(s):\nAn invoice cannot be created when an order has a status of canceled"
    )
    assert _ship(api, oid, 400)["message"].endswith(
        "A shipment cannot be created when an order has a status of canceled"
    )
    assert api.error(404, "POST", "/V1/orders/{id}/cancel", id=999_999)

    # invoiced then refunded: the refund closes it, a cancel is refused
    paid = api.create_order(ext="111-0000002-0000002")["entity_id"]
    _invoice(api, paid)
    assert _cancel(api, paid) is False
    _refund(api, paid)
    assert api.order(paid)["state"] == "closed"


def test_ship_rules_and_partial_shipments(api: Api) -> None:
    items = [
        {"sku": "MUG-001", "qty_ordered": 3, "price": 13.15},
        {"sku": "TEE-002", "qty_ordered": 1, "price": 20.0},
    ]
    order = api.create_order(items=items)
    oid = order["entity_id"]
    mug, tee = (i["item_id"] for i in order["items"])
    over = _ship(api, oid, 400, items=[{"order_item_id": mug, "qty": 4}])
    assert over["message"] == (
        "Shipment Document Validation Error(s):\n"
        'The quantity to ship must not be greater than the unshipped quantity for product SKU "MUG-001".'
    )
    no_number = _ship(api, oid, 400, tracks=[{"track_number": "", "title": "UPS", "carrier_code": "ups"}])
    assert no_number["message"].endswith("Please enter a tracking number.")

    # a shipment of a not-invoiced order leaves it processing, even when everything is shipped
    _ship(api, oid, items=[{"order_item_id": mug, "qty": 2}])
    partial = api.order(oid)
    assert partial["state"] == "processing" and [i["qty_shipped"] for i in partial["items"]] == [2, 0]
    _ship(api, oid, items=[{"order_item_id": mug, "qty": 1}, {"order_item_id": tee, "qty": 1}])
    assert api.order(oid)["state"] == "processing"
    assert _ship(api, oid, 400)["message"].endswith("The order does not allow a shipment to be created.")
    # invoicing the fully shipped order completes it
    _invoice(api, oid)
    assert api.order(oid)["state"] == "complete"


def test_partial_invoice_then_cancel_keeps_invoiced_part(sqlite_api: Api) -> None:
    api = sqlite_api
    items = [{"sku": "MUG-001", "qty_ordered": 2, "price": 10.0}, {"sku": "CAP-001", "qty_ordered": 1, "price": 15.25}]
    order = api.create_order(items=items, shipping=0)
    oid = order["entity_id"]
    mug = order["items"][0]["item_id"]
    unknown = _invoice(api, oid, 400, items=[{"order_item_id": 999, "qty": 1}])
    assert "The invoice contains one or more items that are not part of the original order." in unknown["message"]
    too_many = _invoice(api, oid, 400, items=[{"order_item_id": mug, "qty": 3}])
    assert too_many["message"].endswith('for product SKU "MUG-001".')
    _invoice(api, oid, items=[{"order_item_id": mug, "qty": 2}])
    partly = api.order(oid)
    assert partly["state"] == "processing" and partly["total_invoiced"] == 20.0
    # Magento cancels what is not invoiced; the invoiced, unshipped part keeps it processing
    assert _cancel(api, oid) is True
    after = api.order(oid)
    assert after["state"] == "processing"
    assert {i["sku"]: i["qty_canceled"] for i in after["items"]} == {"MUG-001": 0, "CAP-001": 1}
    assert _invoice(api, oid, 400)["message"].endswith("The order does not allow an invoice to be created.")
    _refund(api, oid)
    assert api.order(oid)["state"] == "closed"


def test_partial_refund_and_limits(sqlite_api: Api) -> None:
    api = sqlite_api
    items = [{"sku": "MUG-001", "qty_ordered": 2, "price": 10.0}, {"sku": "CAP-001", "qty_ordered": 1, "price": 15.0}]
    order = api.create_order(items=items, shipping=5.0)
    oid = order["entity_id"]
    mug = order["items"][0]["item_id"]
    assert _refund(api, oid, 400)["message"] == (
        "Creditmemo Document Validation Error(s):\nThe order does not allow a creditmemo to be created."
    )
    _invoice(api, oid)
    _ship(api, oid)
    assert api.order(oid)["state"] == "complete"
    too_much = _refund(api, oid, 400, items=[{"order_item_id": mug, "qty": 3}])
    assert too_much["message"].endswith('unrefunded quantity for product SKU "MUG-001".')
    shipping = _refund(api, oid, 400, items=[{"order_item_id": mug, "qty": 1}], arguments={"shipping_amount": 9})
    assert shipping["message"].endswith("Maximum shipping amount allowed to refund is: USD 5.00")
    _refund(
        api, oid, items=[{"order_item_id": mug, "qty": 1}], arguments={"shipping_amount": 0, "adjustment_negative": 2}
    )
    partly = api.order(oid)
    assert partly["state"] == "complete" and partly["total_refunded"] == 8.0
    _refund(api, oid)
    final = api.order(oid)
    assert final["state"] == "closed" and final["total_refunded"] == pytest.approx(order["grand_total"] - 2)


# --- comments, statuses, notifications ----------------------------------------------------------------


def test_comments_statuses_and_notifications(sqlite_api: Api) -> None:
    api = sqlite_api
    quiet = api.create_order(ext="111-0000003-0000003")
    oid = quiet["entity_id"]
    assert api.ok("GET", "/V1/orders/{id}/statuses", id=oid) == "pending"
    assert api.ok("POST", "/V1/orders/{id}/comments", id=oid, json={"statusHistory": {
        "comment": "Imported from Amazon", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": oid}}) is True  # fmt: skip
    comments = api.ok("GET", "/V1/orders/{id}/comments", id=oid)
    assert comments["total_count"] == 2 and comments["items"][0]["comment"] == "Imported from Amazon"
    assert comments["search_criteria"]["filter_groups"][0]["filters"][0]["field"] == "parent_id"
    bad_status = api.error(400, "POST", "/V1/orders/{id}/comments", id=oid, json={"statusHistory": {
        "comment": "x", "status": "complete", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": oid}})  # fmt: skip
    assert bad_status["parameters"] == ["complete"]
    assert api.error(400, "POST", "/V1/orders/{id}/comments", id=oid, json={})["parameters"] == {
        "fieldName": "statusHistory"
    }
    _invoice(api, oid, notify=False)
    _ship(api, oid, notify=False)
    assert api.notifications() == []  # the sync's path: nothing reaches the buyer

    loud = api.create_order(ext="111-0000004-0000004", send_email=1, email="loud@example.com")
    lid, increment = loud["entity_id"], loud["increment_id"]
    api.ok("POST", "/V1/orders/{id}/comments", id=lid, json={"statusHistory": {
        "comment": "Thanks!", "is_customer_notified": 1, "is_visible_on_front": 1, "parent_id": lid}})  # fmt: skip
    invoice_id = _invoice(api, lid, notify=True, comment={"comment": "Paid", "is_visible_on_front": 0})
    shipment_id = _ship(api, lid, notify=True)
    memo_id = _refund(api, lid, notify=True)
    mails = api.notifications(order_increment_id=increment)
    assert [(m["type"], m["entity_id"]) for m in mails] == [
        ("new_order", lid), ("order_comment", None), ("invoice", invoice_id), ("shipment", shipment_id),
        ("creditmemo", memo_id),
    ]  # fmt: skip
    assert {m["email"] for m in mails} == {"loud@example.com"} and all(m["created_at"] for m in mails)
    history = api.order(lid)["status_histories"]
    assert [h["is_customer_notified"] for h in history[:4]] == [1, 1, 1, 1]
    assert api.order(lid)["email_sent"] == 1


# --- shipments and tracks -----------------------------------------------------------------------------


def test_shipments_search_get_and_track(sqlite_api: Api) -> None:
    api = sqlite_api
    first = api.create_order(ext="111-0000005-0000005")["entity_id"]
    second = api.create_order(ext="111-0000006-0000006", store="amazon_mx")["entity_id"]
    s1 = _ship(api, first, tracks=[{"track_number": "TRK1", "title": "UPS", "carrier_code": "ups"}],
               comment={"comment": "Left at door", "is_visible_on_front": 0})  # fmt: skip
    s2 = _ship(api, second)
    listed = api.search(
        "/V1/shipments", criteria([("order_id", first, "eq"), ("order_id", second, "eq")], sort=[("entity_id", "DESC")])
    )
    assert [s["entity_id"] for s in listed["items"]] == [s2, s1] and listed["total_count"] == 2
    shipment = api.ok("GET", "/V1/shipment/{id}", id=s1)
    assert shipment["increment_id"] == "000000001" and shipment["total_qty"] == 2
    assert shipment["items"][0]["sku"] == "MUG-001" and shipment["comments"][0]["comment"] == "Left at door"
    assert api.ok("GET", "/V1/shipment/{id}", id=s2)["increment_id"] == "3000000001"
    since = api.search("/V1/shipments", criteria([("created_at", shipment["created_at"], "gteq")]))
    assert since["total_count"] == 2
    assert api.error(404, "GET", "/V1/shipment/{id}", id=999)

    track = api.ok("POST", "/V1/shipment/track", json={"entity": {
        "order_id": second, "parent_id": s2, "track_number": "9400100000000000000000", "title": "USPS",
        "carrier_code": "usps", "weight": 0, "qty": 1, "description": ""}})  # fmt: skip
    assert track["entity_id"] and track["parent_id"] == s2
    assert api.ok("GET", "/V1/shipment/{id}", id=s2)["tracks"][0]["track_number"] == "9400100000000000000000"
    wrong = api.error(400, "POST", "/V1/shipment/track", json={"entity": {
        "order_id": first, "parent_id": s2, "track_number": "X", "title": "UPS", "carrier_code": "ups",
        "weight": 0, "qty": 1, "description": ""}})  # fmt: skip
    assert wrong == {"message": "Could not save the shipment tracking."}

    comments = api.ok("GET", "/V1/shipment/{id}/comments", id=s1)
    assert [c["comment"] for c in comments["items"]] == ["Left at door"] and comments["total_count"] == 1
    assert api.ok("GET", "/V1/shipment/{id}/comments", id=s2)["items"] == []
    assert api.ok("GET", "/V1/shipment/{id}/label", id=s1) == ""  # no carrier printed a label
    assert api.error(404, "GET", "/V1/shipment/{id}/label", id=999)


# --- order items, invoices, credit memos --------------------------------------------------------------

NO_SUCH_ENTITY = {"message": "The entity that was requested doesn't exist. Verify the entity and try again."}
NEED_ID = {"message": "An ID is needed. Set the ID and try again."}


def test_order_items_search_get_and_page_by_id(api: Api) -> None:
    items = [{"sku": "MUG-001", "qty_ordered": 2, "price": 13.15}, {"sku": "TEE-002", "qty_ordered": 1, "price": 20.0}]
    first = api.create_order(items=items)
    second = api.create_order(ext="111-0000007-0000007", sku="MUG-001", qty=1, store="amazon_ca")
    mugs = api.search("/V1/orders/items", criteria([("sku", "MUG-001", "eq")]))
    assert [(i["order_id"], i["qty_ordered"], i["store_id"]) for i in mugs["items"]] == [
        (first["entity_id"], 2, 1), (second["entity_id"], 1, 2),
    ]  # fmt: skip
    assert mugs["total_count"] == 2 and mugs["search_criteria"]["filter_groups"][0]["filters"][0]["field"] == "sku"
    every = [i["item_id"] for i in first["items"] + second["items"]]
    # paging by id, as integrators page large tables: item_id > the last one seen, ascending
    seen, last = [], 0
    while True:
        page = api.search(
            "/V1/orders/items", criteria([("item_id", last, "gt")], page_size=2, sort=[("item_id", "ASC")])
        )
        seen += [i["item_id"] for i in page["items"]]
        assert page["total_count"] == len(every) - len(seen) + len(page["items"])  # counted after the id filter
        if len(page["items"]) < 2:
            break
        last = page["items"][-1]["item_id"]
    assert seen == every
    by_order = api.search("/V1/orders/items", criteria([("order_id", first["entity_id"], "eq")]))
    assert [i["sku"] for i in by_order["items"]] == ["MUG-001", "TEE-002"]

    item = api.ok("GET", "/V1/orders/items/{id}", id=first["items"][1]["item_id"])
    assert item == first["items"][1]
    assert api.error(404, "GET", "/V1/orders/items/{id}", id=999_999) == NO_SUCH_ENTITY
    assert api.error(400, "GET", "/V1/orders/items/{id}", id=0) == NEED_ID
    assert api.error(500, "GET", "/V1/orders/items", params=criteria([("no_such_column", "1", "eq")]))


def test_invoices_and_credit_memos_search_get_and_comments(api: Api) -> None:
    items = [{"sku": "MUG-001", "qty_ordered": 2, "price": 10.0}, {"sku": "CAP-001", "qty_ordered": 1, "price": 15.0}]
    order = api.create_order(items=items, shipping=5.0)
    oid = order["entity_id"]
    mug, cap = (i["item_id"] for i in order["items"])
    first = _invoice(api, oid, items=[{"order_item_id": mug, "qty": 2}],
                     comment={"comment": "First parcel paid", "is_visible_on_front": 0})  # fmt: skip
    second = _invoice(api, oid, items=[{"order_item_id": cap, "qty": 1}])
    other = api.create_order(ext="111-0000008-0000008", store="amazon_mx")["entity_id"]
    third = _invoice(api, other)

    found = api.search("/V1/invoices", criteria([("order_id", oid, "eq")]))
    assert [i["entity_id"] for i in found["items"]] == [first, second] and found["total_count"] == 2
    invoice = api.ok("GET", "/V1/invoices/{id}", id=first)
    assert (invoice["order_id"], invoice["increment_id"], invoice["state"], invoice["total_qty"]) == (
        oid,
        "000000001",
        2,
        2,
    )
    assert invoice["grand_total"] == 25.0 and invoice["items"][0]["sku"] == "MUG-001"  # the first takes the shipping
    assert invoice["comments"][0]["comment"] == "First parcel paid"
    assert api.ok("GET", "/V1/invoices/{id}", id=third)["increment_id"] == "3000000001"
    assert sum(i["grand_total"] for i in found["items"]) == api.order(oid)["total_invoiced"]
    comments = api.ok("GET", "/V1/invoices/{id}/comments", id=first)
    assert [c["comment"] for c in comments["items"]] == ["First parcel paid"]
    assert comments["search_criteria"] == {
        "filter_groups": [{"filters": [{"field": "parent_id", "value": str(first), "condition_type": "eq"}]}]
    }
    # Magento's comment list is a search: an unknown document has none, it is not a 404
    assert api.ok("GET", "/V1/invoices/{id}/comments", id=999)["total_count"] == 0
    assert api.error(404, "GET", "/V1/invoices/{id}", id=999) == NO_SUCH_ENTITY
    assert api.error(400, "GET", "/V1/invoices/{id}", id=0) == NEED_ID
    paid = api.search("/V1/invoices", criteria([("state", 2, "eq")], page_size=2, page=2, sort=[("entity_id", "ASC")]))
    assert [i["entity_id"] for i in paid["items"]] == [third] and paid["total_count"] == 3

    memo = _refund(api, oid, items=[{"order_item_id": mug, "qty": 1}], arguments={"shipping_amount": 0},
                   comment={"comment": "One mug arrived broken", "is_visible_on_front": 0})  # fmt: skip
    rest = _refund(api, oid)
    memos = api.search("/V1/creditmemos", criteria([("order_id", oid, "eq")], sort=[("entity_id", "DESC")]))
    assert [m["entity_id"] for m in memos["items"]] == [rest, memo] and memos["total_count"] == 2
    read = api.ok("GET", "/V1/creditmemo/{id}", id=memo)
    assert (read["order_id"], read["state"], read["grand_total"], read["increment_id"]) == (oid, 2, 10.0, "000000001")
    assert [(i["sku"], i["qty"], i["base_price"]) for i in read["items"]] == [("MUG-001", 1, 10.0)]
    assert sum(m["grand_total"] for m in memos["items"]) == api.order(oid)["total_refunded"] == 40.0
    assert [c["comment"] for c in api.ok("GET", "/V1/creditmemo/{id}/comments", id=memo)["items"]] == [
        "One mug arrived broken"
    ]
    assert api.error(404, "GET", "/V1/creditmemo/{id}", id=999) == NO_SUCH_ENTITY
    assert api.error(500, "GET", "/V1/creditmemos", params=criteria([("nope", "1", "eq")]))
    assert api.search("/V1/creditmemos", criteria([("order_id", other, "eq")]))["items"] == []


# --- hold / unhold ------------------------------------------------------------------------------------


def test_hold_blocks_documents_and_cancel_until_unheld(api: Api) -> None:
    oid = api.create_order()["entity_id"]
    assert api.ok("POST", "/V1/orders/{id}/hold", id=oid) is True
    held = api.order(oid)
    assert (held["state"], held["status"], held["hold_before_state"], held["hold_before_status"]) == (
        "holded", "holded", "new", "pending",
    )  # fmt: skip
    assert api.error(400, "POST", "/V1/orders/{id}/hold", id=oid) == {"message": "A hold action is not available."}
    assert _invoice(api, oid, 400)["message"] == (
        "Invoice Document Validation Error(s):\nAn invoice cannot be created when an order has a status of holded"
    )
    assert _ship(api, oid, 400)["message"].endswith("A shipment cannot be created when an order has a status of holded")
    assert _cancel(api, oid) is False
    assert api.search("/V1/invoices", criteria([("order_id", oid, "eq")]))["total_count"] == 0

    assert api.ok("POST", "/V1/orders/{id}/unhold", id=oid) is True
    released = api.order(oid)
    assert (released["state"], released["status"]) == ("new", "pending")
    assert "hold_before_state" not in released and "hold_before_status" not in released
    assert api.error(400, "POST", "/V1/orders/{id}/unhold", id=oid) == {"message": "You cannot remove the hold."}

    _invoice(api, oid)
    assert api.ok("POST", "/V1/orders/{id}/hold", id=oid) is True
    assert _refund(api, oid, 400)["message"].endswith(
        "A creditmemo can not be created when an order has a status of holded"
    )
    assert api.ok("POST", "/V1/orders/{id}/unhold", id=oid) is True
    assert (api.order(oid)["state"], api.order(oid)["status"]) == ("processing", "processing")
    _ship(api, oid)
    assert api.order(oid)["state"] == "complete"
    assert api.error(400, "POST", "/V1/orders/{id}/hold", id=oid) == {"message": "A hold action is not available."}
    canceled = api.create_order(ext="111-0000009-0000009")["entity_id"]
    _cancel(api, canceled)
    assert api.error(400, "POST", "/V1/orders/{id}/hold", id=canceled)
    assert api.error(404, "POST", "/V1/orders/{id}/hold", id=999_999) == NO_SUCH_ENTITY
    assert api.error(401, "POST", "/V1/orders/{id}/unhold", id=oid, token=None)["parameters"] == {
        "resources": "Magento_Sales::unhold"
    }


# --- stores -------------------------------------------------------------------------------------------


def test_store_views_groups_websites_and_configs(api: Api) -> None:
    views = api.ok("GET", "/V1/store/storeViews")
    assert [(v["id"], v["code"], v["website_id"], v["store_group_id"]) for v in views] == [
        (0, "admin", 0, 0), (1, "default", 1, 1), (2, "amazon_ca", 2, 2), (3, "amazon_mx", 3, 3),
        (4, "amazon_customers", 1, 1),
    ]  # fmt: skip
    groups = api.ok("GET", "/V1/store/storeGroups")
    assert [(g["id"], g["code"], g["website_id"], g["default_store_id"], g["root_category_id"]) for g in groups] == [
        (0, "default", 0, 0, 0), (1, "main_website_store", 1, 1, 2), (2, "ca_store", 2, 2, 2), (3, "mx_store", 3, 3, 2),
    ]  # fmt: skip
    websites = api.ok("GET", "/V1/store/websites")
    assert [(w["id"], w["code"], w["default_group_id"]) for w in websites] == [
        (0, "admin", 0), (1, "base", 1), (2, "ca", 2), (3, "mx", 3),
    ]  # fmt: skip
    configs = api.ok("GET", "/V1/store/storeConfigs")
    assert [(c["code"], c["base_currency_code"], c["default_display_currency_code"], c["locale"]) for c in configs] == [
        ("default", "USD", "USD", "en_US"), ("amazon_ca", "CAD", "CAD", "en_CA"), ("amazon_mx", "MXN", "MXN", "es_MX"),
        ("amazon_customers", "USD", "USD", "en_US"),
    ]  # fmt: skip
    assert configs[0]["base_url"] == configs[0]["secure_base_url"] == api.box.commerce_url + "/"
    assert configs[0]["base_media_url"] == api.box.commerce_url + "/media/"
    some = api.ok("GET", "/V1/store/storeConfigs", params={"storeCodes[]": ["amazon_mx", "amazon_ca", "nowhere"]})
    assert [c["code"] for c in some] == ["amazon_ca", "amazon_mx"]
    assert [c["id"] for c in api.ok("GET", "/V1/store/storeConfigs", params={"storeCodes[0]": "amazon_mx"})] == [3]
    assert api.ok("GET", "/V1/store/storeViews", store="amazon_ca") == views  # the same from any store's route
    assert api.error(401, "GET", "/V1/store/websites", token=None)["parameters"] == {
        "resources": "Magento_Backend::stores"
    }


def test_a_store_view_added_through_the_admin_api(api: Api) -> None:
    """POST /_sandbox/stores: a new website for a new currency, a second view on it; store routes answer at once."""
    added = api.box.commerce("POST", "/_sandbox/stores", json={
        "code": "amazon_uk", "name": "Amazon UK", "website_code": "uk", "currency": "GBP", "emails_disabled": True,
    })  # fmt: skip
    assert added.status_code == 200, added.text
    uk = added.json()
    assert (uk["id"], uk["website_code"], uk["currency"], uk["emails_disabled"]) == (5, "uk", "GBP", True)
    views = {v["code"]: v for v in api.ok("GET", "/V1/store/storeViews")}
    assert (views["amazon_uk"]["id"], views["amazon_uk"]["name"]) == (5, "Amazon UK")
    websites = {w["code"]: w for w in api.ok("GET", "/V1/store/websites")}
    assert websites["uk"]["id"] == views["amazon_uk"]["website_id"]
    [config] = api.ok("GET", "/V1/store/storeConfigs", params={"storeCodes[]": ["amazon_uk"]})
    assert (config["base_currency_code"], config["default_display_currency_code"]) == ("GBP", "GBP")
    order = api.create_order(store="amazon_uk", ext="202-0000000-0000001", order_currency_code="GBP",
                             base_currency_code="GBP")  # fmt: skip
    assert (order["store_id"], order["order_currency_code"], order["increment_id"]) == (5, "GBP", "5000000001")
    # a second store view on the same website: the website's base currency must match
    same = {"code": "amazon_uk_b2b", "name": "Amazon UK B2B", "website_code": "uk", "currency": "GBP"}
    assert api.box.commerce("POST", "/_sandbox/stores", json=same).status_code == 200
    for bad, message in (
        ({**same, "code": "amazon_uk_eur", "currency": "EUR"}, "Website uk has base currency GBP"),
        (same, "Store with the same code already exists."),
        ({**same, "code": "9lives"}, "code must start with a letter"),
        ({**same, "code": "amazon_x", "currency": "pounds"}, "currency must be an ISO 4217 code"),
        ({**same, "code": "amazon_x", "website_code": "admin"}, "The admin website cannot have store views."),
    ):
        refused = api.box.commerce("POST", "/_sandbox/stores", json=bad)
        assert refused.status_code == 400 and message in refused.json()["message"], refused.text
    api.box.commerce("POST", "/_sandbox/reset").raise_for_status()  # a reset forgets added stores
    assert "amazon_uk" not in {v["code"] for v in api.ok("GET", "/V1/store/storeViews")}
    assert api.call("GET", "/V1/orders", store="amazon_uk").status_code == 404


def test_account_emails_follow_the_request_store_views_email_switch(api: Api) -> None:
    """Magento checks "Disable Email Communications" in the request's store view (its current store)."""

    def create(store: str | None, email: str, store_id: int | None = None) -> dict:
        customer = {"email": email, "firstname": "Ana", "lastname": "Smith", "website_id": 1}
        if store_id is not None:
            customer["store_id"] = store_id
        return api.ok("POST", "/V1/customers", json={"customer": customer}, store=store)

    quiet = create("amazon_customers", "quiet@example.com", store_id=4)
    assert (quiet["store_id"], quiet["website_id"]) == (4, 1)
    create(None, "loud@example.com", store_id=4)  # belongs to the quiet store, but sent from the default one
    create("default", "default@example.com")
    sent = api.box.commerce("GET", "/_sandbox/notifications").json()
    assert [(n["type"], n["email"], n["store_id"]) for n in sent] == [
        ("new_account", "loud@example.com", 4), ("new_account", "default@example.com", 1),
    ]  # fmt: skip
    # sales e-mails: the order's store view decides (Magento's senders emulate the order's store)
    order = api.create_order(store="amazon_ca", ext="702-0000000-0000009", order_currency_code="CAD")
    api.ok("POST", "/V1/order/{orderId}/invoice", orderId=order["entity_id"], json={"notify": True})
    assert [n["type"] for n in api.box.commerce("GET", "/_sandbox/notifications").json()] == [
        "new_account", "new_account",
    ]  # fmt: skip


# --- the fields filter --------------------------------------------------------------------------------


def test_fields_filter_keeps_the_selected_keys(sqlite_api: Api) -> None:
    api = sqlite_api
    items = [{"sku": "MUG-001", "qty_ordered": 2, "price": 10.0}, {"sku": "CAP-001", "qty_ordered": 1, "price": 15.0}]
    order = api.create_order(items=items)
    oid, increment = order["entity_id"], order["increment_id"]

    def raw(method: str, path: str, fields: str | None, **kwargs: Any) -> Any:
        params = {**kwargs.pop("params", {}), **({"fields": fields} if fields is not None else {})}
        response = api.box.commerce(method, "/rest" + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"},
                                    **kwargs)  # fmt: skip
        return response.status_code, response.json()

    assert raw("GET", "/V1/orders", "items[entity_id,increment_id],total_count") == (
        200, {"items": [{"entity_id": oid, "increment_id": increment}], "total_count": 1},
    )  # fmt: skip
    nested = "items[increment_id,items[sku,qty_ordered],billing_address[city,street],payment[method]]"
    assert raw("GET", "/V1/orders", nested)[1] == {
        "items": [
            {
                "increment_id": increment,
                "billing_address": {"city": "Seattle", "street": ["1 Test Street", "Apt 2"]},
                "items": [{"sku": "MUG-001", "qty_ordered": 2}, {"sku": "CAP-001", "qty_ordered": 1}],
                "payment": {"method": "checkmo"},
            }
        ]
    }
    assert raw("GET", f"/V1/orders/{oid}", "entity_id,state,no_such_key") == (200, {"entity_id": oid, "state": "new"})
    assert raw("GET", f"/V1/orders/{oid}", "no_such_key") == (200, {})
    assert raw("GET", "/V1/store/storeViews", "code") == (
        200, [{"code": "admin"}, {"code": "default"}, {"code": "amazon_ca"}, {"code": "amazon_mx"},
              {"code": "amazon_customers"}],
    )  # fmt: skip
    # an empty list under a nested selection becomes null (PHP's empty array), a bare one stays
    empty = {"searchCriteria[filter_groups][0][filters][0][field]": "order_id",
             "searchCriteria[filter_groups][0][filters][0][value]": "999"}  # fmt: skip
    assert raw("GET", "/V1/invoices", "items[entity_id],total_count", params=empty)[1] == {
        "items": None,
        "total_count": 0,
    }
    assert raw("GET", "/V1/invoices", "items,total_count", params=empty)[1] == {"items": [], "total_count": 0}
    # a malformed filter empties the whole answer, as Magento's parser returns nothing for it
    for malformed in ("items[entity_id", "items.entity_id", "entity id", "entity_id;total_count"):
        assert raw("GET", "/V1/orders", malformed) == (200, []), malformed
    # scalar answers, empty filters and error bodies are left alone; any method's answer is filtered
    assert raw("GET", f"/V1/orders/{oid}/statuses", "status") == (200, "pending")
    assert raw("GET", "/V1/orders", "")[1]["total_count"] == 1
    assert raw("GET", "/V1/orders/999", "message") == (404, NO_SUCH_ENTITY)
    created = raw("PUT", "/V1/orders/create", "entity_id,ext_order_id", json={"entity": order_entity(ext="FIELDS-1")})
    assert created == (200, {"entity_id": oid + 1, "ext_order_id": "FIELDS-1"})


def test_fields_filter_parser() -> None:
    assert fields_filter.parse("items[entity_id,items[sku]],total_count") == {
        "items": {"entity_id": 1, "items": {"sku": 1}}, "total_count": 1,
    }  # fmt: skip
    assert fields_filter.parse("customer[id,email],addresses[city,region[region_code]]") == {
        "customer": {"id": 1, "email": 1}, "addresses": {"city": 1, "region": {"region_code": 1}},
    }  # fmt: skip
    assert fields_filter.parse("a[b],a[c]") == {"a": {"c": 1}}  # the last selection of a field wins
    assert fields_filter.parse("items[a") is None and fields_filter.parse("a b") is None
    assert fields_filter.parse("é") is None  # PHP's \w is ASCII


# --- searchCriteria -----------------------------------------------------------------------------------


def test_search_criteria_semantics(api: Api) -> None:
    skus = ["MUG-001", "TEE-001", "CAP-001", "BTL-001", "BAG-001"]
    ids = []
    for n, sku in enumerate(skus):
        order = api.create_order(
            sku=sku, qty=1, price=10.0 * (n + 1), shipping=0, ext=f"ORD-{n}", email=f"c{n}@example.com"
        )
        ids.append(order["entity_id"])
    api.ok("POST", "/V1/orders/{id}/cancel", id=ids[4])

    def found(*groups: list[tuple[str, Any, str]], **kw: Any) -> list[int]:
        result = api.search("/V1/orders", criteria(*groups, **kw))
        return [o["entity_id"] for o in result["items"]]

    assert found([("grand_total", 20, "gt")]) == ids[2:]
    assert found([("grand_total", 20, "gteq")]) == ids[1:]
    assert found([("grand_total", 20, "lt")]) == ids[:1]
    assert found([("grand_total", 20, "lteq")]) == ids[:2]
    assert found([("grand_total", 20, "from")], [("grand_total", 40, "to")]) == ids[1:4]
    assert found([("ext_order_id", "ORD-3", "neq")]) == ids[:3] + ids[4:]
    assert found([("customer_email", "c%@example.com", "like")]) == ids
    assert found([("ext_order_id", "ORD-1,ORD-3", "in")]) == [ids[1], ids[3]]
    assert found([("ext_order_id", "ORD-1,ORD-3", "nin")]) == [ids[0], ids[2], ids[4]]
    assert found([("status", "canceled", "eq")]) == [ids[4]]
    assert found([("customer_note", "", "null")]) == ids
    assert found([("ext_order_id", "", "notnull")]) == ids
    assert found([("ext_order_id", "ORD-2", "finset")]) == [ids[2]]
    # filters in one group are OR-ed, groups are AND-ed
    assert found([("ext_order_id", "ORD-0", "eq"), ("ext_order_id", "ORD-4", "eq")]) == [ids[0], ids[4]]
    assert found([("ext_order_id", "ORD-0", "eq"), ("ext_order_id", "ORD-4", "eq")], [("status", "pending", "eq")]) == [
        ids[0]
    ]
    # sorting, paging (a page past the last is empty; total_count is always the full count)
    assert found(sort=[("grand_total", "DESC")]) == ids[::-1]
    page2 = api.search("/V1/orders", criteria(page_size=2, page=2, sort=[("entity_id", "ASC")]))
    assert [o["entity_id"] for o in page2["items"]] == ids[2:4] and page2["total_count"] == 5
    assert page2["search_criteria"] == {
        "filter_groups": [], "sort_orders": [{"field": "entity_id", "direction": "ASC"}], "page_size": 2, "current_page": 2,
    }  # fmt: skip
    beyond = api.search("/V1/orders", criteria(page_size=2, page=4))
    assert beyond["items"] == [] and beyond["total_count"] == 5
    # camelCase keys, as Magento's own spec spells them, parse the same
    camel = api.search("/V1/orders", {
        "searchCriteria[filterGroups][0][filters][0][field]": "ext_order_id",
        "searchCriteria[filterGroups][0][filters][0][value]": "ORD-2",
        "searchCriteria[filterGroups][0][filters][0][conditionType]": "eq",
    })  # fmt: skip
    assert [o["entity_id"] for o in camel["items"]] == [ids[2]]
    # values are bound parameters, never SQL: an injection attempt just matches nothing
    assert found([("ext_order_id", "x' OR '1'='1", "eq")]) == []
    assert found([("created_at", "2000-01-01T00:00:00Z", "gteq")]) == ids
    # an unknown column is a SQL error in Magento (500 with a report id), never interpolated
    error = api.error(500, "GET", "/V1/orders", params=criteria([("grand_total; DROP TABLE sales_order", "1", "eq")]))
    assert error["message"].startswith("Internal Error. Details are available in Magento log file. Report ID: webapi-")
    assert api.ok("GET", "/V1/orders")["total_count"] == 5


# --- routes, admin API, faults, concurrency -----------------------------------------------------------


def test_store_code_routes(sqlite_api: Api) -> None:
    api = sqlite_api
    assert api.create_order(store="default")["store_id"] == 1
    assert api.create_order(store="amazon_mx", ext="MX-1")["store_id"] == 3
    assert api.create_order(store="all", ext="ALL-1")["store_id"] == 1  # admin scope: the entity's store or default
    assert api.ok("GET", "/V1/orders", store="amazon_ca")["total_count"] == 3
    customer = api.ok("POST", "/V1/customers", store="amazon_ca", json={"customer": {
        "email": "ca@example.com", "firstname": "C", "lastname": "A"}})  # fmt: skip
    assert (customer["store_id"], customer["website_id"], customer["created_in"]) == (2, 2, "Amazon Ca")
    response = api.call("GET", "/V1/orders", store="nowhere")
    assert (response.status_code, response.json()) == (404, {"message": "Request does not match any route."})
    assert api.call("GET", "/V1/nothing/here").status_code == 404


def test_admin_products_reset_and_health(sandbox: Sandbox, spec) -> None:
    api = Api(sandbox, spec)
    assert sandbox.commerce("GET", "/_sandbox/health").json()["status"] == "ok"
    skus = {p["sku"] for p in sandbox.commerce("GET", "/_sandbox/products").json()}
    assert "MUG-001" in skus and "LMP-006" not in skus
    upsert = sandbox.commerce(
        "POST", "/_sandbox/products", json=[{"sku": "LMP-006", "name": "Desk lamp #6", "price": 40.5}]
    )
    assert upsert.json() == {"created": 1, "updated": 0}
    assert sandbox.commerce("POST", "/_sandbox/products", json=[{"sku": "LMP-006", "price": 41}]).json()["updated"] == 1
    order = api.create_order(sku="LMP-006", qty=1, price=41)
    assert order["items"][0]["name"] == "Desk lamp #6"
    sandbox.commerce("POST", "/_sandbox/reset").raise_for_status()
    assert api.ok("GET", "/V1/orders")["total_count"] == 0
    assert "LMP-006" not in {p["sku"] for p in sandbox.commerce("GET", "/_sandbox/products").json()}
    assert api.create_order()["increment_id"] == "000000001"  # sequences restart after a reset


def test_faults_503_then_success(sqlite_api: Api) -> None:
    api = sqlite_api
    rules = {"rules": [{"kind": "503", "count": 1, "method": "PUT", "path": "/V1/orders/create"}]}
    api.box.commerce("PUT", "/_sandbox/faults", json=rules).raise_for_status()
    failed = api.call("PUT", "/V1/orders/create", json={"entity": order_entity()})
    assert failed.status_code == 503 and "message" in failed.json()
    assert api.ok("GET", "/V1/orders")["total_count"] == 0  # nothing was written
    assert api.create_order()["increment_id"] == "000000001"

    # a gateway timeout: held for delay_s, answered 504, the request never ran
    rules = {"rules": [{"kind": "timeout", "count": 1, "delay_s": 0.2, "path": "/V1/orders$"}]}
    api.box.commerce("PUT", "/_sandbox/faults", json=rules).raise_for_status()
    timeout = api.call("GET", "/V1/orders")
    assert timeout.status_code == 504 and timeout.json() == {"message": "Gateway Time-out"}
    assert api.ok("GET", "/V1/orders")["total_count"] == 1


def test_lost_response_after_commit(sqlite_api: Api) -> None:
    api = sqlite_api
    rules = {"rules": [{"kind": "lost_response", "count": 1, "path": "/V1/orders/create"}]}
    api.box.commerce("PUT", "/_sandbox/faults", json=rules).raise_for_status()
    with pytest.raises(httpx.TransportError):
        api.box.commerce("PUT", "/rest/V1/orders/create", json={"entity": order_entity(ext="LOST-1")},
                         headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    # the order was committed: a client resolves the lost create by looking it up, never by re-sending blindly
    found = api.search("/V1/orders", criteria([("ext_order_id", "LOST-1", "eq")]))
    assert found["total_count"] == 1 and found["items"][0]["increment_id"] == "000000001"


def test_concurrent_order_creates(api: Api) -> None:
    api.box.commerce("PUT", "/_sandbox/faults", json={"latency_ms": 20}).raise_for_status()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = api.box.commerce_url + "/rest/V1/orders/create"

    def create(n: int) -> tuple[int, str]:
        entity = order_entity(ext=f"CONC-{n}", increment_id="DUP-1" if n % 10 == 0 else None, sku=f"MUG-00{n % 5 + 1}")
        if entity["increment_id"] is None:
            del entity["increment_id"]
        with httpx.Client(timeout=30) as client:
            response = client.put(url, json={"entity": entity}, headers=headers)
        return response.status_code, response.json().get("increment_id", response.json().get("message"))

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(create, range(60)))
    created = [inc for status, inc in results if status == 200]
    clashes = [msg for status, msg in results if status == 400]
    # exactly one of the six orders claiming increment "DUP-1" wins; the others hit the unique key
    assert len(created) == 55 and clashes == ["Unique constraint violation found"] * 5
    assert len(set(created)) == 55
    generated = sorted(int(i) for i in created if re.fullmatch(r"\d{9}", i))
    assert len(generated) == 54
    if api.box.commerce_db.startswith("sqlite"):  # InnoDB may leave gaps in a sequence after a deadlock retry
        assert generated == list(range(1, 55))
    assert api.ok("GET", "/V1/orders", params=criteria(page_size=1))["total_count"] == 55


def test_saving_an_existing_order_updates_customer_details_only(sandbox, specs_dir):
    token = sandbox.commerce(
        "POST", "/rest/V1/integration/admin/token", json={"username": "admin", "password": "sandbox-admin-123"}
    ).json()
    headers = {"Authorization": f"Bearer {token}"}
    entity = {
        "ext_order_id": "111-5555555-5555555",
        "store_id": 1,
        "customer_email": "old@marketplace.amazon.com",
        "customer_firstname": "Old",
        "customer_lastname": "Name",
        "customer_is_guest": 1,
        "base_grand_total": 12.9,
        "grand_total": 12.9,
        "items": [{"sku": "MUG-001", "qty_ordered": 1, "price": 12.9, "row_total": 12.9}],
        "billing_address": {"firstname": "Old", "lastname": "Name", "street": ["1 Main St"], "city": "Seattle",
                            "postcode": "98101", "country_id": "US", "telephone": "N/A", "email": "old@marketplace.amazon.com"},
    }  # fmt: skip
    created = sandbox.commerce("PUT", "/rest/V1/orders/create", json={"entity": entity}, headers=headers).json()
    changes = {
        "entity_id": created["entity_id"],
        "customer_email": "new@marketplace.amazon.com",
        "customer_firstname": "New",
    }
    saved = sandbox.commerce("PUT", "/rest/V1/orders/create", json={"entity": changes}, headers=headers)
    assert saved.status_code == 200
    body = saved.json()
    assert (body["entity_id"], body["customer_email"], body["customer_firstname"], body["customer_lastname"]) == (
        created["entity_id"], "new@marketplace.amazon.com", "New", "Name",
    )  # fmt: skip
    assert body["increment_id"] == created["increment_id"] and body["grand_total"] == created["grand_total"]
    refused = sandbox.commerce(
        "PUT",
        "/rest/V1/orders/create",
        json={"entity": {"entity_id": created["entity_id"], "grand_total": 1}},
        headers=headers,
    )
    assert refused.status_code == 400 and "grand_total" in refused.json()["message"]
    missing = sandbox.commerce("PUT", "/rest/V1/orders/create", json={"entity": {"entity_id": 999999}}, headers=headers)
    assert missing.status_code == 404
    assert sandbox.commerce("GET", "/_sandbox/notifications").json() == []
