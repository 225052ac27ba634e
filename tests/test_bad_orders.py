"""One bad order never stops the sync: malformed orders are set aside with a reason, the others go on.

* a property-based test: valid orders and orders with random corruptions land
  together, staging and import run against the Commerce sandbox over HTTP, on
  SQLite, MariaDB and PostgreSQL channel databases;
* a batch the database refuses is staged again order by order;
* the DAG end to end with a poisoned window (SP-API sandbox → Commerce sandbox);
* a permanent SP-API error fails ``extract_orders`` on its first try.
"""

from __future__ import annotations

import copy
import itertools
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from include.domain.order_validation import InvalidOrder, validate_order
from sandbox.catalog import BY_SKU, UNKNOWN_SKUS
from tests import amazon_orders as ao
from tests.conftest import CIPHER, fresh_channel_engine, run_dag, task_states, xcom_result
from tests.test_operations import alerts_file, put_orders, report_cli, run_note, succeeded  # noqa: F401

NOW = datetime.now(UTC)
KNOWN_SKUS = sorted(set(BY_SKU) - UNKNOWN_SKUS)
_serial = itertools.count(1)


def fresh_id() -> str:
    """An Amazon order id no other example of this test process uses."""
    return f"990-{next(_serial):07d}-{os.getpid() % 10_000_000:07d}"


# --------------------------------------------------------------------------------------------------- strategies


@st.composite
def valid_orders(draw) -> dict[str, Any]:
    """An importable merchant-fulfilled order: known SKUs, consistent money, one of the sandbox's marketplaces."""
    marketplace = draw(st.sampled_from(sorted(ao.CURRENCY)))
    currency = ao.CURRENCY[marketplace]
    skus = draw(st.lists(st.sampled_from(KNOWN_SKUS), min_size=1, max_size=3, unique=True))
    lines = [
        ao.line(
            sku,
            qty=draw(st.integers(1, 4)),
            unit=str(Decimal(draw(st.integers(100, 20_000))) / 100),
            tax_rate=draw(st.sampled_from(["0", "0.0725", "0.13"])),
            shipping=draw(st.sampled_from(["0", "4.99"])),
            currency=currency,
        )
        for sku in skus
    ]
    updated = NOW - timedelta(minutes=draw(st.integers(5, 600)))
    return ao.order(
        *lines,
        order_id=fresh_id(),
        marketplace=marketplace,
        created=updated - timedelta(minutes=3),
        last_updated=updated,
        buyer_email=draw(st.sampled_from([None, "buyer.test@marketplace.amazon.com"])),
    )


def _item(order: dict) -> dict:
    return order["orderItems"][0]


