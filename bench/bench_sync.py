"""Commerce load benchmark: does amazon_order_sync keep the configured concurrency busy?

Run from the project root: ``python -m bench.bench_sync`` (``--help`` for options).

For each size in ``--orders`` it starts fresh sandboxes, stores that many new,
importable Amazon orders (seeded generator timelines ending UNSHIPPED,
PARTIALLY_SHIPPED or SHIPPED, MFN and FBA, catalogue SKUs only), makes the
Commerce sandbox answer every call after ``--latency-ms`` (50 ms), and runs the
real DAG with ``airflow dags test`` on a throwaway Airflow home, as an operator
would. SP-API usage plans are scaled ×2000 (searchOrders 11 requests/s, which the
client learns from ``x-amzn-RateLimit-Limit``): extraction is benchmarked
separately (``bench.bench_extraction``); here it would only add quota waits.

Figures per size:

* Commerce calls, counted by the sandbox;
* the import phase's wall time (the ``import_orders`` and ``apply_amazon_changes``
  task instances, start of the first to end of the last);
* the bound ``calls × latency ÷ concurrency``: the least time any client needs
  with that many calls in flight, each taking the injected latency; the ratio
  wall ÷ bound is the figure of merit (target ≤ 1.3);
* the peak RSS of the process that ran the tasks, sampled every 0.1 s (``dag.test``
  runs them in-process, so this covers extraction, staging and loads): it should stay flat
  as the window grows, since pages are streamed and loads are chunked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text

from sandbox.catalog import UNKNOWN_SKUS
from sandbox.generator import generate_orders
from sandbox.process import PROJECT_ROOT, start_sandbox

IMPORTABLE = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}


def importable_timelines(count: int, seed: int, hours: float) -> list[list[dict]]:
    """``count`` generated order timelines that end importable and sell only known SKUs."""
    chosen: list[list[dict]] = []
    batch = 0
    until = datetime.now(UTC) - timedelta(minutes=5)  # all history inside the window, which ends at now − 2 min
    while len(chosen) < count:
        for timeline in generate_orders(count * 2, hours, seed + batch, until):
            last = timeline[-1]
            skus = {(i.get("product") or {}).get("sellerSku") for i in last.get("orderItems", [])}
            status = (last.get("fulfillment") or {}).get("fulfillmentStatus")
            has_address = bool((last.get("recipient") or {}).get("deliveryAddress"))
            if status in IMPORTABLE and not skus & UNKNOWN_SKUS and has_address:
                chosen.append(timeline)
                if len(chosen) == count:
                    break
        batch += 1
    return chosen


def run_once(count: int, *, latency_ms: float, concurrency: int, chunk_size: int, seed: int, workdir: Path) -> dict:
    home = workdir / f"airflow-{count}"
    home.mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    box = start_sandbox(
        f"sqlite:///{workdir / f'commerce-{count}.db'}", "--rate-limits", "scaled", "--rate-factor", "2000"
    )
    try:
        timelines = importable_timelines(count, seed, hours=6)
        for start in range(0, len(timelines), 250):
            versions = [v for t in timelines[start : start + 250] for v in t]
            box.spapi("POST", "/_sandbox/orders", json=versions, timeout=300).raise_for_status()
        channel_db = workdir / f"channel-{count}.db"
        connections = box.airflow_connections()
        connections["COMMERCE_API"]["extra"]["max_connections"] = concurrency
        env.update({f"AIRFLOW_CONN_{key}": json.dumps(conn) for key, conn in connections.items()})
        env.update(
            AIRFLOW_CONN_CHANNEL_DB=json.dumps({"conn_type": "sqlite", "host": str(channel_db)}),
            AIRFLOW_VAR_AMAZON_ORDER_SETTINGS=json.dumps(
                {
                    "fba_import": True,
                    "commerce_concurrency": concurrency,
                    "chunk_size": chunk_size,
                    "landing_uri": (workdir / f"landing-{count}").as_uri(),
                }
            ),
        )
        box.commerce("PUT", "/_sandbox/faults", json={"latency_ms": latency_ms}).raise_for_status()
        calls_before = box.commerce("GET", "/_sandbox/faults").json()["requests"]
        conf = {"window_start": (datetime.now(UTC) - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        started = time.monotonic()
        log_path = workdir / f"dag-{count}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", "dags", "test", "amazon_order_sync", "-c", json.dumps(conf)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            peak_rss = _watch_rss(process)
        wall = time.monotonic() - started
        output = log_path.read_text()
        if process.returncode != 0 or "state=success" not in output[-3000:]:
            sys.exit(f"the DAG run failed:\n{output[-4000:]}")
        calls = box.commerce("GET", "/_sandbox/faults").json()["requests"] - calls_before
    finally:
        box.stop()
    meta = create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with meta.connect() as conn:
        first, last = conn.execute(
            text(
                "SELECT MIN(start_date), MAX(end_date) FROM task_instance WHERE dag_id = 'amazon_order_sync' "
                "AND task_id IN ('merchant_fulfilled.import_orders', 'fulfilled_by_amazon.import_orders', "
                "'merchant_fulfilled.apply_amazon_changes')"
            )
        ).one()
    load_wall = (_parse(last) - _parse(first)).total_seconds()
    with create_engine(f"sqlite:///{channel_db}").connect() as conn:
        imported = conn.execute(text("SELECT COUNT(*) FROM channel_order WHERE import_status = 'imported'")).scalar()
    bound = calls * latency_ms / 1000 / concurrency
    return {
        "orders": count,
        "imported": imported,
        "commerce_calls": calls,
        "dag_wall_s": round(wall, 1),
        "load_wall_s": round(load_wall, 1),
        "bound_s": round(bound, 1),
        "ratio": round(load_wall / bound, 2),
        "peak_rss_mib": round(peak_rss / 2**20),
    }


def _watch_rss(process: subprocess.Popen) -> int:
    """Wait for ``process``, sampling the resident memory of it and its children; returns the peak in bytes."""
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            procs = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.1)
    return peak


def _parse(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", default="1000,5000", help="comma-separated sizes (default: %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=50, help="Commerce latency per call (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=16, help="commerce_concurrency (default: %(default)s)")
    parser.add_argument("--chunk-size", type=int, default=500, help="orders per mapped task (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        for count in (int(n) for n in args.orders.split(",")):
            row = run_once(
                count, latency_ms=args.latency_ms, concurrency=args.concurrency, chunk_size=args.chunk_size,
                seed=args.seed, workdir=Path(tmp),
            )  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\nlatency {args.latency_ms:g} ms, concurrency {args.concurrency}, chunks of {args.chunk_size}")
    print(
        "| orders | imported | Commerce calls | load wall | bound (calls × latency ÷ concurrency) | ratio | whole DAG | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['orders']:,} | {r['imported']:,} | {r['commerce_calls']:,} | {r['load_wall_s']} s | {r['bound_s']} s "
            f"| {r['ratio']} | {r['dag_wall_s']} s | {r['peak_rss_mib']} MiB |"
        )


if __name__ == "__main__":
    main()
