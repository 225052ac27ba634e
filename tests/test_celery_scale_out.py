"""Scale-out on a real Celery deployment: two workers, overlapping runs, a worker killed mid-import.

One deployment for the module (``sandbox.airflow_stack`` with the CeleryExecutor: scheduler, DAG
processor, triggerer, API server and two ``airflow celery worker`` processes named ``celery-1`` and
``celery-2``; Redis broker on a queue of its own; throwaway PostgreSQL databases for the metadata,
the Celery results and the channel tables). The ``commerce_api`` pool has 4 slots, chunks are small,
so mapped imports of several runs run side by side on both workers; the channel DB's leases are
what keeps them apart. Skips where PostgreSQL or Redis is absent.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from include.clients.commerce.client import CommerceClient
from sandbox import credentials
from tests import amazon_orders as ao
from tests.conftest import start_airflow_stack, throwaway_postgres_db

pytestmark = [
    pytest.mark.scheduler,
    pytest.mark.celery,
    pytest.mark.postgres,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="runs Airflow components as POSIX process groups"),
]

SYNC, PUSH = "amazon_order_sync", "amazon_tracking_push"
IMPORT_TASK = "merchant_fulfilled.import_orders"
LEASE_SECONDS = 8
POOL_SLOTS = 4


def quarter_hour(dt: datetime) -> datetime:
    return dt.replace(minute=dt.minute - dt.minute % 15, second=0, microsecond=0)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def deployment(sandbox_session, tmp_path_factory):
    sandbox_session.reset()
    folder = tmp_path_factory.mktemp("celery")
    with throwaway_postgres_db("acs_celery_meta") as metadata, throwaway_postgres_db("acs_celery_channel") as channel:
        settings = {
            "fba_import": True, "chunk_size": 5, "commerce_concurrency": 2, "retry_base_minutes": 0,
            "lease_seconds": LEASE_SECONDS, "landing_uri": (folder / "landing").as_uri(),
        }  # fmt: skip
        stack = start_airflow_stack(
            sandbox_session, metadata, folder, workers=2, channel_url=channel,
            AIRFLOW__CORE__PARALLELISM="16",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="6",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="2",
            AIRFLOW_VAR_AMAZON_ORDER_SETTINGS=json.dumps(settings),
        )  # fmt: skip
        try:
            stack.cli("pools", "set", "commerce_api", str(POOL_SLOTS), "Commerce writers (test: 4 slots)")
            stack.wait_for(
                "both DAGs serialised",
                lambda: (
                    len(stack.query("SELECT dag_id FROM serialized_dag WHERE dag_id IN (:a, :b)", a=SYNC, b=PUSH)) == 2
                ),
                120,
            )
            stack.cli("dags", "unpause", SYNC)  # the push is unpaused once orders are shipped
            stack.channel = create_engine(channel)
            yield stack
        finally:
            stack.stop()
            getattr(stack, "channel", None) and stack.channel.dispose()


def commerce_ext_ids(sandbox) -> Counter[str]:
    engine = create_engine(sandbox.commerce_db)
    try:
        with engine.connect() as conn:
            return Counter(r[0] for r in conn.execute(text("SELECT ext_order_id FROM sales_order")))
    finally:
        engine.dispose()


def all_finished(stack, dag_id: str, at_least: int) -> bool:
    runs = stack.runs(dag_id)
    return len(runs) >= at_least and all(r["state"] in ("success", "failed") for r in runs)


def trigger(stack, dag_id: str, run_id: str, conf: dict) -> None:
    stack.cli("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf))


def channel_rows(stack, sql: str, **params) -> list[dict]:
    with stack.channel.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def test_backfill_and_manual_runs_overlap_on_two_workers_exactly_once(deployment, sandbox_session):
    stack, box = deployment, sandbox_session
    start = quarter_hour(datetime.now(UTC) - timedelta(hours=3))
    at = lambda minutes: start + timedelta(minutes=minutes)  # noqa: E731
    mfn = [f"111-0000301-00000{n:02d}" for n in range(12)]
    fba = [f"111-0000302-00000{n:02d}" for n in range(3)]
    orders = [
        ao.order(order_id=oid, created=at(n * 2.4) - timedelta(minutes=1), last_updated=at(n * 2.4))
        for n, oid in enumerate(mfn)
    ] + [
        ao.order(order_id=oid, status="SHIPPED", fulfilled_by="AMAZON", created=at(3 + n * 8) - timedelta(minutes=5),
                 last_updated=at(3 + n * 8), buyer_email=None, phone=None)
        for n, oid in enumerate(fba)
    ] + [ao.order(ao.line("NOT-IN-CATALOG"), order_id="111-0000303-0000001", created=at(9), last_updated=at(10))]  # fmt: skip
    box.spapi("POST", "/_sandbox/orders", json=orders).raise_for_status()
    faults = [
        {"kind": "503", "method": "PUT", "path": "/V1/orders/create", "rate": 0.3, "count": 3},
        {"kind": "lost_response", "method": "PUT", "path": "/V1/orders/create", "count": 2},
        {"kind": "503", "path": "shipmentConfirmation", "count": 2},
    ]
    box.commerce("PUT", "/_sandbox/faults", json={"seed": 3, "latency_ms": 20, "rules": faults[:2]}).raise_for_status()
    box.spapi("PUT", "/_sandbox/faults", json={"seed": 3, "rules": faults[2:]}).raise_for_status()

    # A backfill over the two past windows (both runs at once) and a manual run over the same half hour, alongside.
    stack.cli(
        "backfill", "create", "--dag-id", SYNC, "--from-date", at(0).isoformat(), "--to-date", at(30).isoformat(),
        "--max-active-runs", "2",
    )  # fmt: skip
    trigger(stack, SYNC, "manual_overlap", {"window_start": iso(at(0)), "window_end": iso(at(30))})
    stack.wait_for("the sync runs to finish", lambda: all_finished(stack, SYNC, 3), 180)
    runs = stack.runs(SYNC)
    assert {r["run_id"]: r["state"] for r in runs if r["state"] != "success"} == {}

    assert commerce_ext_ids(box) == Counter(mfn + fba)  # every importable order exactly once
    [kept] = channel_rows(
        stack, "SELECT import_status, import_error FROM channel_order WHERE amazon_order_id LIKE '111-0000303%'"
    )
    assert kept["import_status"] == "failed" and "NOT-IN-CATALOG" in kept["import_error"]
    assert channel_rows(stack, "SELECT amazon_order_id FROM channel_order WHERE lease_owner IS NOT NULL") == []
    hosts = stack.query(
        "SELECT DISTINCT hostname FROM task_instance WHERE dag_id = :d AND task_id = :t AND state = 'success'",
        d=SYNC,
        t=IMPORT_TASK,
    )
    assert {h["hostname"] for h in hosts} == {"celery-1", "celery-2"}  # imports ran on both workers

    # The warehouse ships every merchant-fulfilled order; overlapping pushes confirm each package exactly once.
    with CommerceClient(
        box.commerce_url, username=credentials.COMMERCE_ADMIN_USER, password=credentials.COMMERCE_ADMIN_PASSWORD
    ) as client:
        for n, oid in enumerate(mfn):
            [order] = client.find_orders_by_ext_order_id(oid)
            client.ship_order(
                int(order["entity_id"]), tracks=[{"carrier_code": "ups", "title": "UPS", "track_number": f"1Z{n:06d}"}],
                notify=False,
            )  # fmt: skip
    # A backfill of the push over a past interval sends whatever is pending, as the manual run does, at the same time.
    stack.cli("dags", "unpause", PUSH)
    stack.cli(
        "backfill", "create", "--dag-id", PUSH, "--from-date", at(0).isoformat(), "--to-date", at(30).isoformat(),
        "--max-active-runs", "1",
    )  # fmt: skip
    trigger(stack, PUSH, "manual_push", {})
    stack.wait_for("the pushes", lambda: all_finished(stack, PUSH, 2), 180)
    sent = Counter(
        c["body"]["packageDetail"]["packageReferenceId"]
        for c in box.spapi("GET", "/_sandbox/shipment-confirmations").json()
        if c["orderId"] in mfn
    )
    assert len(sent) == len(mfn) and set(sent.values()) == {1}, sent
    statuses = channel_rows(stack, "SELECT status, COUNT(*) AS n FROM channel_shipment_push GROUP BY status")
    assert statuses == [{"status": "confirmed", "n": len(mfn)}]


def test_a_worker_killed_mid_import_leaves_the_rest_to_the_next_try_nothing_twice(deployment, sandbox_session):
    stack, box = deployment, sandbox_session
    start = quarter_hour(datetime.now(UTC) - timedelta(hours=5))
    ids = [f"111-0000401-00000{n:02d}" for n in range(12)]
    box.spapi(
        "POST", "/_sandbox/orders",
        json=[ao.order(order_id=oid, created=start + timedelta(minutes=n), last_updated=start + timedelta(minutes=n + 1))
              for n, oid in enumerate(ids)],
    ).raise_for_status()  # fmt: skip
    box.commerce("PUT", "/_sandbox/faults", json={"latency_ms": 700}).raise_for_status()  # slow Commerce: time to kill
    trigger(
        stack, SYNC, "manual_killed", {"window_start": iso(start), "window_end": iso(start + timedelta(minutes=20))}
    )

    def importing() -> list[dict]:
        created = sum(commerce_ext_ids(box)[oid] for oid in ids)
        running = stack.query(
            "SELECT hostname FROM task_instance WHERE run_id = 'manual_killed' AND task_id = :t AND state = 'running'",
            t=IMPORT_TASK,
        )
        return running if created and running else []

    stack.wait_for("an import chunk half done", importing, 120)
    victim = importing()[0]["hostname"]
    stack.kill(victim)  # SIGKILL: the worker and its task processes
    box.commerce("PUT", "/_sandbox/faults", json={}).raise_for_status()
    held = channel_rows(stack, "SELECT amazon_order_id, lease_owner FROM channel_order WHERE lease_owner IS NOT NULL")
    assert any(row["lease_owner"].startswith(f"{victim}:") for row in held)  # left behind by the dead task, to expire
    imported_at_kill = sum(commerce_ext_ids(box)[oid] for oid in ids)
    assert imported_at_kill < len(ids)

    # The dead task is failed by the scheduler (no heartbeat) and retried on the other worker once its leases expired.
    def imports_done() -> bool:
        states = stack.query(
            "SELECT state FROM task_instance WHERE run_id = 'manual_killed' AND task_id = :t", t=IMPORT_TASK
        )
        return bool(states) and all(row["state"] in ("success", "failed") for row in states)

    stack.wait_for("the import chunks to finish", imports_done, 150)
    assert {oid: n for oid, n in commerce_ext_ids(box).items() if oid in ids} == dict.fromkeys(ids, 1)
    rows = channel_rows(
        stack, "SELECT import_status, lease_owner FROM channel_order WHERE amazon_order_id LIKE '111-0000401%'"
    )
    assert [(r["import_status"], r["lease_owner"]) for r in rows] == [("imported", None)] * len(ids)
    chunks = stack.query(
        "SELECT state, hostname, try_number FROM task_instance WHERE run_id = 'manual_killed' AND task_id = :t",
        t=IMPORT_TASK,
    )
    assert {c["state"] for c in chunks} == {"success"}
    retried = [c for c in chunks if c["try_number"] > 1]
    assert retried and victim not in {c["hostname"] for c in retried}  # the killed chunks finished on the survivor