#: name → how it corrupts an order (a draw function and the order, changed in place).
CORRUPTIONS = {
    "quantity of the wrong type": lambda draw, o: _item(o).__setitem__(
        "quantityOrdered", draw(st.sampled_from(["three", "2", 2.5, None, True, [1], {"n": 1}]))
    ),
    "quantity out of range": lambda draw, o: _item(o).__setitem__(
        "quantityOrdered", draw(st.sampled_from([0, -1, -(10**6), 10**6, 10**12, 2**63]))
    ),
    "items not a list": lambda draw, o: o.__setitem__("orderItems", draw(st.sampled_from([None, {}, "items", 5]))),
    "null item": lambda draw, o: o["orderItems"].insert(draw(st.integers(0, 1)), None),
    "missing section": lambda draw, o: o.pop(
        draw(st.sampled_from(["salesChannel", "orderItems", "createdTime", "lastUpdatedTime", "orderId"]))
    ),
    "null section": lambda draw, o: o.__setitem__(
        draw(st.sampled_from(["proceeds", "buyer", "recipient", "fulfillment", "salesChannel"])), None
    ),
    "absurd amount": lambda draw, o: o["proceeds"]["grandTotal"].__setitem__(
        "amount", draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e30", "abc", "", None, 12.5, "-5.00"]))
    ),
    "absurd item amount": lambda draw, o: _item(o)["proceeds"]["proceedsTotal"].__setitem__(
        "amount", draw(st.sampled_from(["99999999999999", "sNaN", "1E+400", "0.000001"]))
    ),
    "overlong text": lambda draw, o: draw(
        st.sampled_from(
            [
                lambda: _item(o)["product"].__setitem__("sellerSku", "S" * draw(st.integers(65, 600))),
                lambda: _item(o).__setitem__("orderItemId", "9" * draw(st.integers(51, 200))),
                lambda: o["salesChannel"].__setitem__("marketplaceId", "A" * 40),
                lambda: o["buyer"].__setitem__("buyerEmail", "b" * 300 + "@marketplace.amazon.com"),
                lambda: o["buyer"].__setitem__("buyerName", "N" * 5000),
                lambda: _item(o)["product"].__setitem__("title", "T" * 5000),
            ]
        )
    )(),  # fmt: skip
    "control characters": lambda draw, o: draw(
        st.sampled_from(
            [
                lambda: _item(o)["product"].__setitem__("sellerSku", "MUG-\x00001"),
                lambda: o["buyer"].__setitem__("buyerName", "Ana\x07 \x1bSmith\x00"),
                lambda: _item(o)["product"].__setitem__("title", "Mug\x0b\x7f"),
                lambda: o["recipient"]["deliveryAddress"].__setitem__("city", "Seat\x00tle"),
            ]
        )
    )(),  # fmt: skip
    "bad order id": lambda draw, o: o.__setitem__(
        "orderId",
        draw(
            st.sampled_from(
                [
                    "ABC",
                    "",
                    "112-123-456",
                    "112-1234567-12345678",
                    " 112-1234567-1234567",
                    1234,
                    None,
                    "１１２-１２３４５６７-１２３４５６７",
                    "112-1234567-123456\x00",
                ]
            )
        ),  # fmt: skip
    ),
    "bad timestamp": lambda draw, o: o.__setitem__(
        draw(st.sampled_from(["createdTime", "lastUpdatedTime"])),
        draw(
            st.sampled_from(
                [
                    "yesterday",
                    "2026-13-45T00:00:00Z",
                    "",
                    None,
                    1_700_000_000,
                    "0001-01-01T00:00:00Z",
                    "9999-12-31T23:59:59Z",
                ]
            )
        ),  # fmt: skip
    ),
    "duplicate item ids": lambda draw, o: o["orderItems"].append(copy.deepcopy(_item(o))),
    "mixed currencies": lambda draw, o: _item(o)["proceeds"]["proceedsTotal"].__setitem__(
        "currencyCode", draw(st.sampled_from(["EUR", "usd", "US", "", None]))
    ),
    "unknown SKU": lambda draw, o: _item(o)["product"].__setitem__("sellerSku", "NOPE-999"),
    "order facts of the wrong type": lambda draw, o: draw(
        st.sampled_from(
            [
                lambda: o.__setitem__("programs", "PRIME"),
                lambda: o.__setitem__("orderAliases", [{"aliasId": ["SO-1"]}]),
                lambda: o.__setitem__("tax", {"taxRegistrations": [{"taxRegistrationNumber": 12345}]}),
                lambda: o["buyer"].__setitem__("buyerPurchaseOrderNumber", {"po": 1}),
                lambda: _item(o)["fulfillment"].__setitem__("packing", {"giftOption": "wrap it"}),
                lambda: o["proceeds"].__setitem__("breakdowns", [{"type": "DELIVERY_TIP", "subtotal": "5"}]),
            ]
        )
    )(),  # fmt: skip
}


@st.composite
def corrupted_orders(draw) -> tuple[str, dict[str, Any]]:
    order = draw(valid_orders())
    name = draw(st.sampled_from(sorted(CORRUPTIONS)))
    CORRUPTIONS[name](draw, order)
    return name, order


@st.composite
def poisoned_batches(draw) -> tuple[list[dict], list[tuple[str, dict]]]:
    return (
        draw(st.lists(valid_orders(), min_size=1, max_size=4)),
        draw(st.lists(corrupted_orders(), min_size=1, max_size=4)),
    )


# --------------------------------------------------------------------------------------------------- staging + import


def _commerce_orders(sync_env) -> dict[str, list[dict]]:
    engine = create_engine(sync_env.sandbox.commerce_db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT entity_id, ext_order_id, grand_total FROM sales_order")).mappings()
            found: dict[str, list[dict]] = {}
            for row in rows:
                found.setdefault(row["ext_order_id"], []).append(dict(row))
            return found
    finally:
        engine.dispose()


def _channel_state(sync_env, ids: list[str]) -> dict[str, tuple]:
    with sync_env.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT amazon_order_id, import_status, import_error, commerce_order_id FROM channel_order")
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows if row[0] in ids}


def _rejections(sync_env) -> dict[str, dict]:
    with sync_env.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM channel_order_rejection")).mappings().all()
    return {row["landing_source"]: dict(row) for row in rows}


