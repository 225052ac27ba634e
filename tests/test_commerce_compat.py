"""An independent Magento client against the Commerce sandbox: pymagento (PyPI, pinned in requirements.txt).

A few Amazon orders go through the sync's own Commerce step
(:func:`include.tasks.order_import.import_order`: customers, orders, offline
invoices, FBA shipments; a cancellation refunded by ``apply_amazon_changes``),
then pymagento makes the calls an integrator makes: order, item, customer,
invoice, credit-memo and shipment searches and reads, store lookups,
hold/unhold, ``fields`` and paging, on SQLite and on MariaDB. The last tests
keep docs/commerce-sandbox.md's endpoint list equal to the app's routes and
every route inside the published Magento 2.4.5 schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from magento import Magento, MagentoException, make_field_value_query, make_search_query

from include.clients.commerce import CommerceClient
from include.domain.settings import OrderSettings
from include.tasks.order_import import apply_amazon_changes, import_order
from include.tasks.order_sync import store_setup
from sandbox import credentials
from sandbox.commerce.app import create_app, magento_routes
from sandbox.commerce.endpoints_doc import sync_doc
from tests import amazon_orders as ao
from tests.conftest import Sandbox, start_sandbox

US, CA, MX = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"
SETTINGS = OrderSettings(customer_creation="create", fba_import=True)


@dataclass
class Shop:
    """A Commerce sandbox after a sync, the pymagento client on it, and the Commerce order id per scenario."""

    box: Sandbox
    magento: Magento
    orders: dict[str, int]


def _sync(box: Sandbox) -> dict[str, int]:
    """Import the scenarios as the sync's import task does; returns Commerce order ids by scenario name."""
    scenarios = {
        "mfn_us": ao.order(ao.line("MUG-001", qty=2, unit="13.15", shipping="4.99"), ao.line("TEE-002", unit="20.00"),
                           order_id="111-0000017-0000001"),
        "mfn_ca": ao.order(ao.line("CAP-003", unit="20.55", currency="CAD"), marketplace=CA,
                           order_id="111-0000017-0000002", buyer_email="ca.buyer.test@marketplace.amazon.com"),
        "mfn_mx": ao.order(ao.line("BTL-001", qty=3, unit="454.00", currency="MXN"), marketplace=MX,
                           order_id="111-0000017-0000003", buyer_email="mx.buyer.test@marketplace.amazon.com"),
        "fba_us": ao.order(ao.line("NBK-002", unit="10.49"), order_id="111-0000017-0000004", status="SHIPPED",
                           fulfilled_by="AMAZON", buyer_email=None),
        "cancelled": ao.order(ao.line("PEN-001", qty=2, unit="6.74"), order_id="111-0000017-0000005",
                              buyer_email="later.cancelled.test@marketplace.amazon.com"),
        "returning": ao.order(ao.line("MUG-001", unit="13.15"), order_id="111-0000017-0000006"),
    }  # fmt: skip
    ids: dict[str, int] = {}
    with CommerceClient(box.commerce_url, token=credentials.COMMERCE_INTEGRATION_TOKEN, timeout=10) as client:
        stores = store_setup(client, SETTINGS)
        for name, order in scenarios.items():
            store = stores.order_store(order["salesChannel"]["marketplaceId"])
            customer_store = stores.customer_store(store.website_id)
            result = import_order(client, order, settings=SETTINGS, store=store, customer_store=customer_store)
            assert result.ok, result.reason
            ids[name] = result.commerce_order_id
        cancelled = {**scenarios["cancelled"], "fulfillment": {**scenarios["cancelled"]["fulfillment"],
                                                               "fulfillmentStatus": "CANCELLED"}}  # fmt: skip
        result = apply_amazon_changes(client, cancelled, commerce_order_id=ids["cancelled"], settings=SETTINGS,
                                      store=stores.order_store(US))  # fmt: skip
        assert result.outcome == "refunded", result.reason
    return ids


@pytest.fixture(scope="module")
def mariadb_box(request) -> Iterator[Sandbox]:
    box = start_sandbox(request.getfixturevalue("mariadb_url"))
    yield box
    box.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def shop(request) -> Iterator[Shop]:
    """Synced once per database; the tests below read it, and the last one writes to orders no other test reads."""
    box = request.getfixturevalue("sandbox_session" if request.param == "sqlite" else "mariadb_box")
    box.reset()
    orders = _sync(box)
    magento = Magento(token=credentials.COMMERCE_INTEGRATION_TOKEN, base_url=box.commerce_url, batch_page_size=2)
    yield Shop(box, magento, orders)
    magento.close()


