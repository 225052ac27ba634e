"""Amazon's data protection rules: buyer data encrypted at rest, purged after retention, never leaked, TLS in transit.

The end-to-end test runs the sync and the tracking push (``dag.test``) over the sandboxes
with orders carrying distinctive buyer data, then scans every place the pipeline writes;
runs ``amazon_pii_retention`` with 0 days and checks the data is gone while re-runs
change nothing in Commerce and the push still works. Key rotation goes through the
documented command; the clients' transport rules are checked against real servers.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import ssl
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, text

from include import channel_db as db
from include.adapters.landing import write_pages
from include.channel_db.buyer_data import purge_past_retention, reencrypt
from include.channel_db.tables import metadata
from include.clients.amazon.client import SpApiClient
from include.clients.commerce.client import CommerceClient
from include.clients.transport import InsecureEndpoint, require_secure_url
from include.domain.buyer_data import (
    PURGED_KEY,
    BuyerDataCipher,
    InvalidKey,
    is_token,
    past_retention,
    redact_order,
)
from include.domain.import_rules import IMPORTABLE_STATUSES
from include.domain.settings import SettingsError, parse_settings
from include.domain.staging import flatten
from sandbox.credentials import PII_SANDBOX_KEY
from tests import amazon_orders as ao
from tests.conftest import CIPHER, PROJECT_ROOT, TEST_AIRFLOW_HOME, run_dag, task_states, xcom_result
from tests.test_operations import alerts_file, report_cli, run_note  # noqa: F401
from tests.test_tracking_push import commerce, confirmations, ship  # noqa: F401

NOW = datetime.now(UTC)
T0 = NOW - timedelta(hours=3)
WINDOW = {"window_start": ao.iso(NOW - timedelta(hours=4))}


# ----------------------------------------------------------------------------------------------------------- buyers

#: Distinctive buyer data: none of these strings may appear in clear anywhere the pipeline writes.
BUYERS = {
    "A": {"name": "Zebulon Quixotefarn", "email": "zq.quixotefarn.7731@marketplace.amazon.com",
          "street": "4242 Xylophone Crescent", "phone": "+1 206-555-7319", "company": "Quuxbridge Widgets LLC"},
    "B": {"name": "Ottoline Vexhammer", "email": "ovexhammer.5150@marketplace.amazon.com",
          "street": "77 Zanzibar Quay", "phone": "+1 206-555-8642", "company": "Brindlewick Ltd"},
    "C": {"name": "Pernille Jaxtrom", "email": "pjaxtrom.9081@marketplace.amazon.com",
          "street": "9 Quokka Terrace", "phone": "+1 206-555-2468", "company": "Fjordmoss GmbH"},
    "D": {"name": "Ignatius Wobblecourt", "email": None,
          "street": "13 Yggdrasil Way", "phone": "+1 206-555-1357", "company": "Marzipan Kollektiv"},
}  # fmt: skip
IDS = {"A": "111-4100001-0000001", "B": "111-4100002-0000001", "C": "111-4100003-0000001", "D": "111-4100004-0000001"}


def needles(*keys: str) -> list[str]:
    """The strings of these buyers that must never show in clear (e-mail: its local part, which is distinctive)."""
    found = []
    for key in keys or BUYERS:
        buyer = BUYERS[key]
        found += [buyer["name"], buyer["street"], buyer["phone"], buyer["company"]]
        found += [buyer["email"].split("@")[0]] if buyer["email"] else []
    return found


def buyer_order(key: str, *items: dict, status: str = "UNSHIPPED", fulfilled_by: str = "MERCHANT", updated=None):
    """An order of buyer ``key``: a business buyer with company name and purchase order, a gift message."""
    buyer = BUYERS[key]
    order = ao.order(
        *items, order_id=IDS[key], status=status, fulfilled_by=fulfilled_by, created=T0,
        last_updated=updated or T0 + timedelta(minutes=10), buyer_name=buyer["name"], buyer_email=buyer["email"],
        phone=buyer["phone"],
    )  # fmt: skip
    order["buyer"]["buyerCompanyName"] = buyer["company"]
    order["buyer"]["buyerPurchaseOrderNumber"] = f"PO-{buyer['phone'][-4:]}"
    address = order["recipient"]["deliveryAddress"]
    address.update(addressLine1=buyer["street"], companyName=buyer["company"], name=buyer["name"])
    order["orderItems"][0].setdefault("fulfillment", {})["packing"] = {
        "giftOption": {"giftMessage": f"Happy birthday from {buyer['name']}", "giftWrapLevel": "Classic"}
    }
    return order


def leaks(text_: str, keys: tuple[str, ...] = ()) -> list[str]:
    lowered = text_.lower()
    return [n for n in needles(*keys) if n.lower() in lowered]


# ----------------------------------------------------------------------------------------------------------- scanning


def scan_channel_tables(engine) -> dict[str, list[str]]:
    """Every column of every row of every channel table, as stored."""
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):
                hits = leaks(" | ".join(map(str, row)))
                if hits:
                    found.setdefault(table.name, []).extend(hits)
    return found


def scan_files(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            hits = leaks(path.read_bytes().decode("utf-8", "replace"))
            if hits:
                found[str(path)] = hits
    return found


def scan_metadata_db() -> dict[str, list[str]]:
    """Every table of the tests' Airflow metadata DB (XCom, run notes, task instances, logs, asset events...)."""
    found: dict[str, list[str]] = {}
    with sqlite3.connect(TEST_AIRFLOW_HOME / "airflow.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                as_text = " | ".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row)
                hits = leaks(as_text)
                if hits:
                    found.setdefault(table, []).extend(hits)
    return found


def decrypted_landing(landing: Path, cipher: BuyerDataCipher) -> str:
    """Every landed line, decrypted: what someone holding the key could still read."""
    lines = []
    for path in sorted(landing.rglob("*.ndjson")):
        for raw in path.read_bytes().splitlines():
            lines.append(cipher.decrypt(raw).decode() if is_token(raw) else raw.decode())
    return "\n".join(lines)


def decrypted_channel(engine, cipher: BuyerDataCipher, amazon_id: str) -> str:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT buyer_name, buyer_email, payload FROM channel_order WHERE amazon_order_id = :id"),
            {"id": amazon_id},
        ).one()
    return " | ".join(str(cipher.decrypt_text(v)) for v in row)