def _stage_and_import(sync_env, run_key: str, orders: list[dict]) -> dict:
    """What the DAG's stage_orders and merchant_fulfilled tasks do, on one landed page."""
    from include.adapters.landing import write_pages
    from include.domain.order_validation import order_id_of
    from include.tasks import order_sync

    manifest = write_pages(sync_env.landing_dir.as_uri(), run_key, [orders], cipher=CIPHER)
    ids = sorted({i for i in map(order_id_of, orders) if i and ao_id(i)})
    plan = order_sync.plan_run({"amazon_order_ids": ids}, None, None)  # a re-sync of these ids
    staged = order_sync.stage(plan, {"landing": manifest.to_dict(), "not_found": []})
    for channel in order_sync.channels_with_work(plan):  # as the branch and the fulfilment groups do
        for chunk in order_sync.import_chunks(channel, plan):
            order_sync.import_chunk(channel, chunk)
    return staged


def ao_id(value: str) -> bool:
    from include.domain.order_validation import ORDER_ID

    return bool(ORDER_ID.match(value))


def _valid(order: Any) -> bool:
    try:
        validate_order(order)
    except InvalidOrder:
        return False
    return True


@pytest.mark.parametrize(
    "sync_env", [None, "mariadb", "postgres"], ids=["sqlite", "mariadb", "postgres"], indirect=True
)
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=poisoned_batches(), shuffle=st.randoms(use_true_random=False))
def test_corrupted_orders_never_stop_the_valid_ones(sync_env, batch, shuffle):
    good, bad = batch
    for name, order in bad:
        event(f"{name}: {'valid' if _valid(order) else 'set aside'}")
    landed = [*good, *(order for _, order in bad)]
    shuffle.shuffle(landed)
    run_key = f"poison-{next(_serial)}"
    staged = _stage_and_import(sync_env, run_key, landed)

    commerce = _commerce_orders(sync_env)
    good_ids = [o["orderId"] for o in good]
    for order in good:  # every valid order imported exactly once, to the cent
        [created] = commerce.get(order["orderId"], [])
        assert Decimal(str(created["grand_total"])).quantize(Decimal("0.01")) == Decimal(
            order["proceeds"]["grandTotal"]["amount"]
        )
    state = _channel_state(sync_env, good_ids)
    assert {i: s[0] for i, s in state.items()} == dict.fromkeys(good_ids, "imported")

    rejections = _rejections(sync_env)
    malformed = [(name, o) for name, o in bad if not _valid(o)]
    assert staged["rejected_count"] == len(malformed)
    for position, order in enumerate(landed, start=1):
        source = next((s for s in rejections if s.endswith(f"/{run_key}/page-00001.ndjson#{position}")), None)
        if _valid(order):  # corrupted but still a valid Order: imported intact, or kept out with a reason
            assert source is None
            row = _channel_state(sync_env, [order["orderId"]])[order["orderId"]]
            in_commerce = commerce.get(order["orderId"], [])
            if row[0] == "imported":
                [created] = in_commerce
                amount = Decimal(str(order["proceeds"]["grandTotal"]["amount"])).quantize(Decimal("0.01"))
                assert Decimal(str(created["grand_total"])).quantize(Decimal("0.01")) == amount
            else:
                assert row[0] == "failed" and row[1], row
                assert len(in_commerce) <= 1
        else:  # set aside with a reason naming the field; nothing of it in Commerce
            assert source is not None, f"order at line {position} was not set aside"
            assert rejections[source]["reason"].startswith("malformed order: ")
            if isinstance(order.get("orderId"), str) and order["orderId"] not in good_ids:
                assert order["orderId"] not in commerce or _channel_state(sync_env, [order["orderId"]])

    # Re-running the same page changes nothing: no new Commerce order, the same channel state.
    before = (_commerce_orders(sync_env), _channel_state(sync_env, good_ids), set(_rejections(sync_env)))
    again = _stage_and_import(sync_env, run_key, landed)
    assert again["rejected_count"] == staged["rejected_count"]
    after = (_commerce_orders(sync_env), _channel_state(sync_env, good_ids), set(_rejections(sync_env)))
    assert after == before


# --------------------------------------------------------------------------------------------------- database refusals


