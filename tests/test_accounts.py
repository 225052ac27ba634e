"""Several seller accounts and regions in one deployment (issue 13).

Unit tests of the accounts file; the sandbox's sellers and region endpoints over HTTP;
and two accounts — the built-in seller on the NA endpoint (account ``default``) and a
registered seller on the EU endpoint (account ``eu``) — synced by their own DAGs into
their own store views with their own settings and windows, one of them failing while
the other completes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from include import channel_db
from include.adapters.accounts import DEFAULT_ACCOUNT, Account, AccountsError, parse_accounts
from include.clients.commerce.client import CommerceClient
from include.domain.marketplaces import marketplace
from sandbox import credentials
from sandbox.process import Sandbox, free_port, start_sandbox
from tests import amazon_orders as ao
from tests.conftest import PROJECT_ROOT, run_dag, task_states

EU_SELLER, EU_TOKEN = "A1EUSELLER0001", "Atzr|sandbox-eu-refresh-token"
NA = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"]
EU = ["A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3", "A33AVAJ2PDY3EV"]
TWO_ACCOUNTS = """
accounts:
  - {name: default, conn_id: amazon_sp_api, settings_variable: amazon_order_settings}
  - {name: eu, conn_id: amazon_sp_api_eu, settings_variable: amazon_order_settings_eu}