def commerce_state(sync_env) -> list[tuple]:
    """Commerce's orders and customers as stored (what a re-run must not change)."""
    engine = create_engine(sync_env.sandbox.commerce_db)
    try:
        with engine.connect() as conn:
            orders = conn.execute(
                text("SELECT entity_id, ext_order_id, state, status, updated_at FROM sales_order ORDER BY entity_id")
            ).all()
            customers = conn.execute(text("SELECT entity_id, email, updated_at FROM customer_entity")).all()
        return [tuple(r) for r in orders] + [tuple(r) for r in customers]
    finally:
        engine.dispose()


def channel_rows(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM channel_order ORDER BY amazon_order_id")).mappings()
        return {r["amazon_order_id"]: dict(r) for r in rows}


def ok(dag_run) -> dict[str, str]:
    states = task_states(dag_run)
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), states
    return states


# ----------------------------------------------------------------------------------------------------------- end to end


def test_buyer_data_is_encrypted_never_leaked_and_purged_after_retention(
    sync_env,
    commerce,  # noqa: F811
    alerts_file,  # noqa: F811
    capfd,
    caplog,
):
    caplog.set_level(logging.DEBUG)  # every log record of every task (dag.test runs them in this process)
    sync_env.settings(customer_creation="create", fba_import=True)
    orders = {
        "A": buyer_order("A", ao.line("MUG-001", qty=2, unit="12.50")),
        "B": buyer_order("B", ao.line("MUG-001", unit="12.50")),
        "C": buyer_order("C", ao.line("NO-SUCH-SKU")),  # kept out: its reason must be free of buyer data
        "D": buyer_order("D", ao.line("MUG-001"), status="SHIPPED", fulfilled_by="AMAZON"),
    }
    assert len(leaks(json.dumps(list(orders.values())))) == len(needles())  # the scan sees each one in clear
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=list(orders.values())).raise_for_status()

    summary = xcom_result(run := sync_env.run_sync(**WINDOW), "summarize")
    ok(run)
    assert summary["outcomes"]["imported"] == 3 and summary["outcomes"]["failed"] == 1, summary["outcomes"]
    # The warehouse ships A in Commerce; the push confirms it and Amazon marks A shipped.
    ship(commerce, IDS["A"], [("ups", "UPS Ground", "1Z4100001")])
    pushed = xcom_result(push := run_dag("amazon_tracking_push"), "summarize")
    ok(push)
    assert pushed["packages"]["confirmed"] == 1, pushed
    # Amazon reports B shipped (confirmed elsewhere) before our warehouse enters it in Commerce.
    b_shipped = {**orders["B"], "fulfillment": {**orders["B"]["fulfillment"], "fulfillmentStatus": "SHIPPED"},
                 "lastUpdatedTime": ao.iso(NOW - timedelta(minutes=30))}  # fmt: skip
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=[b_shipped]).raise_for_status()
    ok(sync_env.run_sync(amazon_order_ids=list(IDS.values())))  # the newest versions, by getOrder
    engine = sync_env.engine
    rows = channel_rows(engine)
    assert {k: rows[IDS[k]]["amazon_status"] for k in IDS} == {
        "A": "SHIPPED", "B": "SHIPPED", "C": "UNSHIPPED", "D": "SHIPPED"
    }  # fmt: skip

    # Stored, but only encrypted: the key reads the buyer data back; nothing holds it in clear.
    assert BUYERS["A"]["name"] in decrypted_channel(engine, CIPHER, IDS["A"])
    assert all(is_token(rows[i]["payload"]) and is_token(rows[i]["buyer_name"]) for i in IDS.values())
    assert "Quuxbridge" in decrypted_landing(sync_env.landing_dir, CIPHER)
    # A failed task alerts: the retention DAG without its key connection (a message that must be PII-free too).
    sync_env.monkeypatch.delenv("AIRFLOW_CONN_AMAZON_PII_KEY")
    refused = run_dag("amazon_pii_retention")
    assert task_states(refused)["purge_channel_orders"] == "failed"
    sync_env.monkeypatch.setenv(
        "AIRFLOW_CONN_AMAZON_PII_KEY", json.dumps({"conn_type": "generic", "password": PII_SANDBOX_KEY})
    )
    assert "amazon_pii_key" in alerts_file.read_text()
    report = report_cli("order", IDS["C"])
    assert report.returncode == 0 and IDS["C"] in report.stdout and "--show-buyer" in report.stdout
    cli_output = "\n".join(report_cli(*args).stdout for args in (["summary"], ["quarantine"], ["order", IDS["A"]]))
    assert "NO-SUCH-SKU" in cli_output

    def scan_everything() -> dict:
        captured = capfd.readouterr()
        logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
        # What is scanned holds what it should: the tasks' log lines, the runs' XComs and notes.
        assert "extracted" in logged and "run summary" in logged and "ALERT task_failed" in logged
        with sqlite3.connect(TEST_AIRFLOW_HOME / "airflow.db") as conn:
            assert conn.execute("SELECT COUNT(*) FROM xcom WHERE task_id = 'summarize'").fetchone()[0] > 0
            assert conn.execute("SELECT COUNT(*) FROM dag_run_note").fetchone()[0] > 0
        return {
            "channel tables": scan_channel_tables(engine),
            "landing files": scan_files(sync_env.landing_dir),
            "task logs": scan_files(TEST_AIRFLOW_HOME / "logs") if (TEST_AIRFLOW_HOME / "logs").exists() else {},
            "task logs (records)": leaks(logged),
            "process output": leaks(captured.out + captured.err),
            "metadata DB (XCom, notes...)": scan_metadata_db(),
            "alerts file": leaks(alerts_file.read_text()),
            "report CLI": leaks(cli_output),
        }

    found = scan_everything()
    assert not any(found.values()), found

    # Retention 0 days: every order in a final status loses its buyer data, C (unshipped) keeps it.
    sync_env.settings(customer_creation="create", fba_import=True, pii_retention_days=0)
    before_commerce = commerce_state(sync_env)
    retention = run_dag("amazon_pii_retention")
    ok(retention)
    purge = xcom_result(retention, "summarize")
    assert (purge["orders_purged"], purge["orders_purged_total"]) == (3, 3), purge
    assert purge["accounts"]["default"]["retention_days"] == 0 and list(purge["accounts"]) == ["default"]
    assert purge["landed_orders_redacted"] >= 3 and purge["pages_rewritten"] >= 1
    assert run_note(retention).startswith("**Buyer data retention**: purged 3 orders")
    rows = channel_rows(engine)
    purged = [IDS[k] for k in "ABD"]
    for amazon_id in purged:
        row = rows[amazon_id]
        assert row["buyer_name"] is None and row["buyer_email"] is None and row["buyer_data_purged_at"] is not None
        remains = json.loads(CIPHER.decrypt_text(row["payload"]))
        assert set(remains) <= {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "fulfillment",
                                "proceeds", "orderItems", "packages", PURGED_KEY}  # fmt: skip
        assert row["import_status"] in ("imported",) and row["commerce_order_id"]  # links and state stay
    # Not even the key reads them any more: neither from the channel DB nor from the landing store.
    assert not any(leaks(decrypted_channel(engine, CIPHER, i), ("A", "B", "D")) for i in purged)
    landed = decrypted_landing(sync_env.landing_dir, CIPHER)
    assert not leaks(landed, ("A", "B", "D")) and BUYERS["C"]["name"] in landed
    assert BUYERS["C"]["name"] in decrypted_channel(engine, CIPHER, IDS["C"])
    shown = report_cli("order", IDS["C"], "--show-buyer")
    assert shown.returncode == 0 and BUYERS["C"]["name"] in shown.stdout and BUYERS["C"]["street"] in shown.stdout

    # Re-running the same window, and the same ids, changes nothing in Commerce and stores nothing in clear again.
    again = xcom_result(run := sync_env.run_sync(**WINDOW), "summarize")
    ok(run)
    ok(sync_env.run_sync(amazon_order_ids=list(IDS.values())))
    assert again["staged"]["new"] == 0 and not again["outcomes"].get("imported"), again
    assert commerce_state(sync_env) == before_commerce
    rows = channel_rows(engine)
    assert all(rows[i]["buyer_name"] is None and rows[i]["buyer_data_purged_at"] for i in purged)
    assert not any(leaks(decrypted_channel(engine, CIPHER, i), ("A", "B", "D")) for i in purged)
    # Amazon sent their data again: it landed encrypted, and the next retention run purges it there too.
    assert leaks(decrypted_landing(sync_env.landing_dir, CIPHER), ("A", "B", "D"))
    second = run_dag("amazon_pii_retention")
    ok(second)
    assert xcom_result(second, "summarize")["orders_purged"] == 0
    assert not leaks(decrypted_landing(sync_env.landing_dir, CIPHER), ("A", "B", "D"))

    # The tracking push still works for purged orders: B is shipped in Commerce now and confirmed to Amazon.
    ship(commerce, IDS["B"], [("usps", "USPS Priority", "9400100000000000004100")])
    pushed = xcom_result(push := run_dag("amazon_tracking_push"), "summarize")
    ok(push)
    assert pushed["packages"]["confirmed"] == 1, pushed
    assert [c["orderId"] for c in confirmations(sync_env)] == [IDS["A"], IDS["B"]]

    # And after all of it, still nothing in clear anywhere.
    cli_output = "\n".join(report_cli(*args).stdout for args in (["summary"], ["quarantine"], ["order", IDS["B"]]))
    assert "purged (retention): 3" in cli_output
    found = scan_everything()
    assert not any(found.values()), found