def test_orders_items_and_customers(shop: Shop) -> None:
    m, ids = shop.magento, shop.orders
    orders = list(m.get_orders())  # pages of 2 through currentPage
    assert sorted(o["entity_id"] for o in orders) == sorted(ids.values())
    assert m.get_total_orders_count() == len(ids)
    us = m.get_order(ids["mfn_us"])
    assert (us["ext_order_id"], us["state"], us["order_currency_code"]) == ("111-0000017-0000001", "processing", "USD")
    assert us["grand_total"] == pytest.approx(13.15 * 2 + 4.99 + 20)
    assert m.get_order(999_999, none_on_404=True) is None
    assert m.get_order_by_increment_id(us["increment_id"])["entity_id"] == ids["mfn_us"]
    assert m.get_order_by_increment_id("no-such-increment") is None
    assert [o["entity_id"] for o in m.get_orders(status="complete")] == [ids["fba_us"]]
    assert [o["entity_id"] for o in m.get_orders(status="closed")] == [ids["cancelled"]]
    assert [
        o["store_id"] for o in m.get_orders(query=make_field_value_query("ext_order_id", "111-0000017-0000003"))
    ] == [3]
    assert len(m.get_last_orders(3)) == 3

    mugs = list(m.get_orders_items(sku="MUG-001"))
    assert sorted(i["order_id"] for i in mugs) == sorted([ids["mfn_us"], ids["returning"]])
    item = m.get_order_item(mugs[0]["item_id"])
    assert (item["sku"], item["qty_invoiced"]) == ("MUG-001", mugs[0]["qty_ordered"])
    assert m.sku_was_bought("TEE-002") and not m.sku_was_bought("LMP-001")
    assert m.skus_were_bought(["CAP-003", "BAG-001"]) == {"CAP-003": True, "BAG-001": False}

    buyer = "ana.smith.test@marketplace.amazon.com"
    customers = list(m.get_customers(query=make_field_value_query("email", buyer)))
    assert len(customers) == 1  # the returning buyer reused the account of the first order
    assert m.get_customer(customers[0]["id"])["email"] == buyer
    assert {m.get_order(ids[n])["customer_id"] for n in ("mfn_us", "returning")} == {customers[0]["id"]}
    assert m.get_order(ids["fba_us"]).get("customer_is_guest") == 1  # FBA orders carry no buyer e-mail


def test_invoices_credit_memos_and_shipments(shop: Shop) -> None:
    m, ids = shop.magento, shop.orders
    invoices = list(m.get_invoices())
    assert sorted(i["order_id"] for i in invoices) == sorted(ids.values())  # every imported order, invoiced once
    [ca_invoice] = m.get_order_invoices(ids["mfn_ca"])
    assert ca_invoice["increment_id"] == "2000000001" and ca_invoice["order_currency_code"] == "CAD"
    assert m.get_invoice(ca_invoice["entity_id"])["items"][0]["sku"] == "CAP-003"
    assert m.get_invoice_by_increment_id("2000000001")["entity_id"] == ca_invoice["entity_id"]
    assert m.get_invoice(999_999, none_on_404=True) is None

    [memo] = m.get_credit_memos()
    refunded = m.get_order(ids["cancelled"])
    assert memo["order_id"] == ids["cancelled"] and memo["grand_total"] == refunded["total_refunded"]
    assert [(i["sku"], i["qty"]) for i in memo["items"]] == [("PEN-001", 2)]
    assert list(m.get_credit_memos(query=make_field_value_query("order_id", ids["mfn_us"]))) == []

    [shipment] = m.get_shipments()
    assert shipment["order_id"] == ids["fba_us"] and shipment["total_qty"] == 1
    assert [s["entity_id"] for s in m.get_order_shipments(ids["fba_us"])] == [shipment["entity_id"]]
    assert m.get_shipment(shipment["entity_id"])["items"][0]["sku"] == "NBK-002"
    assert list(m.get_shipment_comments(shipment["entity_id"])) == []
    assert m.get_shipment_label(shipment["entity_id"]) == ""
    assert m.get_shipment(999_999) is None


def test_store_lookups(shop: Shop) -> None:
    m = shop.magento
    assert [(v["code"], v["store_group_id"]) for v in m.get_store_views()] == [
        ("admin", 0), ("default", 1), ("amazon_ca", 2), ("amazon_mx", 3), ("amazon_customers", 1),
    ]  # fmt: skip
    assert [w["code"] for w in m.get_websites()] == ["admin", "base", "ca", "mx"]
    assert [g["code"] for g in m.get_store_groups()] == ["default", "main_website_store", "ca_store", "mx_store"]
    configs = m.get_store_configs(["amazon_ca", "amazon_mx"])
    assert [(c["code"], c["base_currency_code"], c["default_display_currency_code"]) for c in configs] == [
        ("amazon_ca", "CAD", "CAD"),
        ("amazon_mx", "MXN", "MXN"),
    ]
    assert [c["code"] for c in m.get_store_configs()] == ["default", "amazon_ca", "amazon_mx", "amazon_customers"]
    assert {m.get_current_store_group_id(scope=s) for s in ("main_website_store", "base", "amazon_customers")} == {1}
    assert m.get_current_store_group_id(scope="amazon_mx") == 3
    with pytest.raises(RuntimeError):  # pymagento's default scope "all" names no store, group or website
        m.get_current_store_group_id()