@pytest.mark.parametrize("url_fixture", ["mariadb_channel_url", "postgres_channel_url"])
def test_a_batch_the_database_refuses_is_staged_order_by_order(request, url_fixture):
    """Values past our validation (here forced in) are refused by server databases; only their orders are set aside."""
    from include import channel_db
    from include.domain.import_rules import IMPORTABLE_STATUSES
    from include.domain.staging import flatten

    engine = fresh_channel_engine(request.getfixturevalue(url_fixture))
    orders = [ao.order(order_id=fresh_id()) for _ in range(5)]
    orders_df, items_df = flatten(orders)
    items_df.loc[1, "sku"] = "S" * 500  # longer than VARCHAR(64)
    orders_df.loc[3, "currency"] = "Secret Buyer"  # longer than VARCHAR(3); quoted values are masked in reasons
    staged, refused = channel_db.upsert_staged_isolating(
        engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER
    )
    assert staged.orders == 3 and staged.new == 3
    assert sorted(i for i, _ in refused) == sorted([items_df.loc[1, "amazon_order_id"], orders[3]["orderId"]])
    for _, reason in refused:
        assert "Secret" not in reason and "SSSS" not in reason
        assert "long" in reason.lower()
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT amazon_order_id FROM channel_order"))}
    assert stored == {o["orderId"] for o in orders} - {i for i, _ in refused}
    engine.dispose()


# --------------------------------------------------------------------------------------------------- the DAG end to end


def test_a_poisoned_window_is_green_and_good_orders_import(sync_env):
    from include import channel_db

    updated = NOW - timedelta(minutes=30)

    def mfn(**kwargs) -> dict:
        return ao.order(ao.line("MUG-001", qty=2), order_id=fresh_id(), created=updated - timedelta(minutes=5),
                        last_updated=updated, **kwargs)  # fmt: skip

    good = [mfn(), mfn(), mfn()]
    quantity_text, items_dict, null_item, huge, long_sku, bad_id = (mfn() for _ in range(6))
    quantity_text["orderItems"][0]["quantityOrdered"] = "three"
    items_dict["orderItems"] = {"0": items_dict["orderItems"][0]}
    null_item["orderItems"].append(None)
    huge["orderItems"][0]["quantityOrdered"] = 10**12
    long_sku["orderItems"][0]["product"]["sellerSku"] = "S" * 500
    bad_id["orderId"] = "ABC-1234567-1234567"
    poisoned = [quantity_text, items_dict, null_item, huge, long_sku, bad_id]
    put_orders(sync_env, *good, *poisoned)

    run = sync_env.run_sync(window_start=ao.iso(NOW - timedelta(hours=2)))
    assert succeeded(run), task_states(run)
    commerce = _commerce_orders(sync_env)
    assert all(len(commerce.get(o["orderId"], [])) == 1 for o in good)
    assert not any(o["orderId"] in commerce for o in poisoned)

    summary = xcom_result(run, "summarize")
    assert summary["staged"]["orders"] == 3
    reasons = {r["amazon_order_id"]: r["reason"] for r in summary["rejected"]}
    assert reasons[quantity_text["orderId"]] == (
        "malformed order: orderItems[0].quantityOrdered: Input should be a valid integer (got string)"
    )
    assert reasons[items_dict["orderId"]].startswith("malformed order: orderItems: Input should be a valid list")
    assert "orderItems[1]" in reasons[null_item["orderId"]]
    assert "quantityOrdered: Input should be less than or equal to 100000" in reasons[huge["orderId"]]
    assert "sellerSku: String should have at most 64 characters" in reasons[long_sku["orderId"]]
    assert "orderId: must be Amazon's order id" in reasons["ABC-1234567-1234567"]

    note = run_note(run)
    assert "kept out 6" in note.splitlines()[0] and quantity_text["orderId"] in note
    table = report_cli("quarantine").stdout
    for order in poisoned:
        [line] = [row for row in table.splitlines() if row.startswith(order["orderId"])]
        assert "rejected" in line and "malformed order" in line
    mark = channel_db.high_water_mark(sync_env.engine, "amazon_order_sync")
    assert mark is not None and mark > NOW - timedelta(minutes=5)

    # Amazon corrects one order: its next version stages, imports, and leaves the quarantine.
    fixed = copy.deepcopy(quantity_text)
    fixed["orderItems"][0]["quantityOrdered"] = 3
    fixed["lastUpdatedTime"] = ao.iso(updated + timedelta(minutes=10))
    put_orders(sync_env, quantity_text, fixed)
    assert succeeded(sync_env.run_sync(amazon_order_ids=[fixed["orderId"]]))
    assert len(_commerce_orders(sync_env)[fixed["orderId"]]) == 1
    assert fixed["orderId"] not in report_cli("quarantine").stdout