def test_without_the_key_connection_the_sync_stores_no_buyer_data(sync_env):
    sync_env.monkeypatch.delenv("AIRFLOW_CONN_AMAZON_PII_KEY")
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=[buyer_order("A", ao.line())]).raise_for_status()
    run = sync_env.run_sync(**WINDOW)
    states = task_states(run)
    assert states["extract_orders"] == "failed" and states["stage_orders"] == "upstream_failed", states
    assert not sync_env.landing_dir.exists() or not list(sync_env.landing_dir.rglob("*.ndjson"))
    from include.adapters.hooks.pii_key import MissingPiiKey, buyer_cipher

    with pytest.raises(MissingPiiKey, match="create the Airflow connection 'amazon_pii_key'"):
        buyer_cipher()


# ----------------------------------------------------------------------------------------------------------- key rotation


def test_key_rotation_a_then_b_a_then_reencrypt_then_b_alone(sync_env, monkeypatch):
    key_a, key_b = PII_SANDBOX_KEY, Fernet.generate_key().decode()
    a, b_a, b = BuyerDataCipher([key_a]), BuyerDataCipher([key_b, key_a]), BuyerDataCipher([key_b])

    def use(*keys: str) -> None:
        monkeypatch.setenv(
            "AIRFLOW_CONN_AMAZON_PII_KEY", json.dumps({"conn_type": "generic", "password": ",".join(keys)})
        )

    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=[buyer_order("A", ao.line())]).raise_for_status()
    ok(sync_env.run_sync(**WINDOW))  # under A
    engine = sync_env.engine
    # A row written in clear by a release before encryption (its payload and buyer columns as they were).
    legacy = buyer_order("B", ao.line())
    db.upsert_staged(engine, *flatten([legacy]), importable=IMPORTABLE_STATUSES, cipher=a)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE channel_order SET buyer_name = :n, payload = :p WHERE amazon_order_id = :id"),
            {"n": BUYERS["B"]["name"], "p": json.dumps(legacy), "id": IDS["B"]},
        )
    with pytest.raises(InvalidToken):
        decrypted_channel(engine, b, IDS["A"])

    use(key_b, key_a)  # rotated: B encrypts, A still decrypts; the sync goes on
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=[buyer_order("C", ao.line())]).raise_for_status()
    ok(sync_env.run_sync(**WINDOW))
    for key in "ABC":
        assert BUYERS[key]["name"] in decrypted_channel(engine, b_a, IDS[key])
    assert BUYERS["C"]["name"] in decrypted_channel(engine, b, IDS["C"])  # new data under B already

    done = subprocess.run(
        [sys.executable, "-m", "include.ops.pii", "reencrypt", "--landing-uri", sync_env.landing_dir.as_uri()],
        cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 channel orders" in done.stdout and "landing pages" in done.stdout
    assert not leaks(done.stdout + done.stderr)

    use(key_b)  # the old key is gone: everything reads under B alone, nothing in clear is left
    for key in "ABC":
        assert BUYERS[key]["name"] in decrypted_channel(engine, b, IDS[key])
    assert BUYERS["A"]["name"] in decrypted_landing(sync_env.landing_dir, b)
    assert not scan_channel_tables(engine) and not scan_files(sync_env.landing_dir)
    with pytest.raises(InvalidToken):
        decrypted_channel(engine, a, IDS["A"])
    again = xcom_result(run := sync_env.run_sync(**WINDOW), "summarize")
    ok(run)
    assert again["staged"]["new"] == 0 and again["staged"]["updated"] == 0, again["staged"]


def test_each_account_is_purged_after_its_own_retention_in_its_own_landing_store(sync_env, tmp_path, monkeypatch):
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        "accounts:\n"
        "  - {name: default, conn_id: amazon_sp_api, settings_variable: amazon_order_settings}\n"
        "  - {name: eu, conn_id: amazon_sp_api_eu, settings_variable: amazon_order_settings_eu}\n"
    )
    monkeypatch.setenv("AMAZON_ACCOUNTS_FILE", str(accounts))
    eu_landing = tmp_path / "landing-eu"
    sync_env.settings(pii_retention_days=30)
    eu_settings = {"pii_retention_days": 0, "landing_uri": eu_landing.as_uri()}
    monkeypatch.setenv("AIRFLOW_VAR_AMAZON_ORDER_SETTINGS_EU", json.dumps(eu_settings))
    old = NOW - timedelta(days=10)
    orders = {
        "A": buyer_order("A", ao.line(), status="SHIPPED", updated=old),  # default, 30 days: kept
        "B": buyer_order("B", ao.line(), status="SHIPPED", updated=old),  # eu, 0 days: purged
        "C": buyer_order("C", ao.line(), status="UNSHIPPED", updated=old),  # eu, not final: kept
        "D": buyer_order("D", ao.line(), status="CANCELLED", updated=old),  # default: kept
    }
    account = {"A": "default", "B": "eu", "C": "eu", "D": "default"}
    engine = sync_env.engine
    db.upgrade(engine)
    for key, order in orders.items():
        orders_df, items_df = flatten([order])
        orders_df["account"] = account[key]
        db.upsert_staged(engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER)
    write_pages(sync_env.landing_dir.as_uri(), "run-na", [[orders["A"], orders["D"]]], cipher=CIPHER)
    write_pages(eu_landing.as_uri(), "run-eu", [[orders["B"], orders["C"]]], cipher=CIPHER)

    run = run_dag("amazon_pii_retention")
    ok(run)
    purge = xcom_result(run, "summarize")
    assert purge["orders_purged"] == 1 and purge["orders_purged_total"] == 1, purge
    assert {name: (a["retention_days"], a["orders_purged"]) for name, a in purge["accounts"].items()} == {
        "default": (30, 0),
        "eu": (0, 1),
    }
    assert purge["pages_read"] == 2 and purge["pages_rewritten"] == 1 and purge["landed_orders_redacted"] == 1
    assert "Account `eu`: 1 (last Amazon update before" in run_note(run)
    rows = channel_rows(engine)
    assert [i for i in IDS.values() if rows[i]["buyer_data_purged_at"]] == [IDS["B"]]
    assert not leaks(decrypted_channel(engine, CIPHER, IDS["B"]), ("B",))
    for key in "ACD":
        assert BUYERS[key]["name"] in decrypted_channel(engine, CIPHER, IDS[key])
    eu_landed = decrypted_landing(eu_landing, CIPHER)
    assert not leaks(eu_landed, ("B",)) and BUYERS["C"]["name"] in eu_landed
    na_landed = decrypted_landing(sync_env.landing_dir, CIPHER)
    assert BUYERS["A"]["name"] in na_landed and BUYERS["D"]["name"] in na_landed


