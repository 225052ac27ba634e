"""The "Amazon orders" page (issue 16): its reads on every channel database, and its JSON API on a real Airflow.

* ``include/ops/orders_page.py`` against SQLite, MariaDB and PostgreSQL: kept-out orders filtered by
  status and searched by order id or SKU, refused packages with Amazon's reason, health counts and
  the imports-per-hour chart; with two accounts (``default``, ``eu``), each account's orders, packages
  and marks only under it; never a buyer's data.
* ``plugins/amazon_orders.py`` in a real API server (``airflow_stack``) on a seeded channel DB, with
  two SimpleAuthManager users, ``admin`` and a ``viewer``: 401 without a login, reads for both,
  403 for the viewer on the actions (and ``can_retry`` false), 404 for an unknown account, 400 for an
  order that is not kept out, and "Retry now" / "Re-push" creating a run of the right DAG with
  ``{"amazon_order_ids": [...]}`` through Airflow's REST API as the user (Airflow's audit log names them);
  an ``eu`` order's retry and re-push run ``amazon_order_sync_eu`` / ``amazon_tracking_push_eu``.
* In headless Chromium (marker ``browser``): log in, open "Amazon orders" from the navigation, find a
  kept-out order by id, press "Retry now", see the new run; screenshots for the docs.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from include import channel_db as db
from include.domain.import_rules import IMPORTABLE_STATUSES
from include.domain.staging import RejectedOrder, flatten
from include.domain.tracking import Package, package_reference_id
from include.ops import orders_page
from tests import amazon_orders as ao
from tests.conftest import CIPHER
from tests.test_ui import browser, in_browser  # noqa: F401  (browser: the fixture, Chromium or a skip)

NOW = datetime.now(UTC).replace(microsecond=0)
IMPORTED, UNKNOWN_SKU, NO_ADDRESS, REFUSED = (
    "111-1600001-0000001", "111-1600002-0000002", "111-1600003-0000003", "111-1600004-0000004",
)  # fmt: skip
MALFORMED = "111-1600005-0000005"
EU_FAILED, EU_REFUSED = "302-1600006-0000006", "302-1600007-0000007"
TWO_ACCOUNTS = """
accounts:
  - {name: default, conn_id: amazon_sp_api, settings_variable: amazon_order_settings}
  - {name: eu, conn_id: amazon_sp_api_eu, settings_variable: amazon_order_settings_eu}