"""

# ----------------------------------------------------------------------------------------------- accounts file


def test_an_order_change_queue_must_be_an_sqs_queue_url():
    from include.adapters.accounts import AccountsError, parse_accounts

    good = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-eu"
    text = f"accounts:\n  - {{name: eu, conn_id: c, settings_variable: v, order_change_queue: {good}}}\n"
    assert parse_accounts(text)[0].order_change_queue == good
    assert parse_accounts(text)[0].events_dag_id == "amazon_order_events_eu"
    with pytest.raises(AccountsError, match="order_change_queue not an SQS queue URL"):
        parse_accounts(text.replace(good, "http://127.0.0.1:8784/123456789012/orders-eu"))


def test_the_shipped_accounts_file_has_the_default_account_only():
    from include.adapters.accounts import DEFAULT_ACCOUNTS_FILE, load_accounts

    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/amazon-order-change"  # the event path's (local SQS)
    assert load_accounts(DEFAULT_ACCOUNTS_FILE) == [dataclasses.replace(DEFAULT_ACCOUNT, order_change_queue=queue)]
    assert (DEFAULT_ACCOUNT.sync_dag_id, DEFAULT_ACCOUNT.push_dag_id, DEFAULT_ACCOUNT.pool) == (
        "amazon_order_sync", "amazon_tracking_push", "amazon_sp_api",
    )  # fmt: skip


def test_another_account_gets_suffixed_dag_ids_and_pool():
    eu = parse_accounts(TWO_ACCOUNTS)[1]
    assert eu == Account("eu", "amazon_sp_api_eu", "amazon_order_settings_eu")
    assert (eu.sync_dag_id, eu.push_dag_id, eu.pool) == (
        "amazon_order_sync_eu", "amazon_tracking_push_eu", "amazon_sp_api_eu",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("accounts: []", "non-empty list under 'accounts:'"),
        ("accounts: [{name: EU, conn_id: c, settings_variable: v}]", "name must be a lowercase slug"),
        ("accounts: [{name: eu, conn_id: c}]", "missing settings_variable"),
        ("accounts: [{name: eu, conn_id: c, settings_variable: v, region: EU}]", "unknown key(s) region"),
        ("accounts: [{name: a, conn_id: c, settings_variable: v}, {name: b, conn_id: c, settings_variable: w}]",
         "two accounts share conn_id c"),
        ("accounts: [{name: a, conn_id: 'c d', settings_variable: v}]", "conn_id 'c d' is not a valid Airflow id"),
        ("accounts: {name: a", "not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_accounts_file_is_refused_naming_the_problem(text, problem):
    with pytest.raises(AccountsError) as refused:
        parse_accounts(text, "accounts file x.yaml")
    assert problem in str(refused.value) and "x.yaml" in str(refused.value)


def test_each_account_has_its_own_dags_pool_and_asset(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(TWO_ACCOUNTS)
    monkeypatch.setenv("AMAZON_ACCOUNTS_FILE", str(accounts))
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert not bag.import_errors
    assert set(bag.dag_ids) >= {"amazon_order_sync", "amazon_tracking_push", "amazon_order_sync_eu",
                                "amazon_tracking_push_eu"}  # fmt: skip
    for suffix, pool, asset in (("", "amazon_sp_api", "amazon_orders_synced"),
                                ("_eu", "amazon_sp_api_eu", "amazon_orders_synced_eu")):  # fmt: skip
        sync, push = bag.dags[f"amazon_order_sync{suffix}"], bag.dags[f"amazon_tracking_push{suffix}"]
        assert sync.get_task("extract_orders").pool == pool
        assert push.get_task("amazon_confirmations.confirm_packages").pool == pool
        assert [o.name for o in sync.get_task("announce_changes").outlets] == [asset]
        assert [a.name for a in push.timetable.asset_condition.objects] == [asset]
        assert ("account:" + ("eu" if suffix else "default")) in sync.tags


def test_a_bad_accounts_file_is_an_import_error_of_the_dag_files(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    accounts = tmp_path / "accounts.yaml"
    accounts.write_text("accounts: [{name: eu, conn_id: c}]")
    monkeypatch.setenv("AMAZON_ACCOUNTS_FILE", str(accounts))
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert set(bag.import_errors) == {str(PROJECT_ROOT / "dags" / f) for f in
                                      ("amazon_order_sync.py", "amazon_tracking_push.py",
                                       "amazon_order_events.py")}  # fmt: skip
    assert all("missing settings_variable" in error for error in bag.import_errors.values())


# ----------------------------------------------------------------------------------------------- the sandbox


@pytest.fixture(scope="module")
def regions(tmp_path_factory) -> Sandbox:
    """A sandbox answering as the NA endpoint (built-in seller) and the EU endpoint, with every store view."""
    db = tmp_path_factory.mktemp("regions") / "commerce.db"
    box = start_sandbox(f"sqlite:///{db}", "--marketplace-stores", spapi_eu_port=free_port())
    yield box
    box.stop()


@pytest.fixture
def eu_seller(regions: Sandbox) -> Sandbox:
    """``regions`` reset, with the EU seller registered."""
    for url in (regions.spapi_url, regions.spapi_eu_url):
        regions.http.put(url + "/_sandbox/faults", json={}).raise_for_status()
    regions.spapi("POST", "/_sandbox/reset").raise_for_status()
    regions.commerce("POST", "/_sandbox/reset").raise_for_status()
    seller = {"selling_partner_id": EU_SELLER, "refresh_token": EU_TOKEN, "region": "EU", "marketplace_ids": EU}
    registered = regions.spapi("POST", "/_sandbox/sellers", json=seller)
    assert registered.status_code == 200, registered.text
    return regions


def token(url: str, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": credentials.LWA_CLIENT_ID, "client_secret": credentials.LWA_CLIENT_SECRET}  # fmt: skip
    return httpx.post(url + "/auth/o2/token", data=form)


def test_sellers_have_their_own_orders_regions_and_participations(eu_seller, specs_dir):
    import jsonschema

    box = eu_seller
    eu_headers = {"x-amz-access-token": token(box.spapi_eu_url, EU_TOKEN).json()["access_token"]}
    na_headers = {"x-amz-access-token": token(box.spapi_url, credentials.LWA_REFRESH_TOKEN).json()["access_token"]}
    assert token(box.spapi_eu_url, "Atzr|nobody").json()["error"] == "invalid_grant"

    # getMarketplaceParticipations, per seller and region, valid against the Sellers model.
    spec = json.loads((specs_dir / "sp-api" / "sellers_v1.json").read_text())
    validator = jsonschema.Draft4Validator(
        {**spec["definitions"]["GetMarketplaceParticipationsResponse"], "definitions": spec["definitions"]}
    )
    for url, headers, expected in ((box.spapi_eu_url, eu_headers, EU), (box.spapi_url, na_headers, NA)):
        answer = httpx.get(url + "/sellers/v1/marketplaceParticipations", headers=headers)
        assert answer.status_code == 200, answer.text
        validator.validate(answer.json())
        assert [p["marketplace"]["id"] for p in answer.json()["payload"]] == expected

    # Each seller has its own orders; the admin API takes the seller's id.
    made = box.spapi("POST", "/_sandbox/orders/generate", params={"seller": EU_SELLER},
                     json={"count": 12, "hours": 3, "seed": 5}).json()  # fmt: skip
    assert set(made["marketplaces"]) <= set(EU) and sum(made["marketplaces"].values()) == 12
    assert len(box.spapi("GET", "/_sandbox/orders", params={"seller": EU_SELLER}).json()["orders"]) == 12
    assert box.spapi("GET", "/_sandbox/orders").json()["orders"] == []
    assert box.spapi("GET", "/_sandbox/orders", params={"seller": "A0NOBODY"}).status_code == 404

    window = {"lastUpdatedAfter": (datetime.now(UTC) - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    found = httpx.get(box.spapi_eu_url + "/orders/2026-01-01/orders", headers=eu_headers,
                      params={**window, "marketplaceIds": ",".join(EU)})  # fmt: skip
    assert found.status_code == 200, found.text  # (orders updated in the last 2 minutes wait for a later window)
    assert 0 < len(found.json()["orders"]) <= 12
    assert {o["salesChannel"]["marketplaceId"] for o in found.json()["orders"]} <= set(EU)
    # Another region's marketplace: Amazon's 400 InvalidInput, on either endpoint.
    for url, headers, other in ((box.spapi_eu_url, eu_headers, NA[0]), (box.spapi_url, na_headers, EU[0])):
        refused = httpx.get(url + "/orders/2026-01-01/orders", headers=headers,
                            params={**window, "marketplaceIds": other})  # fmt: skip
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "InvalidInput", refused.text
    # The EU seller is not authorised on the NA endpoint.
    assert httpx.get(box.spapi_url + "/orders/2026-01-01/orders", headers=eu_headers,
                     params={**window, "marketplaceIds": NA[0]}).status_code == 403  # fmt: skip


# ----------------------------------------------------------------------------------------------- two accounts


NA_SETTINGS = {
    "customer_creation": "create", "fba_import": True,
    "store_by_marketplace": {"ATVPDKIKX0DER": "default", "A2EUQ1WTGCTBG2": "amazon_ca",
                             "A1AM78C64UM0Y8": "amazon_mx", "A2Q3Y263D00KWC": "amazon_br"},
    "customer_stores": ["amazon_customers", "amazon_ca", "amazon_mx", "amazon_br"],
}  # fmt: skip
EU_SETTINGS = {
    "customer_creation": "guest", "fba_import": False,
    "store_by_marketplace": {"A1F83G8C2ARO7P": "amazon_uk", "A1PA6795UKMFR9": "amazon_de",
                             "A13V1IB3VIYZZH": "amazon_fr", "A2NODRKZP88ZB9": "amazon_se",
                             "A1C3SOZRARQ6R3": "amazon_pl", "A33AVAJ2PDY3EV": "amazon_tr"},
    "customer_stores": ["amazon_uk", "amazon_de", "amazon_se", "amazon_pl", "amazon_tr"],
}  # fmt: skip


@pytest.fixture
def two_accounts(sync_env, eu_seller, tmp_path, monkeypatch):
    """sync_env's channel DB with the accounts ``default`` (NA endpoint; marketplaces from the Sellers API) and
    ``eu`` (EU endpoint, its own seller), each with its own connection and settings Variable.

    The EU connection does not retry (``max_retries`` 0): a throttled searchOrders would otherwise wait out
    Amazon's refill interval (1/0.0056 s) before its retry, as it should in production."""
    box = eu_seller
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(TWO_ACCOUNTS)
    monkeypatch.setenv("AMAZON_ACCOUNTS_FILE", str(accounts))
    connections = box.airflow_connections()
    na = connections["AMAZON_SP_API"]
    del na["extra"]["marketplace_ids"]  # from getMarketplaceParticipations
    eu = {"conn_type": "http", "host": box.spapi_eu_url,
          "extra": {**na["extra"], "refresh_token": EU_TOKEN, "lwa_endpoint": box.spapi_eu_url + "/auth/o2/token",
                    "marketplace_ids": EU, "max_retries": 0, "timeout": 5}}  # fmt: skip
    for name, conn in (("AMAZON_SP_API", na), ("AMAZON_SP_API_EU", eu), ("COMMERCE_API", connections["COMMERCE_API"])):
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", json.dumps(conn))
    sync_env.sandbox = box
    sync_env.settings(**NA_SETTINGS)
    landing = (sync_env.landing_dir / "eu").as_uri()
    monkeypatch.setenv("AIRFLOW_VAR_AMAZON_ORDER_SETTINGS_EU", json.dumps({**EU_SETTINGS, "landing_uri": landing}))
    box.spapi("POST", "/_sandbox/orders/generate", json={"count": 40, "hours": 24, "seed": 11}).raise_for_status()
    box.spapi("POST", "/_sandbox/orders/generate", params={"seller": EU_SELLER},
              json={"count": 40, "hours": 24, "seed": 12}).raise_for_status()  # fmt: skip
    return sync_env