def test_a_permanent_spapi_error_fails_extract_on_its_first_try(sync_env, alerts_file, monkeypatch):  # noqa: F811
    import json

    from include.adapters.alerts import read_alerts

    conn = sync_env.sandbox.airflow_connections()["AMAZON_SP_API"]
    conn = {**conn, "extra": {**conn["extra"], "marketplace_ids": ["AXXXXXXXXXXXXX"]}}
    monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API", json.dumps(conn))
    started = datetime.now(UTC)
    run = run_dag("amazon_order_sync", {"window_start": ao.iso(NOW - timedelta(hours=1))}, keep_retries=True)
    assert not succeeded(run)
    [extract] = [ti for ti in run.get_task_instances() if ti.task_id == "extract_orders"]
    assert str(extract.state.value if hasattr(extract.state, "value") else extract.state) == "failed"
    assert extract.try_number == 1 and extract.max_tries == 3  # retries configured, none used
    assert datetime.now(UTC) - started < timedelta(seconds=25)  # no 30 s retry delay was waited
    [alert] = read_alerts(alerts_file)
    assert alert["task_id"] == "extract_orders"
    assert "Amazon refused the request: searchOrders HTTP 400 InvalidInput" in alert["error"]
    assert "permanent, not retried" in alert["error"]


def test_an_unreadable_commerce_order_skips_only_its_own_packages(sync_env):
    """The tracking push: a Commerce order deleted after shipping (404) does not stop the other orders' packages."""
    from tests.test_tracking_push import commerce_order, confirmations, push, ship, sync
    from tests.test_tracking_push import mfn as shipped_mfn

    kept, deleted = fresh_id(), fresh_id()
    put_orders(sync_env, shipped_mfn(kept, ao.line("MUG-001")), shipped_mfn(deleted, ao.line("TEE-002")))
    sync(sync_env)
    from include.clients.commerce.client import CommerceClient
    from sandbox import credentials

    with CommerceClient(sync_env.sandbox.commerce_url, username=credentials.COMMERCE_ADMIN_USER,
                        password=credentials.COMMERCE_ADMIN_PASSWORD) as client:  # fmt: skip
        ship(client, kept, [("ups", "UPS", "1Z999AA10000000001")])
        ship(client, deleted, [("ups", "UPS", "1Z999AA10000000002")])
        gone = int(commerce_order(client, deleted)["entity_id"])
    # The item links of the deleted order are unknown, so the push must read the order, which is gone.
    with sync_env.engine.begin() as conn:
        conn.execute(text("UPDATE channel_order_item SET commerce_order_item_id = NULL WHERE amazon_order_id = :id"),
                     {"id": deleted})  # fmt: skip
    engine = create_engine(sync_env.sandbox.commerce_db)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sales_order WHERE entity_id = :id"), {"id": gone})
    engine.dispose()

    summary, states = push(sync_env, shipments_since=ao.iso(NOW - timedelta(hours=4)))
    assert states["amazon_confirmations.confirm_packages"] == "success"
    assert [c["orderId"] for c in confirmations(sync_env)] == [kept]
    with sync_env.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT amazon_order_id, status FROM channel_shipment_push")).all())
    assert rows == {kept: "confirmed", deleted: "skipped"}


def test_amazon_worked_examples_stage_and_import_or_are_kept_out_with_a_reason(sync_env, specs_dir):
    """Amazon's own example orders (BR, UK, TR, JP, US…): staged, then each imported or kept out with a reason."""
    from tests.test_order_validation import _worked_examples

    examples = {e["orderId"]: e for e in _worked_examples(specs_dir)}
    staged = _stage_and_import(sync_env, "worked-examples", list(examples.values()))
    assert staged["rejected_count"] == 0 and staged["orders"] == len(examples)
    state = _channel_state(sync_env, list(examples))
    assert set(state) == set(examples)
    commerce = _commerce_orders(sync_env)
    for order_id, (status, reason, _) in state.items():
        if status == "imported":
            assert len(commerce[order_id]) == 1
        else:  # e.g. a marketplace without a Commerce store, a pending order, an unknown SKU
            assert status in ("staged", "failed", "skipped", "canceled"), (order_id, status)
            assert reason or status in ("staged", "canceled"), (order_id, status)
            assert order_id not in commerce or status == "failed"
    _stage_and_import(sync_env, "worked-examples", list(examples.values()))
    assert _channel_state(sync_env, list(examples)) == state and _commerce_orders(sync_env) == commerce