# ----------------------------------------------------------------------------------------------------------- the rules


def test_retention_purges_final_orders_on_every_dialect_and_a_newer_version_is_kept_until_due(channel_engine):
    engine = channel_engine
    old = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    orders = [
        buyer_order("A", ao.line(), status="SHIPPED", updated=old),
        buyer_order("B", ao.line(), status="CANCELLED", updated=old),
        buyer_order("C", ao.line(), status="UNSHIPPED", updated=old),  # not final: kept
        buyer_order("D", ao.line(), status="SHIPPED", fulfilled_by="AMAZON", updated=NOW),  # too recent: kept
    ]
    db.upsert_staged(engine, *flatten(orders), importable=IMPORTABLE_STATUSES, cipher=CIPHER)
    counts = purge_past_retention(engine, CIPHER, cutoff=NOW - timedelta(days=30), batch=1)
    assert (counts.purged, counts.skipped) == (2, 0)
    assert purge_past_retention(engine, CIPHER, cutoff=NOW - timedelta(days=30)).purged == 0
    assert db.buyer_data.purged_order_ids(engine, list(IDS.values())) == {IDS["A"], IDS["B"]}
    assert db.buyer_data.purged_order_count(engine)[0] == 2
    assert not leaks(decrypted_channel(engine, CIPHER, IDS["A"]), ("A",))
    assert BUYERS["C"]["name"] in decrypted_channel(engine, CIPHER, IDS["C"])
    # The same version again changes nothing; a newer one is stored (encrypted) and waits for its own retention.
    db.upsert_staged(engine, *flatten([orders[0]]), importable=IMPORTABLE_STATUSES, cipher=CIPHER)
    assert not leaks(decrypted_channel(engine, CIPHER, IDS["A"]), ("A",))
    newer = buyer_order("A", ao.line(), status="SHIPPED", updated=old + timedelta(days=1))
    db.upsert_staged(engine, *flatten([newer]), importable=IMPORTABLE_STATUSES, cipher=CIPHER)
    assert BUYERS["A"]["name"] in decrypted_channel(engine, CIPHER, IDS["A"])
    assert db.buyer_data.purged_order_ids(engine, [IDS["A"]]) == set()
    assert purge_past_retention(engine, CIPHER, cutoff=NOW - timedelta(days=30)).purged == 1
    assert reencrypt(engine, CIPHER) == 4


