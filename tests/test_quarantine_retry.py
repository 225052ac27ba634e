"""The quarantine's retry policy on the real sync (dag.test against both sandboxes over HTTP, real SQL).

An order kept out is tried again only once its ``next_attempt_at`` is due, with
delays doubling from ``retry_base_minutes`` up to ``retry_max_delay_minutes``;
after ``retry_max_attempts`` it waits for an operator, and a re-sync by order id
still tries it. Time passing is simulated by moving ``next_attempt_at`` back in
the channel database (the sync reads the real clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, text

from include.channel_db.types import UtcDateTime
from tests import amazon_orders as ao
from tests.conftest import PROJECT_ROOT, task_states, xcom_result

NOW = datetime.now(UTC)
T0 = NOW - timedelta(hours=3)
WINDOW = {"window_start": ao.iso(NOW - timedelta(hours=4))}
ORDER = "111-0000201-0000001"


def attempts_and_next(env) -> tuple[str, int, datetime | None, datetime | None]:
    query = text(
        "SELECT import_status, import_attempts, last_attempt_at, next_attempt_at FROM channel_order "
        "WHERE amazon_order_id = :id"
    ).columns(last_attempt_at=UtcDateTime, next_attempt_at=UtcDateTime)
    with env.engine.connect() as conn:
        return tuple(conn.execute(query, {"id": ORDER}).one())


def time_passes(env) -> None:
    """The order's next try is due now (as if its delay had passed)."""
    with env.engine.begin() as conn:
        statement = text("UPDATE channel_order SET next_attempt_at = :due WHERE amazon_order_id = :id")
        due = bindparam("due", datetime.now(UTC) - timedelta(minutes=1), type_=UtcDateTime)
        conn.execute(statement.bindparams(due), {"id": ORDER})


def run(env, **conf) -> dict:
    dag_run = env.run_sync(**(conf or WINDOW))
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS"), task_states(dag_run)
    return {"summary": xcom_result(dag_run, "summarize"), "states": task_states(dag_run), "run": dag_run}


@pytest.mark.parametrize("sync_env", [None, "postgres"], ids=["sqlite", "postgres"], indirect=True)
def test_failed_imports_back_off_then_wait_for_an_operator_and_a_resync_by_id_forces_them(sync_env):
    sync_env.settings(retry_max_attempts=3, retry_base_minutes=60, retry_max_delay_minutes=90)
    order = ao.order(
        ao.line("NEW-777", unit="30.00"), order_id=ORDER, created=T0, last_updated=T0 + timedelta(minutes=5)
    )
    sync_env.sandbox.spapi("POST", "/_sandbox/orders", json=[order]).raise_for_status()

    first = run(sync_env)
    status, attempts, last, next_at = attempts_and_next(sync_env)
    assert (status, attempts) == ("failed", 1) and next_at == last + timedelta(minutes=60)
    [kept] = first["summary"]["kept_out_this_run"]
    assert kept["attempts"] == 1 and kept["next_try"] == next_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert kept["first_failed_at"] == last.strftime("%Y-%m-%dT%H:%M:%SZ") and "NEW-777" in kept["reason"]

    # Not due yet: the next run leaves it alone (no Commerce call for it, no attempt counted).
    second = run(sync_env)
    assert attempts_and_next(sync_env)[:2] == ("failed", 1)
    assert second["states"]["merchant_fulfilled.plan_chunks"] == "skipped"
    assert second["summary"]["outcomes"].get("failed", 0) == 0 and second["summary"]["quarantined_total"] == 1

    time_passes(sync_env)
    run(sync_env)
    status, attempts, last, next_at = attempts_and_next(sync_env)
    assert (status, attempts) == ("failed", 2) and next_at == last + timedelta(minutes=90)  # 120, capped at 90

    time_passes(sync_env)
    third = run(sync_env)
    assert attempts_and_next(sync_env)[1:4:2] == (3, None)  # the last attempt: no next try by itself
    [kept] = third["summary"]["kept_out_this_run"]  # the window reads it again: one of this run's orders
    assert (kept["attempts"], kept["next_try"]) == (3, "waits for operator")
    assert third["summary"]["kept_out"]["waiting_for_operator"] == 1

    run(sync_env)  # however long it waits, no run tries it again
    assert attempts_and_next(sync_env)[:2] == ("failed", 3)
    table, lines = (
        subprocess.run(
            [sys.executable, "-m", "include.ops.report", "quarantine", *args],
            cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, check=True,
        ).stdout
        for args in ((), ("--json",))
    )  # fmt: skip
    row = next(line for line in table.splitlines() if line.startswith(ORDER))
    assert "waits for operator" in row and "NEW-777" in row
    assert "1 wait for operator (re-sync them by order id)" in table
    [entry] = [json.loads(line) for line in lines.splitlines()]
    assert (entry["attempts"], entry["next_attempt_at"], entry["next_try"]) == (3, None, "waits for operator")

    # An operator re-syncs it by id: tried whatever the policy says, and imported once the SKU exists.
    run(sync_env, amazon_order_ids=[ORDER])
    assert attempts_and_next(sync_env)[:2] == ("failed", 4)
    sync_env.sandbox.commerce(
        "POST", "/_sandbox/products", json=[{"sku": "NEW-777", "name": "New", "price": 30}]
    ).raise_for_status()
    forced = run(sync_env, amazon_order_ids=[ORDER])
    assert forced["summary"]["outcomes"]["imported"] == 1
    assert attempts_and_next(sync_env)[0] == "imported" and attempts_and_next(sync_env)[3] is None