def _channel_rows(engine) -> list[tuple[str, str, str, str, str]]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT amazon_order_id, account, marketplace_id, fulfilled_by, import_status FROM channel_order"
        )).all())  # fmt: skip


@pytest.mark.parametrize("sync_env", [None, "postgres"], indirect=True, ids=["sqlite", "postgres"])
def test_two_accounts_sync_into_their_own_stores_with_their_own_settings_and_windows(two_accounts):
    env, box = two_accounts, two_accounts.sandbox
    start = (datetime.now(UTC) - timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # One malformed order on the EU side: set aside at staging as the eu account's, never the default account's.
    updated = datetime.now(UTC) - timedelta(hours=1)
    malformed = ao.order(ao.line("MUG-001", currency="GBP"), order_id="202-0000013-0000001",
                         marketplace="A1F83G8C2ARO7P", created=updated, last_updated=updated)  # fmt: skip
    malformed["orderItems"][0]["quantityOrdered"] = "three"
    box.spapi("POST", "/_sandbox/orders", params={"seller": EU_SELLER}, json=[malformed]).raise_for_status()
    for dag_id in ("amazon_order_sync", "amazon_order_sync_eu"):
        run = run_dag(dag_id, {"window_start": start})
        assert str(run.state) in ("success", "DagRunState.SUCCESS"), (dag_id, task_states(run))

    engine = env.engine
    rows = _channel_rows(engine)
    na_ids = {o["orderId"] for o in box.spapi("GET", "/_sandbox/orders").json()["orders"]}
    eu_ids = {o["orderId"] for o in box.spapi("GET", "/_sandbox/orders", params={"seller": EU_SELLER}).json()["orders"]}
    assert na_ids and eu_ids and not na_ids & eu_ids
    # Every order of each seller in its own account (but those created in the last 2 minutes: a later window's).
    for account, ids in (("default", na_ids), ("eu", eu_ids)):
        synced = {r[0] for r in rows if r[1] == account}
        assert synced <= ids and len(synced) >= len(ids) - 2, account
    assert {marketplace(r[2]).region for r in rows if r[1] == "default"} == {"NA"}
    assert {marketplace(r[2]).region for r in rows if r[1] == "eu"} == {"EU"}

    # Settings of one account never apply to the other: FBA import on for NA, off for EU.
    na_fba = [r for r in rows if r[1] == "default" and r[3] == "AMAZON" and r[4] in ("imported", "skipped")]
    eu_fba = [r for r in rows if r[1] == "eu" and r[3] == "AMAZON" and r[4] in ("imported", "skipped")]
    assert na_fba and {r[4] for r in na_fba} == {"imported"}
    assert eu_fba and {r[4] for r in eu_fba} == {"skipped"}, [r for r in rows if r[1] == "eu"]
    # Store views and customer mode: EU orders in EU store views as guests; NA orders in NA ones, with customers.
    commerce = box.airflow_connections()["COMMERCE_API"]
    with CommerceClient(box.commerce_url, username=commerce["login"], password=commerce["password"]) as client:
        store_code = {int(s["id"]): s["code"] for s in client.store_views()}
        imported = [r for r in rows if r[4] == "imported"]
        seen = {"default": set(), "eu": set()}
        guests = {"default": set(), "eu": set()}
        for amazon_id, account, marketplace_id, fulfilled_by, _ in imported:
            [order] = client.find_orders_by_ext_order_id(amazon_id)
            settings = NA_SETTINGS if account == "default" else EU_SETTINGS
            assert store_code[int(order["store_id"])] == settings["store_by_marketplace"][marketplace_id]
            seen[account].add(marketplace_id)
            if fulfilled_by == "MERCHANT":
                guests[account].add(bool(int(order.get("customer_is_guest") or 0)))
    assert seen["default"] and seen["eu"]
    assert guests["eu"] == {True} and False in guests["default"]

    # Each account its own window: high-water marks per (job, account).
    marks = {a: channel_db.high_water_mark(engine, "amazon_order_sync", a) for a in ("default", "eu")}
    assert all(marks.values())
    # The report reads one account at a time.
    totals = {a: channel_db.outcome_counts(engine, account=a) for a in ("default", "eu")}
    for account in ("default", "eu"):
        assert sum(sum(s.values()) for s in totals[account].values()) == sum(r[1] == account for r in rows)
    rejected = {
        a: [o.amazon_order_id for o in channel_db.quarantine(engine, account=a) if o.import_status == "rejected"]
        for a in ("default", "eu", None)
    }
    assert rejected == {"default": [], "eu": [malformed["orderId"]], None: [malformed["orderId"]]}


@pytest.mark.parametrize("sync_env", [None, "postgres"], indirect=True, ids=["sqlite", "postgres"])
@pytest.mark.parametrize("fault", ["503", "429"])
def test_one_account_down_or_throttled_while_the_other_completes(two_accounts, fault):
    env, box = two_accounts, two_accounts.sandbox
    start = (datetime.now(UTC) - timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The EU endpoint answers every searchOrders with the fault; the NA endpoint is healthy.
    rule = {"kind": fault, "rate": 1, "path": "/orders/2026-01-01/orders"}
    box.http.put(box.spapi_eu_url + "/_sandbox/faults", json={"rules": [rule]}).raise_for_status()
    eu_run = run_dag("amazon_order_sync_eu", {"window_start": start})
    na_started = datetime.now(UTC)
    na_run = run_dag("amazon_order_sync", {"window_start": start})
    na_took = datetime.now(UTC) - na_started

    assert task_states(eu_run)["extract_orders"] == "failed"
    assert str(na_run.state) in ("success", "DagRunState.SUCCESS"), task_states(na_run)
    assert na_took < timedelta(minutes=2)  # no waiting on the other account's endpoint or pool
    engine = env.engine
    assert channel_db.high_water_mark(engine, "amazon_order_sync", "eu") is None
    assert channel_db.high_water_mark(engine, "amazon_order_sync", "default") is not None
    rows = _channel_rows(engine)
    assert rows and {r[1] for r in rows} == {"default"}
    assert any(r[4] == "imported" for r in rows)

    # Once the EU endpoint answers again, the EU account catches up on its own.
    box.http.put(box.spapi_eu_url + "/_sandbox/faults", json={}).raise_for_status()
    from include.adapters.hooks.amazon_sp_api import _PACERS

    _PACERS.clear()  # a later run's worker process: its pacer has not seen the 429 (the sandbox's bucket is full)
    box.http.put(box.spapi_eu_url + "/_sandbox/rate-limits", json={"mode": "default"}).raise_for_status()
    eu_run = run_dag("amazon_order_sync_eu", {"window_start": start})
    assert str(eu_run.state) in ("success", "DagRunState.SUCCESS"), task_states(eu_run)
    assert {r[1] for r in _channel_rows(engine)} == {"default", "eu"}


def test_run_notes_name_an_account_other_than_default():
    from include.ops.report import note_renderer, push_note, sync_note

    assert note_renderer("amazon_order_sync_eu") is sync_note and note_renderer("amazon_tracking_push_eu") is push_note
    assert note_renderer("amazon_order_sync") is sync_note and note_renderer("other_dag") is None
    summary = {"window": {"start": "2026-11-30T00:00:00Z", "end": "2026-11-30T00:15:00Z"}, "account": "eu"}
    assert sync_note(summary).startswith("**Order sync** (account eu):")
    assert push_note(summary).startswith("**Tracking push** (account eu):")
    assert sync_note({**summary, "account": "default"}).startswith("**Order sync**:")