def test_redaction_keeps_an_allow_list_so_new_buyer_fields_go_too():
    order = buyer_order("A", ao.line("MUG-001", qty=2), status="SHIPPED")
    order["buyer"]["businessTaxId"] = "DE-VAT-99887766"  # a field Amazon could add: not listed, so dropped
    order["recipient"]["deliveryPreference"] = {"dropOffLocation": "behind the Xylophone shed"}
    order["packages"] = [{"packageReferenceId": "1", "trackingNumber": "1Z", "shipFromAddress": {"name": "Seller"},
                          "packageItems": [{"orderItemId": "1", "quantity": 2, "transparencyCodes": ["x"]}]}]  # fmt: skip
    stamp = datetime(2026, 2, 1, tzinfo=UTC)
    kept = redact_order(order, stamp)
    as_text = json.dumps(kept)
    assert (
        not leaks(as_text) and "DE-VAT" not in as_text and "Xylophone" not in as_text and "giftMessage" not in as_text
    )
    assert kept["orderId"] == IDS["A"] and kept[PURGED_KEY] == stamp.isoformat()
    assert kept["orderItems"][0]["product"]["sellerSku"] == "MUG-001" and kept["orderItems"][0]["quantityOrdered"] == 2
    assert kept["proceeds"] == order["proceeds"] and kept["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert kept["packages"] == [{"packageReferenceId": "1", "trackingNumber": "1Z",
                                 "packageItems": [{"orderItemId": "1", "quantity": 2}]}]  # fmt: skip
    assert redact_order("not json", stamp) == {PURGED_KEY: stamp.isoformat()}
    cutoff = T0 + timedelta(hours=1)  # its last update was T0 + 10 min
    assert past_retention(order, cutoff) and not past_retention(kept, cutoff)
    assert not past_retention({**order, "fulfillment": {"fulfillmentStatus": "UNSHIPPED"}}, cutoff)
    assert not past_retention(order, T0)