def test_fields_and_paging(shop: Shop) -> None:
    m, ids = shop.magento, shop.orders
    slim = list(m.get_orders(fields="entity_id,increment_id"))
    assert len(slim) == len(ids) and all(set(o) == {"entity_id", "increment_id"} for o in slim)
    nested = m.get_json_api("/V1/orders/" + str(ids["mfn_us"]), {}, fields="increment_id,items[sku,qty_ordered]")
    assert nested == {"increment_id": nested["increment_id"],
                      "items": [{"sku": "MUG-001", "qty_ordered": 2}, {"sku": "TEE-002", "qty_ordered": 1}]}  # fmt: skip
    page = m.get_json_api(
        "/V1/invoices", {"searchCriteria[pageSize]": 1}, fields="items[order_id,items[sku]],total_count"
    )
    assert page == {"items": [{"order_id": ids["mfn_us"], "items": [{"sku": "MUG-001"}, {"sku": "TEE-002"}]}],
                    "total_count": len(ids)}  # fmt: skip

    # paging by id, as integrators page big tables: entity_id > the last seen, ascending, a page at a time
    seen: list[int] = []
    while True:
        query = make_search_query([[("entity_id", seen[-1] if seen else 0, "gt")]], sort_orders=[("entity_id", "ASC")],
                                  page_size=2)  # fmt: skip
        result = m.get_json_api("/V1/orders", query, fields="items[entity_id],total_count")
        assert result["total_count"] == len(ids) - len(seen)  # counted after the id filter, as Magento does
        seen += [o["entity_id"] for o in result["items"] or []]
        if not result["items"] or len(result["items"]) < 2:
            break
    assert seen == sorted(ids.values())
    # and by page number past the end: Magento 2.4 answers an empty page, which ends pymagento's loop
    assert (
        m.get_json_api("/V1/orders", {"searchCriteria[pageSize]": 2, "searchCriteria[currentPage]": 9})["items"] == []
    )


def test_hold_unhold_and_the_warehouse(shop: Shop) -> None:
    m, ids = shop.magento, shop.orders
    mx = ids["mfn_mx"]
    assert m.hold_order(mx) is True
    assert (m.get_order(mx)["state"], m.get_order(mx)["status"]) == ("holded", "holded")
    tracks = [{"track_number": "1Z-COMPAT", "title": "Estafeta", "carrier_code": "estafeta"}]
    with pytest.raises(MagentoException) as refused:
        m.ship_order(mx, {"notify": False, "tracks": tracks})
    assert str(refused.value).endswith("A shipment cannot be created when an order has a status of holded")
    with pytest.raises(MagentoException, match="A hold action is not available."):
        m.hold_order(mx)
    assert m.unhold_order(mx) is True
    assert m.get_order(mx)["state"] == "processing"
    with pytest.raises(MagentoException, match="You cannot remove the hold."):
        m.unhold_order(mx)

    shipment_id = int(m.ship_order(mx, {"notify": False, "tracks": tracks}))
    assert m.get_order(mx)["state"] == "complete"
    assert m.get_shipment(shipment_id)["tracks"][0]["track_number"] == "1Z-COMPAT"
    with pytest.raises(MagentoException, match="A hold action is not available."):
        m.hold_order(mx)  # a complete order cannot be held
    with pytest.raises(MagentoException, match="The order does not allow an invoice to be created."):
        m.create_order_invoice(ids["mfn_us"], {"capture": False}, notify=False)  # already invoiced by the sync
    notifications = shop.box.commerce("GET", "/_sandbox/notifications").json()
    assert notifications == []  # no e-mail reached a buyer: accounts were created in store views with e-mails off


# --- the endpoint list in docs/commerce-sandbox.md -------------------------------------------------------


def test_the_docs_list_exactly_the_routes() -> None:
    assert sync_doc(write=False), "docs/commerce-sandbox.md is out of date: run python -m sandbox endpoints --write"


def test_every_route_is_in_the_published_schema(specs_dir) -> None:
    path = specs_dir / "commerce" / "magento-2.4.5-admin-rest.json"
    if not path.is_file():
        pytest.skip(f"Commerce spec not found at {path}")
    published = json.loads(path.read_text())["paths"]
    routes = magento_routes(create_app("sqlite://"))
    missing = [(method, route) for method, route, _ in routes if method.lower() not in published.get(route, {})]
    assert missing == []
