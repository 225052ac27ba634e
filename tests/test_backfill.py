"""Backfills on a real Airflow: scheduler, DAG processor, API server and triggerer with the LocalExecutor.

A throwaway Airflow home runs every component as a subprocess (``airflow_stack``
fixture: ``sandbox.airflow_stack``, as ``scripts/airflow-ui`` runs them) on a fresh
PostgreSQL metadata database (the test skips where PostgreSQL is absent). Orders
are placed in the SP-API sandbox across four past 15-minute intervals (with
timelines crossing interval boundaries), ``airflow backfill create`` re-syncs that
hour, and the test waits for every backfill run to succeed, then checks: exactly
four runs, the last ending where the range ends; Commerce has every importable
order exactly once, the order with an unknown SKU kept out with its reason,
nothing outside the range, although the backfill's conf names an order after it
(backfill runs ignore the single-run params). The same stack checks the run notes
written by the listener in the scheduler and a Deadline Alert fired by the
triggerer (deadline set to a few seconds so every run misses it).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import amazon_orders as ao

pytestmark = [
    pytest.mark.scheduler,
    pytest.mark.postgres,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="runs Airflow components as POSIX process groups"),
]

DAG_ID = "amazon_order_sync"
START_TIMEOUT_S = 90
BACKFILL_TIMEOUT_S = 240


@pytest.fixture
def stack(airflow_stack):
    return airflow_stack(ACS_SYNC_DEADLINE_MINUTES="0.05")  # 3 s: every run misses it, so the triggerer must alert


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
        lambda: any(r["state"] in ("success", "failed") for r in stack.runs(DAG_ID, "scheduled")),
        START_TIMEOUT_S,
    )
    assert [r["state"] for r in stack.runs(DAG_ID, "scheduled")] == ["success"]

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

    # The hour at(0) → at(60): four runs, the last at(45) → at(60) (not five, as Airflow's inclusive logical dates
    # would make with a plain CronDataIntervalTimetable). The conf names order 8, after the range: ignored.
    out = stack.cli(
        "backfill", "create", "--dag-id", DAG_ID, "--from-date", at(0).isoformat(), "--to-date", at(60).isoformat(),
        "--max-active-runs", "1", "--dag-run-conf", json.dumps({"amazon_order_ids": ["111-0000201-0000008"]}),
    )  # fmt: skip
    assert "Created backfill" in out or "backfill" in out.lower(), out
    stack.wait_for(
        "four backfill runs to finish",
        lambda: (
            len(runs := stack.runs(DAG_ID, "backfill")) == 4 and all(r["state"] in ("success", "failed") for r in runs)
        ),
        BACKFILL_TIMEOUT_S,
    )
    runs = stack.runs(DAG_ID, "backfill")
    assert [r["state"] for r in runs] == ["success"] * 4, runs
    assert [r["logical_date"] for r in runs] == [at(m) for m in (0, 15, 30, 45)]  # the last covers at(45) → at(60)

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
    assert all(
        "- Backfill run: ignored amazon_order_ids (single-run params); read its own interval" in n for n in notes
    )
    assert "`111-0000201-0000005`" in notes[2] and "NOT-IN-CATALOG" in notes[2]
    headline = notes[0].splitlines()[0]  # before order 5 came in: nothing kept out, this run's or overall
    assert "kept out 0 of " in headline and " orders read · 0 kept out overall" in headline

    # The Deadline Alert (3 s after queueing) fired for the backfill runs, through the triggerer.
    from include.adapters.alerts import read_alerts

    def every_run_alerted() -> bool:
        alerts = read_alerts(Path(stack.env["ACS_ALERTS_FILE"]))
        return {r["run_id"] for r in runs} <= {a["run_id"] for a in alerts if a["event"] == "deadline_missed"}

    stack.wait_for("deadline alerts from the triggerer", every_run_alerted, 60)
    print(f"backfill of 4 intervals: {time.monotonic() - started:.0f}s from a fresh Airflow")