def test_cipher_keys_and_settings():
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = BuyerDataCipher([old]).encrypt_text("Zebulon")
    both = BuyerDataCipher([new, old])
    assert both.decrypt_text(token) == "Zebulon" and both.decrypt_text("legacy clear") == "legacy clear"
    assert BuyerDataCipher([new]).decrypt_text(both.rotate(token.encode()).decode()) == "Zebulon"
    assert both.encrypt_text("x") != both.encrypt_text("x")  # randomised: never compared, never fingerprinted
    with pytest.raises(InvalidKey, match="key 2 is not a Fernet key") as raised:
        BuyerDataCipher([new, "not-a-key-SECRETISH"])
    assert "SECRETISH" not in str(raised.value) and new not in repr(both)
    assert parse_settings(None).pii_retention_days == 30
    assert parse_settings({"pii_retention_days": 0}).pii_retention_days == 0
    with pytest.raises(SettingsError, match="pii_retention_days"):
        parse_settings({"pii_retention_days": -1})


def test_the_staging_fingerprint_is_computed_on_clear_data_so_restaging_changes_nothing(channel_engine):
    order = buyer_order("A", ao.line())
    first = db.upsert_staged(channel_engine, *flatten([order]), importable=IMPORTABLE_STATUSES, cipher=CIPHER)
    with channel_engine.connect() as conn:
        before = conn.execute(text("SELECT sync_fingerprint, payload FROM channel_order")).one()
    again = db.upsert_staged(channel_engine, *flatten([order]), importable=IMPORTABLE_STATUSES, cipher=CIPHER)
    with channel_engine.connect() as conn:
        after = conn.execute(text("SELECT sync_fingerprint, payload FROM channel_order")).one()
    assert (first.new, again.unchanged) == (1, 1) and tuple(before) == tuple(after)
    assert flatten([order])[0]["sync_fingerprint"][0] == before[0]


