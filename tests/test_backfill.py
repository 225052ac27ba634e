"""Backfills on a real Airflow: scheduler, DAG processor, API server and triggerer with the LocalExecutor.

A throwaway Airflow home runs every component as a subprocess, the way
``airflow standalone`` does, on a fresh PostgreSQL metadata database (SQLite
locks up under a scheduler, a DAG processor, an API server, a triggerer and
executor workers writing at once; the test skips where PostgreSQL is absent). Orders are placed in the SP-API
sandbox across four past 15-minute intervals (with timelines crossing interval
boundaries), ``airflow backfill create`` re-syncs that range, and the test waits
for every backfill run to succeed, then checks Commerce: every importable order
exactly once, the order with an unknown SKU kept out with its reason, nothing
outside the range. The same stack checks the run notes written by the listener
in the scheduler and a Deadline Alert fired by the triggerer (deadline set to a
few seconds so every run misses it).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import amazon_orders as ao
from tests.conftest import PROJECT_ROOT, _reachable, free_port

pytestmark = [
    pytest.mark.scheduler,
    pytest.mark.postgres,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="runs Airflow components as POSIX process groups"),
]

DAG_ID = "amazon_order_sync"
COMPONENTS = ("dag-processor", "scheduler", "api-server", "triggerer")
START_TIMEOUT_S = 90
BACKFILL_TIMEOUT_S = 240


@dataclass
class AirflowStack:
    """Airflow components running as subprocesses on one throwaway home."""

    home: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def metadata(self):
        return create_engine(self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])

    def cli(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, component: str) -> None:
        log = open(self.home / f"{component}.log", "w")  # noqa: SIM115 - closed with the process
        self.processes[component] = subprocess.Popen(
            [sys.executable, "-m", "airflow", component],
            env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.home / f"{name}.log").read_text()[-3000:]
                raise AssertionError(f"airflow {name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM each component's process group, then SIGKILL what is left (idle executor workers ignore TERM)."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(5)

    def query(self, sql: str, **params) -> list[dict]:
        engine = self.metadata
        try:
            with engine.connect() as conn:
                return [dict(r) for r in conn.execute(text(sql), params).mappings()]
        finally:
            engine.dispose()

    def wait_for(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            self.check_alive()
            if time.monotonic() > deadline:
                logs = "\n".join(
                    f"--- {name}.log ---\n" + (self.home / f"{name}.log").read_text()[-2500:] for name in self.processes
                )
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
            time.sleep(1)

    def runs(self, run_type: str) -> list[dict]:
        return self.query(
            "SELECT r.run_id, r.state, r.logical_date, n.content AS note FROM dag_run r "
            "LEFT JOIN dag_run_note n ON n.dag_run_id = r.id "
            "WHERE r.dag_id = :dag AND r.run_type = :type ORDER BY r.logical_date",
            dag=DAG_ID,
            type=run_type,
        )


def connections(sandbox, channel_db: Path) -> dict[str, str]:
    conns = {**sandbox.airflow_connections(), "CHANNEL_DB": {"conn_type": "sqlite", "host": str(channel_db)}}
    return {f"AIRFLOW_CONN_{name}": json.dumps(conn) for name, conn in conns.items()}


@pytest.fixture
def metadata_db() -> Iterator[str]:
    """A fresh PostgreSQL database for the Airflow metadata (skips where no server runs), dropped afterwards."""
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (the metadata DB of the scheduler test)")
    admin = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    name = f"acs_airflow_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def stack(sandbox, metadata_db, tmp_path) -> Iterator[AirflowStack]:
    home = tmp_path / "airflow"
    home.mkdir()
    api_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ACS_"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "PYTHONPATH": str(PROJECT_ROOT),
        "ACS_ALERTS_FILE": str(tmp_path / "alerts.jsonl"),
        "ACS_SYNC_DEADLINE_MINUTES": "0.05",  # 3 s: every run misses it, so the triggerer must alert
        "AIRFLOW_VAR_AMAZON_ORDER_SETTINGS": json.dumps(
            {"fba_import": True, "landing_uri": (tmp_path / "landing").as_uri()}
        ),
        **connections(sandbox, tmp_path / "channel.db"),
    }
    airflow = AirflowStack(home, env)
    airflow.cli("db", "migrate")
    airflow.cli("pools", "set", "amazon_sp_api", "1", "Serialises SP-API quota users")
    airflow.cli("pools", "set", "commerce_api", "1", "Serialises Commerce writers")
    try:
        for component in COMPONENTS:
            airflow.start(component)
        yield airflow
    finally:
        airflow.stop()


def commerce_ext_ids(sandbox) -> list[str]:
    engine = create_engine(sandbox.commerce_db)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT ext_order_id FROM sales_order ORDER BY ext_order_id"))]
    finally:
        engine.dispose()


def quarter_hour(dt: datetime) -> datetime:
    return dt.replace(minute=dt.minute - dt.minute % 15, second=0, microsecond=0)


def test_backfill_resyncs_a_past_range_once_and_completely(stack, sandbox):
    started = time.monotonic()
    stack.wait_for(
        "the DAG processor to serialise the DAG",
        lambda: stack.query("SELECT dag_id FROM serialized_dag WHERE dag_id = :d", d=DAG_ID),
        START_TIMEOUT_S,
    )
    # Unpaused, the scheduler makes its catch-up-less run for the latest interval first; let it finish
    # so the backfill is the only writer afterwards (as in production, where scheduled runs already ran).
    stack.cli("dags", "unpause", DAG_ID)
    stack.wait_for(
        "the first scheduled run",
        lambda: any(r["state"] in ("success", "failed") for r in stack.runs("scheduled")),
        START_TIMEOUT_S,
    )
    assert [r["state"] for r in stack.runs("scheduled")] == ["success"]

    start = quarter_hour(datetime.now(UTC) - timedelta(hours=3))
    at = lambda minutes: start + timedelta(minutes=minutes)  # noqa: E731

    def mfn(order_id, minutes, status="UNSHIPPED", *items):
        return ao.order(
            *items, order_id=order_id, status=status, created=at(minutes) - timedelta(minutes=2),
            last_updated=at(minutes), pending=status == "PENDING",
        )  # fmt: skip

    def fba(order_id, minutes):
        return ao.order(
            order_id=order_id, status="SHIPPED", fulfilled_by="AMAZON", created=at(minutes) - timedelta(minutes=6),
            last_updated=at(minutes), buyer_email=None, phone=None,
        )  # fmt: skip

    orders = [
        mfn("111-0000201-0000001", 5),  # interval 1
        mfn("111-0000201-0000002", 8, "PENDING"),  # pending in interval 1 ...
        mfn("111-0000201-0000002", 35),  # ... payment verified in interval 3
        mfn("111-0000201-0000003", 14),  # end of interval 1, read again by interval 2 (overlap)
        mfn("111-0000201-0000004", 20),  # interval 2
        mfn("111-0000201-0000005", 40, "UNSHIPPED", ao.line("NOT-IN-CATALOG")),  # interval 3, kept out
        fba("111-0000201-0000006", 50),  # interval 4, fulfilled by Amazon and shipped
        mfn("111-0000201-0000007", 58),  # interval 4
        mfn("111-0000201-0000008", 70),  # after the range: no backfill run may import it
    ]
    sandbox.spapi("POST", "/_sandbox/orders", json=orders).raise_for_status()

    out = stack.cli(
        "backfill", "create", "--dag-id", DAG_ID, "--from-date", at(0).isoformat(), "--to-date", at(45).isoformat(),
        "--max-active-runs", "1",
    )  # fmt: skip
    assert "Created backfill" in out or "backfill" in out.lower(), out
    stack.wait_for(
        "four backfill runs to finish",
        lambda: len(runs := stack.runs("backfill")) == 4 and all(r["state"] in ("success", "failed") for r in runs),
        BACKFILL_TIMEOUT_S,
    )
    runs = stack.runs("backfill")
    assert [r["state"] for r in runs] == ["success"] * 4, runs

    imported = [f"111-0000201-000000{i}" for i in (1, 2, 3, 4, 6, 7)]
    assert commerce_ext_ids(sandbox) == imported  # nothing missing, no duplicate, nothing outside the range
    channel = create_engine(f"sqlite:///{stack.home.parent / 'channel.db'}")
    with channel.connect() as conn:
        kept = conn.execute(
            text("SELECT import_status, import_error FROM channel_order WHERE amazon_order_id = '111-0000201-0000005'")
        ).one()
        staged = {r[0] for r in conn.execute(text("SELECT amazon_order_id FROM channel_order"))}
    channel.dispose()
    assert kept[0] == "failed" and "NOT-IN-CATALOG" in kept[1]
    assert "111-0000201-0000008" not in staged

    # The listener wrote each run's report as its note, inside the scheduler.
    notes = [r["note"] or "" for r in runs]
    assert all(n.startswith("**Order sync**: ") for n in notes), notes
    assert "`111-0000201-0000005`" in notes[2] and "NOT-IN-CATALOG" in notes[2]

    # The Deadline Alert (3 s after queueing) fired for the backfill runs, through the triggerer.
    from include.alerts import read_alerts

    def every_run_alerted() -> bool:
        alerts = read_alerts(Path(stack.env["ACS_ALERTS_FILE"]))
        return {r["run_id"] for r in runs} <= {a["run_id"] for a in alerts if a["event"] == "deadline_missed"}

    stack.wait_for("deadline alerts from the triggerer", every_run_alerted, 60)
    print(f"backfill of 4 intervals: {time.monotonic() - started:.0f}s from a fresh Airflow")
