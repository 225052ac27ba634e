"""Latency benchmark: from the sandbox accepting an order to Commerce showing it, event path vs polling alone.

Run from the project root: ``python -m bench.bench_events`` (``--help`` for options; needs PostgreSQL on
127.0.0.1:5432 for the Airflow metadata DB, as the scheduler tests do).

For each ``--mode`` it starts fresh sandboxes (SP-API with the published usage plans, its local SQS with
Amazon's delivery behaviour: 10 % of the messages twice, 10 % delayed 1–5 s), a real Airflow (scheduler,
DAG processor, triggerer, API server; LocalExecutor) on a throwaway home, makes the ORDER_CHANGE subscription
(``include.ops.order_change_subscription``) and unpauses one path:

* ``events``: ``amazon_order_events`` only (the asset watcher in the triggerer starts its runs);
* ``polling``: ``amazon_order_sync`` only (every 15 minutes, behind Amazon's 2-minute rule).

It then places ``--orders`` new merchant-fulfilled orders (importable, catalogue SKUs) over ``--minutes``
minutes at a steady pace through ``POST /_sandbox/orders``, and watches the Commerce database every 0.5 s.
The latency of an order is the time from the sandbox accepting it (the POST's answer) to its Commerce order
being there. It prints p50, p95 and max per mode, the runs it took, and the sustained throughput bounds of
both paths computed from the usage plans' token buckets.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from include.clients.amazon.rate_limit import DEFAULT_PLANS
from sandbox.process import PROJECT_ROOT, free_port, start_sandbox
from tests import amazon_orders as ao
from tests.conftest import start_airflow_stack, throwaway_postgres_db

DAG = {"events": "amazon_order_events", "polling": "amazon_order_sync"}
#: Orders per searchOrders page (the sync asks for the maximum).
PAGE = 100


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def throughput_bounds(factor: float = 1.0) -> dict[str, float]:
    """Order changes per hour each path sustains at the usage plans (× ``factor``), from the token buckets."""
    search, get = DEFAULT_PLANS["searchOrders"], DEFAULT_PLANS["getOrder"]
    polling = search.rate * factor * 3600 * PAGE  # a page of 100 changed orders per searchOrders token
    events = get.rate * factor * 3600  # one getOrder per changed order (repeats within a run coalesced)
    return {"polling": polling, "events": events}


def run_mode(mode: str, orders: int, minutes: float, timeout_min: float, rate_factor: float | None = None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"acs-bench-events-{mode}-"))
    limits = ("--rate-limits", "scaled", "--rate-factor", str(rate_factor)) if rate_factor else ()
    box = start_sandbox(f"sqlite:///{folder / 'commerce.db'}", *limits, sqs_port=free_port())
    commerce = create_engine(box.commerce_db)
    try:
        with throwaway_postgres_db(f"acs_airflow_bench_{mode}") as metadata:
            stack = start_airflow_stack(box, metadata, folder)
            try:
                subprocess.run(
                    [sys.executable, "-m", "include.ops.order_change_subscription", "--create-queue"],
                    env=stack.env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120,
                )  # fmt: skip
                stack.wait_for(
                    "both DAGs parsed",
                    lambda: len(stack.query("SELECT dag_id FROM serialized_dag WHERE dag_id IN (:a, :b)",
                                            a=DAG["events"], b=DAG["polling"])) == 2,
                    180,
                )  # fmt: skip
                stack.cli("dags", "unpause", DAG[mode])
                if mode == "polling":  # the first scheduled run (empty history) out of the way
                    stack.wait_for("the first polling run", lambda: stack.runs(DAG[mode]), 120)
                accepted: dict[str, float] = {}
                seen: dict[str, float] = {}
                interval = minutes * 60 / orders
                start = time.monotonic()
                deadline = start + minutes * 60 + timeout_min * 60

                def look() -> None:
                    with commerce.connect() as conn:
                        for (ext_id,) in conn.execute(text("SELECT ext_order_id FROM sales_order")):
                            seen.setdefault(ext_id, time.monotonic())

                for n in range(orders):
                    while time.monotonic() < start + n * interval:
                        look()
                        time.sleep(min(0.5, max(0.0, start + n * interval - time.monotonic())))
                    now = datetime.now(UTC)
                    order = ao.order(
                        order_id=f"113-{n + 1:07d}-{int(start) % 10_000_000:07d}",
                        created=now - timedelta(seconds=30), last_updated=now,
                    )  # fmt: skip
                    box.spapi("POST", "/_sandbox/orders", json=[order]).raise_for_status()
                    accepted[order["orderId"]] = time.monotonic()
                while len(set(accepted) & set(seen)) < orders and time.monotonic() < deadline:
                    look()
                    time.sleep(0.5)
                latencies = [seen[i] - accepted[i] for i in accepted if i in seen]
                arrivals = sorted(seen[i] for i in accepted if i in seen)
                burst = DEFAULT_PLANS["getOrder"].burst
                # after the burst, orders per hour from the first acceptance to the last arrival
                sustained = (len(arrivals) - burst) / (arrivals[-1] - start) * 3600 if len(arrivals) > burst else None
                runs = stack.runs(DAG[mode])
                return {
                    "mode": mode,
                    "orders": orders,
                    "arrived": len(latencies),
                    "p50_s": round(statistics.median(latencies), 1) if latencies else None,
                    "p95_s": round(percentile(latencies, 0.95), 1) if latencies else None,
                    "max_s": round(max(latencies), 1) if latencies else None,
                    "runs": len(runs),
                    "runs_failed": sum(r["state"] == "failed" for r in runs),
                    "placing_s": round(minutes * 60),
                    "rate_factor": rate_factor or 1,
                    "sustained_per_h": round(sustained) if sustained else None,
                }
            finally:
                stack.stop()
    finally:
        commerce.dispose()
        box.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_events", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["events", "polling", "both"], default="both")
    parser.add_argument("--orders", type=int, default=200, help="orders placed per mode (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=4, help="over this many minutes (default: %(default)s)")
    parser.add_argument(
        "--timeout-minutes", type=float, default=25, help="wait this long after the last order (default: %(default)s)"
    )
    parser.add_argument(
        "--rate-factor", type=float, help="scale the usage plans' rates (bursts as published) to check the bounds"
    )
    args = parser.parse_args(argv)
    modes = ["events", "polling"] if args.mode == "both" else [args.mode]
    for mode in modes:
        result = run_mode(mode, args.orders, args.minutes, args.timeout_minutes, args.rate_factor)
        print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    default, scaled = throughput_bounds(), throughput_bounds(10)
    print(
        f"sustained order changes/hour at the default usage plans: polling alone {default['polling']:.0f} "
        f"(searchOrders {DEFAULT_PLANS['searchOrders'].rate}/s × {PAGE} orders a page); event path alone "
        f"{default['events']:.0f} (getOrder {DEFAULT_PLANS['getOrder'].rate}/s); ×10 plans: {scaled['polling']:.0f} "
        f"and {scaled['events']:.0f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