# ----------------------------------------------------------------------------------------------------------- in transit


def test_clients_refuse_plain_http_except_to_loopback():
    for url in (
        "https://sellingpartnerapi-na.amazon.com",
        "http://127.0.0.1:8781",
        "http://localhost:1",
        "http://[::1]:8",
    ):
        assert require_secure_url(url, "x") == url
    for url in ("http://sellingpartnerapi-na.amazon.com", "http://10.0.0.5", "ftp://shop", "shop.example.com"):
        with pytest.raises(InsecureEndpoint, match="refused"):
            require_secure_url(url, "x")
    creds = {"client_id": "a", "client_secret": "b", "refresh_token": "c"}
    with pytest.raises(InsecureEndpoint, match="SP-API endpoint http://sellingpartnerapi-eu.amazon.com refused"):
        SpApiClient("http://sellingpartnerapi-eu.amazon.com", **creds)
    with pytest.raises(InsecureEndpoint, match="LWA token endpoint"):
        SpApiClient(
            "https://sellingpartnerapi-eu.amazon.com", lwa_endpoint="http://api.amazon.com/auth/o2/token", **creds
        )
    with pytest.raises(InsecureEndpoint, match="Commerce base URL http://shop.example.com refused"):
        CommerceClient("http://user:secret@shop.example.com", token="t")
    SpApiClient("https://sellingpartnerapi-eu.amazon.com", **creds).close()