"""
BUYER = ("Ana Smith", "ana.smith.test@marketplace.amazon.com", "206-555-0100")


def seed(engine) -> None:
    """An imported order, two kept out (unknown SKU, no address), one set aside at staging, and a refused package."""
    db.upgrade(engine)
    updated = NOW - timedelta(hours=2)
    orders = [
        ao.order(ao.line("MUG-001"), order_id=IMPORTED, created=updated, last_updated=updated),
        ao.order(ao.line("NOT-IN-CATALOG"), order_id=UNKNOWN_SKU, created=updated, last_updated=updated),
        ao.order(ao.line("TEE-002"), order_id=NO_ADDRESS, created=updated, last_updated=updated, address=False),
        ao.order(ao.line("CAP-003"), order_id=REFUSED, created=updated, last_updated=updated),
    ]
    db.upsert_staged(
        engine, *flatten(orders), importable=IMPORTABLE_STATUSES, cipher=CIPHER, now=NOW - timedelta(hours=1)
    )
    db.record_imported(engine, IMPORTED, 500, "000000500", now=NOW - timedelta(minutes=50))
    db.record_imported(engine, REFUSED, 501, "000000501", now=NOW - timedelta(minutes=50))
    for attempt in range(3):
        db.record_failure(
            engine, UNKNOWN_SKU, "Commerce refused: The product that was requested doesn't exist. order SKUs: "
            "NOT-IN-CATALOG", now=NOW - timedelta(minutes=45 - 15 * attempt),
        )  # fmt: skip
    db.record_failure(engine, NO_ADDRESS, "cannot map order: the order has no delivery address", now=NOW)
    db.record_rejections(
        engine,
        [RejectedOrder(MALFORMED, "orderItems[0].quantityOrdered is not an integer")],
        now=NOW - timedelta(minutes=10),
    )
    db.set_high_water_mark(engine, "amazon_order_sync", NOW - timedelta(minutes=20), now=NOW)
    package = Package(
        amazon_order_id=REFUSED, marketplace_id="ATVPDKIKX0DER", package_reference_id=package_reference_id(7, 8),
        commerce_order_id=501, commerce_shipment_id=7, commerce_track_id=8, carrier_code="UPS", carrier_name=None,
        shipping_method="UPS Ground", tracking_number="1Z999", ship_date=NOW - timedelta(minutes=30),
        items=(("1", 1),),
    )  # fmt: skip
    db.save_shipment_pushes(engine, [package, replace(package, package_reference_id=package_reference_id(7, 9))], [])
    db.record_push_result(engine, REFUSED, package.package_reference_id, "refused",
                          error="confirmShipment 400 InvalidInput: the order is cancelled")  # fmt: skip
    db.record_push_result(engine, REFUSED, package_reference_id(7, 9), "confirmed")


def seed_eu(engine) -> None:
    """Account ``eu``'s orders next to :func:`seed`'s: one kept out (an SKU of its own), one imported with a refused
    package, and its own sync high-water mark."""
    updated = NOW - timedelta(hours=3)
    orders = [
        ao.order(ao.line("EU-ONLY-SKU"), order_id=EU_FAILED, created=updated, last_updated=updated),
        ao.order(ao.line("MUG-001"), order_id=EU_REFUSED, created=updated, last_updated=updated),
    ]
    orders_df, items_df = flatten(orders)
    orders_df["account"] = "eu"
    db.upsert_staged(engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER, now=updated)
    db.record_imported(engine, EU_REFUSED, 600, "000000600", now=NOW - timedelta(hours=5))
    db.record_failure(engine, EU_FAILED, "Commerce refused: unknown product. order SKUs: EU-ONLY-SKU", now=NOW)
    db.set_high_water_mark(engine, "amazon_order_sync", NOW - timedelta(minutes=5), account="eu", now=NOW)
    package = Package(
        amazon_order_id=EU_REFUSED, marketplace_id="A1PA6795UKMFR9", package_reference_id=package_reference_id(9, 9),
        commerce_order_id=600, commerce_shipment_id=9, commerce_track_id=9, carrier_code="DHL", carrier_name=None,
        shipping_method="DHL Paket", tracking_number="00340434", ship_date=NOW - timedelta(hours=4),
        items=(("1", 1),),
    )  # fmt: skip
    db.save_shipment_pushes(engine, [package], [], account="eu")
    db.record_push_result(engine, EU_REFUSED, package.package_reference_id, "refused",
                          error="confirmShipment 400 InvalidInput: eu refusal")  # fmt: skip


@pytest.fixture
def two_accounts(tmp_path, monkeypatch) -> Path:
    """An accounts file of ``default`` and ``eu`` in use ($AMAZON_ACCOUNTS_FILE)."""
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(TWO_ACCOUNTS)
    monkeypatch.setenv("AMAZON_ACCOUNTS_FILE", str(accounts))
    return accounts


def no_buyer_data(payload) -> None:
    text = json.dumps(payload)
    for value in BUYER:
        assert value not in text
    for column in ("buyer_name", "buyer_email", "payload"):
        assert f'"{column}"' not in text


# --------------------------------------------------------------------------------------------------- reads


def test_reads_on_every_database(channel_engine):
    seed(channel_engine)
    everything = orders_page.kept_out_orders(channel_engine, "default", now=NOW)
    assert [o["amazon_order_id"] for o in everything.items] == [UNKNOWN_SKU, MALFORMED, NO_ADDRESS]
    unknown = everything.items[0]
    assert unknown["import_status"] == "failed" and unknown["attempts"] == 3 and unknown["skus"] == ["NOT-IN-CATALOG"]
    assert unknown["first_failed_at"] == (NOW - timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert unknown["reason"].startswith("Commerce refused")
    # The next try under the retry policy (the defaults: 15 min doubling), worded as the quarantine CLI does.
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    assert unknown["next_attempt_at"] == unknown["next_try"] == iso(NOW - timedelta(minutes=15) + timedelta(hours=1))
    tries = {o["amazon_order_id"]: o["next_try"] for o in everything.items}
    assert tries == {UNKNOWN_SKU: iso(NOW + timedelta(minutes=45)), NO_ADDRESS: iso(NOW + timedelta(minutes=15)),
                     MALFORMED: "a valid version from Amazon"}  # fmt: skip
    no_buyer_data(everything.to_dict())

    by_sku = orders_page.kept_out_orders(channel_engine, "default", q="not-in-cat")
    assert [o["amazon_order_id"] for o in by_sku.items] == [UNKNOWN_SKU]
    by_id = orders_page.kept_out_orders(channel_engine, "default", q="1600003")
    assert [o["amazon_order_id"] for o in by_id.items] == [NO_ADDRESS]
    rejected = orders_page.kept_out_orders(channel_engine, "default", status="rejected")
    assert [o["amazon_order_id"] for o in rejected.items] == [MALFORMED] and rejected.items[0]["skus"] == []
    paged = orders_page.kept_out_orders(channel_engine, "default", offset=1, limit=1)
    assert (paged.total, [o["amazon_order_id"] for o in paged.items]) == (3, [MALFORMED])
    with pytest.raises(ValueError, match="unknown status"):
        orders_page.kept_out_orders(channel_engine, "default", status="lost")
    assert orders_page.kept_out_ids(channel_engine, "default") == {UNKNOWN_SKU, NO_ADDRESS, MALFORMED}

    refused = orders_page.package_problems(channel_engine, "default")
    assert [(p["amazon_order_id"], p["package_reference_id"], p["status"]) for p in refused.items] == [
        (REFUSED, package_reference_id(7, 8), "refused")
    ]
    assert refused.items[0]["reason"] == "confirmShipment 400 InvalidInput: the order is cancelled"
    assert orders_page.package_problems(channel_engine, "default", status="failed").total == 0

    health = orders_page.health(channel_engine, "default", now=NOW)
    assert health["orders"] == {"failed": 2, "imported": 2}
    assert health["kept_out"] == 3 and health["packages"] == {"confirmed": 1, "refused": 1}
    assert health["marks"]["amazon_order_sync"]["lag_seconds"] == 20 * 60
    assert health["marks"]["amazon_tracking_push"] == {"high_water_mark": None, "lag_seconds": None}
    chart = health["imported_per_hour"]
    assert len(chart) == 48 and sum(h["orders"] for h in chart) == 2
    assert chart[-1]["hour"] == NOW.replace(minute=0, second=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    no_buyer_data(health)

    with pytest.raises(orders_page.UnknownAccount, match="accounts: default"):
        orders_page.kept_out_orders(channel_engine, "eu-seller")


def test_each_account_reads_only_its_own_orders_packages_and_marks(channel_engine, two_accounts):
    seed(channel_engine)
    seed_eu(channel_engine)
    kept_out = {a: {o["amazon_order_id"] for o in orders_page.kept_out_orders(channel_engine, a).items}
                for a in ("default", "eu")}  # fmt: skip
    # Orders set aside at staging (MALFORMED, the default account's) are listed under their own account only.
    assert kept_out == {"default": {UNKNOWN_SKU, NO_ADDRESS, MALFORMED}, "eu": {EU_FAILED}}
    assert orders_page.kept_out_ids(channel_engine, "eu") == {EU_FAILED}
    assert [o["amazon_order_id"] for o in orders_page.kept_out_orders(channel_engine, "eu", q="eu-only").items] == [
        EU_FAILED
    ]
    assert orders_page.kept_out_orders(channel_engine, "default", q="eu-only").total == 0
    packages = {a: [p["amazon_order_id"] for p in orders_page.package_problems(channel_engine, a).items]
                for a in ("default", "eu")}  # fmt: skip
    assert packages == {"default": [REFUSED], "eu": [EU_REFUSED]}
    default, eu = (orders_page.health(channel_engine, a, now=NOW) for a in ("default", "eu"))
    assert default["orders"] == {"failed": 2, "imported": 2} and eu["orders"] == {"failed": 1, "imported": 1}
    assert default["packages"] == {"confirmed": 1, "refused": 1} and eu["packages"] == {"refused": 1}
    assert (default["kept_out"], eu["kept_out"]) == (3, 1)
    assert eu["marks"]["amazon_order_sync"]["lag_seconds"] == 5 * 60
    assert default["marks"]["amazon_order_sync"]["lag_seconds"] == 20 * 60
    assert sum(h["orders"] for h in default["imported_per_hour"]) == 2
    assert sum(h["orders"] for h in eu["imported_per_hour"]) == 1
    assert orders_page.account_names() == ["default", "eu"]
    with pytest.raises(orders_page.UnknownAccount, match="accounts: default, eu"):
        orders_page.health(channel_engine, "us")


# --------------------------------------------------------------------------------------------------- a real Airflow

SYNC, PUSH = "amazon_order_sync", "amazon_tracking_push"
SYNC_EU, PUSH_EU = "amazon_order_sync_eu", "amazon_tracking_push_eu"
START_TIMEOUT_S = 120


@pytest.fixture
def stack(airflow_stack, tmp_path):
    """A real Airflow (DAGs paused) with the accounts ``default`` and ``eu`` on a seeded channel DB, with users
    ``admin`` and ``viewer``; returns ``(stack, ui, passwords)``."""
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'channel.db'}")  # the airflow_stack's channel_db connection
    seed(engine)
    seed_eu(engine)
    engine.dispose()
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(TWO_ACCOUNTS)
    running = airflow_stack(
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin,viewer:viewer", AMAZON_ACCOUNTS_FILE=str(accounts)
    )
    ui = running.env["AIRFLOW__API__BASE_URL"]

    def up() -> bool:
        try:
            return httpx.get(f"{ui}/api/v2/monitor/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    running.wait_for("the API server", up, START_TIMEOUT_S)
    dags = {"a": SYNC, "b": PUSH, "c": SYNC_EU, "d": PUSH_EU}
    running.wait_for(
        "both accounts' DAGs serialised",
        lambda: len(running.query("SELECT dag_id FROM serialized_dag WHERE dag_id IN (:a, :b, :c, :d)", **dags)) == 4,
        START_TIMEOUT_S,
    )
    passwords = json.loads((running.home / "simple_auth_manager_passwords.json.generated").read_text())
    return running, ui, passwords


def token(ui: str, user: str, password: str) -> str:
    answer = httpx.post(f"{ui}/auth/token", json={"username": user, "password": password}, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["access_token"]


@pytest.mark.scheduler
@pytest.mark.postgres
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="runs Airflow components as POSIX process groups")
def test_json_api_on_a_real_airflow(stack):
    running, ui, passwords = stack
    api = f"{ui}/amazon-sync/api"
    admin = {"Authorization": f"Bearer {token(ui, 'admin', passwords['admin'])}"}
    viewer = {"Authorization": f"Bearer {token(ui, 'viewer', passwords['viewer'])}"}

    # 1. The plugin is registered: the navigation entry and the app.
    plugins = httpx.get(f"{ui}/api/v2/plugins", headers=admin, timeout=30).json()["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "amazon_orders"]
    assert plugin["external_views"][0]["name"] == "Amazon orders"
    assert plugin["external_views"][0]["href"] == "/amazon-sync/"
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/amazon-sync"

    # 2. Every route needs a login: 401 without one (the page sends the browser to Airflow's login).
    for method, path in (("GET", "/health"), ("GET", "/orders"), ("GET", "/packages"), ("POST", "/orders/retry"),
                         ("POST", "/packages/repush")):  # fmt: skip
        answer = httpx.request(method, api + path, json={"amazon_order_ids": [UNKNOWN_SKU]}, timeout=30)
        assert answer.status_code == 401, (method, path, answer.text)
    assert httpx.get(f"{api}/health", headers={"Authorization": "Bearer not-a-token"}, timeout=30).status_code in (
        401,
        403,
    )
    page = httpx.get(f"{ui}/amazon-sync/", timeout=30)
    assert page.status_code == 307 and "/auth/login" in page.headers["location"]
    assert "Amazon orders" in httpx.get(f"{ui}/amazon-sync/", headers=admin, timeout=30).text

    # 3. Reads, for a viewer too; no buyer data; the viewer may not act.
    for who, can in ((admin, True), (viewer, False)):
        health = httpx.get(f"{api}/health", headers=who, timeout=30)
        assert health.status_code == 200, health.text
        body = health.json()
        assert (body["can_retry"], body["can_repush"]) == (can, can)
        assert body["kept_out"] == 3 and body["packages"] == {"confirmed": 1, "refused": 1}
        assert body["runs"][SYNC] == {"dag_id": SYNC, "last_success": None, "recent": []}
        assert body["accounts"] == ["default", "eu"] and body["dag_ids"] == {SYNC: SYNC, PUSH: PUSH}
        no_buyer_data(body)
    orders = httpx.get(f"{api}/orders", params={"status": "failed", "q": "NOT-IN"}, headers=viewer, timeout=30).json()
    assert [o["amazon_order_id"] for o in orders["items"]] == [UNKNOWN_SKU] and orders["total"] == 1
    no_buyer_data(orders)
    refused = httpx.get(f"{api}/packages", params={"status": "refused"}, headers=viewer, timeout=30).json()
    assert [p["reason"] for p in refused["items"]] == ["confirmShipment 400 InvalidInput: the order is cancelled"]
    assert httpx.get(f"{api}/orders", params={"status": "lost"}, headers=admin, timeout=30).status_code == 400

    # 4. Accounts: each account's orders, packages and DAGs only under it; a name not in the accounts file is refused.
    eu = {"account": "eu"}
    listed = {
        account: [o["amazon_order_id"] for o in
                  httpx.get(f"{api}/orders", params={"account": account}, headers=viewer, timeout=30).json()["items"]]
        for account in ("default", "eu")
    }  # fmt: skip
    assert listed == {"default": [UNKNOWN_SKU, MALFORMED, NO_ADDRESS], "eu": [EU_FAILED]}
    eu_packages = httpx.get(f"{api}/packages", params=eu, headers=viewer, timeout=30).json()
    assert [p["amazon_order_id"] for p in eu_packages["items"]] == [EU_REFUSED] and eu_packages["account"] == "eu"
    eu_health = httpx.get(f"{api}/health", params=eu, headers=admin, timeout=30).json()
    assert eu_health["dag_ids"] == {SYNC: SYNC_EU, PUSH: PUSH_EU} and eu_health["runs"][SYNC]["dag_id"] == SYNC_EU
    assert eu_health["kept_out"] == 1 and eu_health["packages"] == {"refused": 1} and eu_health["can_retry"]
    other = httpx.get(f"{api}/health", params={"account": "eu-seller"}, headers=admin, timeout=30)
    assert other.status_code == 404 and "accounts: default, eu" in other.json()["detail"]
    body = {"amazon_order_ids": [UNKNOWN_SKU], "account": "eu-seller"}
    assert httpx.post(f"{api}/orders/retry", json=body, headers=admin, timeout=30).status_code == 404
    # A default order is not eu's to retry (and the other way round).
    body = {"amazon_order_ids": [UNKNOWN_SKU], "account": "eu"}
    assert httpx.post(f"{api}/orders/retry", json=body, headers=admin, timeout=30).status_code == 400

    # 5. The viewer may not trigger: 403 on both actions, and no run was made.
    for path, ids in (("/orders/retry", [UNKNOWN_SKU]), ("/packages/repush", [REFUSED])):
        answer = httpx.post(api + path, json={"amazon_order_ids": ids}, headers=viewer, timeout=30)
        assert answer.status_code == 403, answer.text
    assert running.runs(SYNC) == [] and running.runs(PUSH) == []
    answer = httpx.post(f"{api}/orders/retry", json={"amazon_order_ids": [EU_FAILED], **eu}, headers=viewer, timeout=30)
    assert answer.status_code == 403 and SYNC_EU in answer.text

    # 6. Only kept-out orders (and packages with a problem) are acted on; ids are checked.
    for path, ids in (("/orders/retry", [IMPORTED]), ("/orders/retry", ["113-123"]), ("/packages/repush", [IMPORTED])):
        answer = httpx.post(api + path, json={"amazon_order_ids": ids}, headers=admin, timeout=30)
        assert answer.status_code == 400, (path, answer.text)
    assert (
        httpx.post(f"{api}/orders/retry", json={"amazon_order_ids": []}, headers=admin, timeout=30).status_code == 422
    )

    # 7. "Retry now": a run of the sync for these ids, made by Airflow's REST API as admin (its audit log says so).
    retry = httpx.post(f"{api}/orders/retry", json={"amazon_order_ids": [NO_ADDRESS, UNKNOWN_SKU, UNKNOWN_SKU]},
                       headers=admin, timeout=30)  # fmt: skip
    assert retry.status_code == 200, retry.text
    run = retry.json()
    assert run["amazon_order_ids"] == [UNKNOWN_SKU, NO_ADDRESS]
    assert run["url"] == f"{ui}/dags/{SYNC}/runs/{quote(run['dag_run_id'], safe='')}"
    [made] = running.query("SELECT run_id, run_type, conf FROM dag_run WHERE dag_id = :d", d=SYNC)
    assert made["run_id"] == run["dag_run_id"] and made["run_type"] == "manual"
    conf = made["conf"] if isinstance(made["conf"], dict) else json.loads(made["conf"])
    assert conf == {"amazon_order_ids": [UNKNOWN_SKU, NO_ADDRESS]}
    audit = running.query("SELECT owner FROM log WHERE dag_id = :d AND event LIKE '%trigger%'", d=SYNC)
    assert [row["owner"] for row in audit] == ["admin"], audit

    # 8. "Re-push": a run of the tracking push for the refused package's order.
    repush = httpx.post(f"{api}/packages/repush", json={"amazon_order_ids": [REFUSED]}, headers=admin, timeout=30)
    assert repush.status_code == 200, repush.text
    [pushed] = running.query("SELECT run_id, conf FROM dag_run WHERE dag_id = :d", d=PUSH)
    conf = pushed["conf"] if isinstance(pushed["conf"], dict) else json.loads(pushed["conf"])
    assert pushed["run_id"] == repush.json()["dag_run_id"]
    assert conf == {"amazon_order_ids": [REFUSED], "resend_refused": True}

    # 9. The health lists the new runs.
    recent = httpx.get(f"{api}/health", headers=viewer, timeout=30).json()["runs"]
    assert [r["run_id"] for r in recent[SYNC]["recent"]] == [run["dag_run_id"]]

    # 10. An eu order's "Retry now" and "Re-push" run the eu account's DAGs; default's runs are unchanged.
    retry_eu = httpx.post(f"{api}/orders/retry", json={"amazon_order_ids": [EU_FAILED], **eu}, headers=admin,
                          timeout=30)  # fmt: skip
    assert retry_eu.status_code == 200, retry_eu.text
    assert retry_eu.json()["dag_id"] == SYNC_EU
    assert retry_eu.json()["url"] == f"{ui}/dags/{SYNC_EU}/runs/{quote(retry_eu.json()['dag_run_id'], safe='')}"
    [made] = running.query("SELECT run_id, conf FROM dag_run WHERE dag_id = :d", d=SYNC_EU)
    conf = made["conf"] if isinstance(made["conf"], dict) else json.loads(made["conf"])
    assert made["run_id"] == retry_eu.json()["dag_run_id"] and conf == {"amazon_order_ids": [EU_FAILED]}
    repush_eu = httpx.post(f"{api}/packages/repush", json={"amazon_order_ids": [EU_REFUSED], **eu}, headers=admin,
                           timeout=30)  # fmt: skip
    assert repush_eu.status_code == 200 and repush_eu.json()["dag_id"] == PUSH_EU, repush_eu.text
    [pushed] = running.query("SELECT conf FROM dag_run WHERE dag_id = :d", d=PUSH_EU)
    conf = pushed["conf"] if isinstance(pushed["conf"], dict) else json.loads(pushed["conf"])
    assert conf == {"amazon_order_ids": [EU_REFUSED], "resend_refused": True}
    assert len(running.query("SELECT run_id FROM dag_run WHERE dag_id = :d", d=SYNC)) == 1
    eu_runs = httpx.get(f"{api}/health", params=eu, headers=viewer, timeout=30).json()["runs"]
    assert [r["run_id"] for r in eu_runs[SYNC]["recent"]] == [made["run_id"]]


@pytest.mark.browser
@pytest.mark.scheduler
@pytest.mark.postgres
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="runs Airflow components as POSIX process groups")
def test_retry_now_in_the_browser(browser, stack, tmp_path):  # noqa: F811 (the fixture imported above)
    """Log in, open "Amazon orders" from the navigation, find a kept-out order by id, press "Retry now", see the run;
    a viewer gets the page read-only."""
    running, ui, passwords = stack
    shots = Path(os.environ.get("ACS_SCREENSHOTS", tmp_path))
    seen = in_browser(
        browser, "amazon", ui=ui, user="admin", password=passwords["admin"], order_id=NO_ADDRESS, screenshots=str(shots)
    )
    assert seen["path"] == "/plugin/amazon-orders"
    assert "kept out 3" in seen["health"] and "refused 1" in seen["health"]
    assert seen["rows"] == 1 and NO_ADDRESS in seen["row"] and "no delivery address" in seen["row"]
    [made] = running.query("SELECT run_id, conf FROM dag_run WHERE dag_id = :d", d=SYNC)
    conf = made["conf"] if isinstance(made["conf"], dict) else json.loads(made["conf"])
    assert conf == {"amazon_order_ids": [NO_ADDRESS]}
    assert seen["run_id"] == made["run_id"] and made["run_id"] in seen["message"]
    assert seen["run_link"] == f"{ui}/dags/{SYNC}/runs/{quote(made['run_id'], safe='')}"
    assert seen["opened"] == f"/dags/{SYNC}/runs/{made['run_id']}"
    assert (shots / "amazon-orders.png").stat().st_size > 10_000

    # A viewer sees the same page read-only: nothing to tick, both actions off.
    viewer = in_browser(browser, "amazon_readonly", ui=ui, user="viewer", password=passwords["viewer"])
    assert viewer["rows"] == 3 and viewer["notice"].startswith("Read-only: you may not trigger runs")
    assert (viewer["retry_enabled"], viewer["repush_enabled"], viewer["checkable"]) == (False, False, 0)
    assert viewer["accounts"] == ["default", "eu"]  # the account selector: two accounts in the accounts file


def test_runs_show_their_sp_api_calls_429s_and_retries(sync_env):
    """The sync's ``extract_orders`` reports its SP-API traffic; the page's runs read it from the run's XCom.

    (A re-sync by id, as "Retry now" makes: getOrder's quota refills in 2 s, searchOrders' in 3 minutes.)"""
    from tests.conftest import load_plugin, run_dag

    updated = NOW - timedelta(minutes=30)
    orders = [ao.order(ao.line("MUG-001"), order_id=IMPORTED, created=updated, last_updated=updated)]
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=orders).raise_for_status()
    rules = [{"kind": "429", "path": f"/orders/2026-01-01/orders/{IMPORTED}", "count": 2}]
    sync_env.sandbox.spapi("PUT", "/_sandbox/faults", json={"seed": 1, "rules": rules}).raise_for_status()
    dag_run = run_dag(SYNC, {"amazon_order_ids": [IMPORTED]})
    sync_env.sandbox.spapi("PUT", "/_sandbox/faults", json={}).raise_for_status()

    runs = load_plugin("amazon_orders").recent_runs(SYNC, SYNC)
    [shown] = [r for r in runs["recent"] if r["run_id"] == dag_run.run_id]
    assert shown["state"] == "success" and shown["sp_api"]["throttled"] == 2
    assert shown["sp_api"]["retries"] == 2 and shown["sp_api"]["requests"] >= 3
    assert runs["last_success"]["run_id"] == dag_run.run_id
