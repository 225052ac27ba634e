"""Operating the sync: outage recovery, run reports in the UI, the quarantine view, alerts.

Everything runs the real DAG (``dag.test``) against both sandboxes over HTTP;
outages are made with the sandboxes' fault injection, alerts are read back from
the alerts file and from a real SMTP conversation with a local test server.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from tests import amazon_orders as ao
from tests.conftest import PROJECT_ROOT, run_dag, task_states, xcom_result

NOW = datetime.now(UTC)


def put_orders(sync_env, *versions: dict) -> None:
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=list(versions)).raise_for_status()


def mfn(order_id: str, updated: datetime, *items: dict, **kwargs) -> dict:
    """A merchant-fulfilled, unshipped order last updated at ``updated``."""
    return ao.order(*items, order_id=order_id, created=updated - timedelta(minutes=5), last_updated=updated, **kwargs)


def commerce_ext_ids(sync_env) -> list[str]:
    engine = create_engine(sync_env.sandbox.commerce_db)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT ext_order_id FROM sales_order ORDER BY ext_order_id"))]
    finally:
        engine.dispose()


def channel_row(sync_env, amazon_id: str) -> dict:
    with sync_env.engine.connect() as conn:
        sql = text("SELECT * FROM channel_order WHERE amazon_order_id = :id")
        return dict(conn.execute(sql, {"id": amazon_id}).mappings().one())


def run_note(dag_run) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(DagRun).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).one().note


def succeeded(dag_run) -> bool:
    return str(dag_run.state) in ("success", "DagRunState.SUCCESS")


def quarter_hour(dt: datetime) -> datetime:
    return dt.replace(minute=dt.minute - dt.minute % 15, second=0, microsecond=0)


# --------------------------------------------------------------------------------------------------- outage recovery


def test_first_scheduled_run_after_six_hours_down_covers_the_gap(sync_env):
    """catchup=False: after an outage the scheduler creates one run; the high-water mark widens its window."""
    before = quarter_hour(NOW - timedelta(hours=8))
    after = before + timedelta(hours=6, minutes=15)  # the first run once the scheduler is back
    put_orders(sync_env, mfn("111-0000101-0000001", before - timedelta(minutes=5)))
    first = run_dag("amazon_order_sync", logical_date=before)
    assert succeeded(first), task_states(first)
    assert commerce_ext_ids(sync_env) == ["111-0000101-0000001"]

    # While no run happened: orders placed or changed in the gap, and one inside the next run's own interval.
    put_orders(
        sync_env,
        mfn("111-0000101-0000001", before - timedelta(minutes=5)),
        mfn("111-0000101-0000002", before + timedelta(hours=1)),
        mfn("111-0000101-0000003", before + timedelta(hours=5, minutes=50)),
        mfn("111-0000101-0000004", after - timedelta(minutes=5)),
    )
    second = run_dag("amazon_order_sync", logical_date=after)
    assert succeeded(second), task_states(second)
    from include.domain.run_plans import SyncPlan

    plan = SyncPlan.from_xcom(xcom_result(second, "plan_window"))
    overlap = timedelta(minutes=10)
    # The data interval alone ([after - 15 min, after]) would miss orders 2 and 3: the window starts at the mark.
    assert (plan.start, plan.end) == (before - overlap, after)
    assert commerce_ext_ids(sync_env) == [f"111-0000101-000000{i}" for i in range(1, 5)]
    summary = xcom_result(second, "summarize")
    assert summary["outcomes"]["imported"] == 3
    assert summary["staged"]["unchanged"] == 1  # order 1 was read again (overlap) and left alone


def test_orders_kept_out_while_commerce_was_down_are_imported_once_after(sync_env, monkeypatch):
    """Commerce answers 503 to everything for one run: the orders wait with a reason; the next run imports them
    (with ``retry_base_minutes`` 0: by default the next try is 15 minutes later)."""
    sync_env.settings(retry_base_minutes=0)
    commerce_conn = json.loads(os.environ["AIRFLOW_CONN_COMMERCE_API"])
    commerce_conn["extra"].update(max_retries=1, backoff=0.05)  # keep the outage short in a test
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_API", json.dumps(commerce_conn))
    ids = ["111-0000102-0000001", "111-0000102-0000002"]
    put_orders(sync_env, *(mfn(i, NOW - timedelta(hours=1)) for i in ids))
    window = {"window_start": ao.iso(NOW - timedelta(hours=2))}

    sync_env.sandbox.commerce("PUT", "/_sandbox/faults", json={"rules": [{"kind": "503"}]}).raise_for_status()
    down = sync_env.run_sync(**window)
    assert succeeded(down), task_states(down)  # the batch goes on; the orders are kept out, not lost
    for amazon_id in ids:
        row = channel_row(sync_env, amazon_id)
        assert row["import_status"] == "failed" and row["import_attempts"] == 1
        assert row["import_error"].startswith("Commerce unavailable")
    assert commerce_ext_ids(sync_env) == []
    note = run_note(down)
    assert "Kept out, this run's orders (2):" in note and "Commerce unavailable" in note

    sync_env.sandbox.commerce("PUT", "/_sandbox/faults", json={}).raise_for_status()
    up = sync_env.run_sync(**window)
    assert succeeded(up), task_states(up)
    assert commerce_ext_ids(sync_env) == ids
    for amazon_id in ids:
        row = channel_row(sync_env, amazon_id)
        assert (row["import_status"], row["import_attempts"], row["import_error"]) == ("imported", 2, None)
    again = sync_env.run_sync(**window)
    assert succeeded(again) and commerce_ext_ids(sync_env) == ids  # and never twice


# --------------------------------------------------------------------------------------------------- run reports


def test_run_note_reports_counts_and_orders_kept_out(sync_env):
    put_orders(
        sync_env,
        mfn("111-0000103-0000001", NOW - timedelta(hours=1)),
        mfn("111-0000103-0000002", NOW - timedelta(hours=1), ao.line("NO-SUCH-SKU")),
    )
    run = sync_env.run_sync(window_start=ao.iso(NOW - timedelta(hours=2)))
    assert succeeded(run)
    note = run_note(run)
    assert note.startswith("**Order sync**: imported 1 · kept out 1 of 2 orders read · 1 kept out overall (window ")
    assert "Amazon: 2 orders read — new 2" in note
    assert "Commerce: imported 1 · failed 1" in note
    assert "`111-0000103-0000002` Commerce refused: The product that was requested doesn't exist" in note
    assert "NO-SUCH-SKU" in note
    assert "ana.smith" not in note.lower() and "Seattle" not in note  # no buyer data
    assert len(note) <= 1000
    # The same numbers travel with the asset event.
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        event = (
            session.query(AssetEvent)
            .filter(AssetEvent.source_run_id == run.run_id, AssetEvent.source_dag_id == "amazon_order_sync")
            .one()
        )
        assert event.extra["outcomes"] == xcom_result(run, "summarize")["outcomes"]
        assert "kept_out_this_run" not in event.extra  # counts only: the lists stay in the XCom


def asset_events(run) -> list:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id).all()


def test_orders_kept_out_earlier_are_told_apart_and_a_run_that_changed_nothing_starts_no_push(sync_env):
    """Run 1 keeps an order out; run 2 reads another order and retries the first: the note counts the retry as
    kept out earlier, not as run 2's; run 3 changes nothing in Commerce: no asset event, so no tracking push.
    (``retry_base_minutes`` 0, so that run 2 retries the first order at once.)"""
    sync_env.settings(retry_base_minutes=0)
    put_orders(sync_env, mfn("111-0000107-0000001", NOW - timedelta(hours=3), ao.line("NO-SUCH-SKU")))
    first = sync_env.run_sync(
        window_start=ao.iso(NOW - timedelta(hours=4)), window_end=ao.iso(NOW - timedelta(hours=2))
    )
    assert run_note(first).startswith("**Order sync**: kept out 1 of 1 orders read · 1 kept out overall (window ")
    assert task_states(first)["announce_changes"] == "skipped" and asset_events(first) == []

    put_orders(sync_env, mfn("111-0000107-0000002", NOW - timedelta(hours=1)))
    second = sync_env.run_sync(window_start=ao.iso(NOW - timedelta(minutes=90)))
    note = run_note(second)
    assert note.startswith("**Order sync**: imported 1 · kept out 0 of 1 orders read · 1 kept out overall (window ")
    assert "- Commerce: imported 1 · failed 1 (1 of the failed were retries of orders kept out by earlier runs)" in note
    assert (
        "- Still kept out overall: 1 (1 from earlier runs), retried with growing delays; "
        "all with reasons, tries and next try: [summarize → XCom](" in note
    )
    assert f"/dags/amazon_order_sync/runs/{quote(second.run_id, safe='')}/tasks/summarize/xcom)" in note
    summary = xcom_result(second, "summarize")
    assert summary["kept_out_this_run"] == []
    [earlier] = summary["kept_out_earlier"]
    assert earlier["amazon_order_id"] == "111-0000107-0000001" and "NO-SUCH-SKU" in earlier["reason"]
    assert task_states(second)["announce_changes"] == "success"
    [event] = asset_events(second)
    assert event.extra["changed_for_push"] == 1

    third = sync_env.run_sync(window_start=ao.iso(NOW - timedelta(minutes=90)))  # reads order 2 again, unchanged
    assert succeeded(third)
    assert run_note(third).startswith("**Order sync**: kept out 0 of 1 orders read · 1 kept out overall (window ")
    assert task_states(third)["announce_changes"] == "skipped" and asset_events(third) == []


def report_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "include.ops.report", *args],
        cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True,
    )  # fmt: skip


def test_quarantine_cli_lists_orders_kept_out(sync_env):
    put_orders(sync_env, mfn("111-0000104-0000001", NOW - timedelta(hours=1), ao.line("GONE-1")))
    assert succeeded(sync_env.run_sync(window_start=ao.iso(NOW - timedelta(hours=2))))
    table = report_cli("quarantine").stdout
    header, rule, row, *rest = table.splitlines()
    assert header.split()[:3] == ["AMAZON", "ORDER", "CHANNEL"]
    assert row.startswith("111-0000104-0000001  MFN ATVPDKIKX0DER  UNSHIPPED")
    assert "GONE-1" in row and " 1 " in row
    assert rest[-1] == (
        "1 orders kept out; failed imports are retried after 15 min, doubling up to 720 min, 8 tries at most; "
        "0 wait for operator (re-sync them by order id)."
    )
    assert "FIRST FAILED" in header and "NEXT TRY" in header and " 1  " in row
    summary = report_cli("summary").stdout
    assert "MFN  failed 1" in summary and "Orders kept out of Commerce: 1" in summary


def test_connections_and_settings_checks_for_operators(sync_env, monkeypatch):
    checked = report_cli("connections")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = [line for line in checked.stdout.splitlines() if line.split()[:1] in (["amazon_sp_api"], ["commerce_api"],
                                                                                  ["channel_db"])]  # fmt: skip
    assert [line.split()[:2] for line in lines] == [
        ["amazon_sp_api", "ok"],
        ["commerce_api", "ok"],
        ["channel_db", "ok"],
    ]

    conn = json.loads(os.environ["AIRFLOW_CONN_COMMERCE_API"])
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_API", json.dumps({**conn, "password": "rotated-away"}))
    failed = report_cli("connections")
    assert failed.returncode == 1 and "commerce_api   FAILED" in failed.stdout and "HTTP 401" in failed.stdout
    assert "rotated-away" not in failed.stdout

    sync_env.settings(customer_creation="guest")
    proposed = report_cli("settings", '{"customer_creation": "create", "landing_uri": null}')
    assert proposed.returncode == 0
    assert '  customer_creation: "guest" -> "create"' in proposed.stdout.splitlines()
    wrong = report_cli("settings", '{"customer_creation": "yes"}')
    assert wrong.returncode == 1 and "INVALID, do not set them" in wrong.stdout


# --------------------------------------------------------------------------------------------------- alerts


class SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that keeps every message it is sent (no TLS, no auth)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 sink ESMTP\r\n")
                for raw in lines:
                    command = raw.decode().strip().upper()
                    if command.startswith("EHLO"):
                        conn.sendall(b"250-sink\r\n250 8BITMIME\r\n")
                    elif command.startswith(("HELO", "MAIL", "RCPT", "RSET", "NOOP")):
                        conn.sendall(b"250 OK\r\n")
                    elif command == "DATA":
                        conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        body = []
                        for data in lines:
                            if data in (b".\r\n", b".\n"):
                                break
                            body.append(data.decode())
                        self.messages.append("".join(body))
                        conn.sendall(b"250 OK queued\r\n")
                    elif command == "QUIT":
                        conn.sendall(b"221 Bye\r\n")
                        break
                    else:
                        conn.sendall(b"502 Command not implemented\r\n")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def alerts_file(tmp_path, monkeypatch):
    path = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("ACS_ALERTS_FILE", str(path))
    return path


def test_a_failed_task_alerts_and_the_run_note_says_what_failed(sync_env, alerts_file):
    from include.adapters.alerts import read_alerts

    sync_env.settings(chunk_size=0)  # invalid: plan_window refuses to run with it
    run = sync_env.run_sync()
    assert not succeeded(run)
    assert task_states(run)["plan_window"] == "failed"
    [alert] = read_alerts(alerts_file)  # one failure, one alert (the DAG-level callback does not repeat it)
    assert alert["event"] == "task_failed" and alert["dag_id"] == "amazon_order_sync"
    assert alert["task_id"] == "plan_window" and alert["run_id"] == run.run_id
    assert alert["error"].startswith(
        "AirflowFailException: invalid settings: amazon_order_settings: invalid 'chunk_size' = 0"
    )
    note = run_note(run)
    assert note.startswith("**Run failed** (task failure): `plan_window`")


def test_alerts_are_e_mailed_when_the_alerts_smtp_connection_exists(sync_env, alerts_file, monkeypatch):
    from include.adapters.alerts import read_alerts

    sink = SmtpSink()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_ALERTS_SMTP",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": sink.port,
                    "extra": {
                        "to": "commerce-ops@example.com",
                        "from_email": "airflow@example.com",
                        "disable_ssl": True,
                        "disable_tls": True,
                        "retry_limit": 1,
                        "timeout": 5,
                    },
                }
            ),
        )
        sync_env.settings(overlap_minutes=-1)
        run = sync_env.run_sync()
        assert not succeeded(run)
        [message] = sink.messages
        assert "To: commerce-ops@example.com" in message
        assert "Subject: [Airflow] amazon_order_sync: task plan_window failed" in message
        assert len(read_alerts(alerts_file)) == 1
    finally:
        sink.close()


def test_deadline_alert_callback_runs_in_the_triggerer_code_path(alerts_file, monkeypatch):
    """The DAG's DeadlineAlert callback, run by Airflow's own CallbackTrigger with the context the scheduler sends."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.triggers.callback import CallbackTrigger

    from include.adapters.alerts import read_alerts

    assert DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("amazon_order_sync").deadline is None  # off by default
    monkeypatch.setenv("ACS_SYNC_DEADLINE_MINUTES", "60")
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("amazon_order_sync")
    [deadline] = dag.deadline
    assert deadline.interval == timedelta(minutes=60)
    # The UI rounds the interval ("an hour"); the name after it has the exact figure, and 60 min agrees.
    assert deadline.name == "60 min after queued, ACS_SYNC_DEADLINE_MINUTES"
    assert deadline.callback.path == "include.adapters.alerts.OpsNotifier"
    context = {
        "dag_run": {"dag_id": "amazon_order_sync", "dag_run_id": "scheduled__2026-03-01T10:00:00+00:00",
                    "run_type": "scheduled", "state": "running"},
        "deadline": {"id": "0197", "deadline_time": "2026-03-01T10:45:00+00:00"},
    }  # fmt: skip
    trigger = CallbackTrigger(deadline.callback.path, {**deadline.callback.kwargs, "context": context})

    async def events():
        return [event.payload async for event in trigger.run()]

    states = [str(p["state"]) for p in asyncio.run(events())]
    assert states[-1].endswith("success"), states
    [alert] = read_alerts(alerts_file)
    assert alert["event"] == "deadline_missed"
    assert (alert["dag_id"], alert["run_id"]) == ("amazon_order_sync", "scheduled__2026-03-01T10:00:00+00:00")
    assert alert["deadline"] == "2026-03-01T10:45:00+00:00"


def test_every_task_retries_with_backoff_and_has_a_timeout():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("amazon_order_sync")
    for task in dag.tasks:
        assert task.retries >= 3 and task.retry_exponential_backoff, task.task_id
        assert task.max_retry_delay == timedelta(minutes=10), task.task_id
        assert task.execution_timeout and task.execution_timeout <= timedelta(minutes=45), task.task_id
        assert task.on_failure_callback, task.task_id
    assert dag.task_dict["extract_orders"].pool == "amazon_sp_api"
    assert dag.dagrun_timeout == timedelta(hours=2)