@pytest.fixture
def untrusted_https(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate (no CA vouches for it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


def test_clients_verify_tls_certificates(untrusted_https):
    url, requests = untrusted_https
    creds = {"client_id": "a", "client_secret": "b", "refresh_token": "c"}
    calls = (
        (CommerceClient(url, token="integration-token", max_retries=0), "find_orders_by_ext_order_id", ("1",)),
        (SpApiClient(url, lwa_endpoint=f"{url}/auth/o2/token", max_retries=0, **creds), "authenticate", ()),
    )
    for client, method, args in calls:
        with client, pytest.raises(Exception) as raised:
            getattr(client, method)(*args)
        chain, error = [], raised.value
        while error is not None:
            chain.append(error)
            error = error.__cause__ or error.__context__
        assert any(isinstance(e, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(e) for e in chain), chain
    assert requests == []  # no request ever reached the server: the token never left


def test_an_order_purged_before_it_was_imported_is_kept_out_with_a_reason():
    from include.domain.settings import OrderSettings
    from include.tasks.order_sync import _in_store

    payload = redact_order(buyer_order("A", ao.line(), status="SHIPPED"), NOW)
    order = db.ChannelOrder(
        IDS["A"], "ATVPDKIKX0DER", "MERCHANT", "SHIPPED", "Shipped", NOW, "failed", 3, "earlier reason", "f" * 64,
        None, None, payload,
    )  # fmt: skip
    result = _in_store(OrderSettings(), order, lambda store: pytest.fail("a purged order must not reach Commerce"))
    assert (result.outcome, result.amazon_order_id) == ("failed", IDS["A"])
    assert "buyer data purged after pii_retention_days" in result.reason
