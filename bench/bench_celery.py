"""Scale-out benchmark: Commerce imports on a Celery deployment with one worker, then two.

Run from the project root: ``python -m bench.bench_celery`` (``--help`` for options; needs PostgreSQL and
Redis on 127.0.0.1, as ``scripts/airflow-celery``).

For each Commerce latency in ``--latency-ms`` (50 and 200 ms) and each worker count in ``--workers`` (1, 2) it
starts fresh sandboxes with ``--orders`` (5,000) new importable Amazon orders (``bench.bench_sync``'s seeded
timelines), a fresh Celery deployment (``sandbox.airflow_stack.start_stack``: scheduler, DAG processor,
triggerer, API server, N workers; throwaway PostgreSQL databases for the metadata and the channel DB; a
Redis queue of its own) with the ``commerce_api`` pool sized for the workers (``--slots-per-worker``, 2), and
runs one manual ``amazon_order_sync`` over the orders. Each worker runs up to ``slots-per-worker`` tasks
(Celery concurrency), so one more worker adds its slots, not CPU contention on the same worker.

Figures per case: Commerce calls (counted by the sandbox), the import phase's wall time (first
``import_orders`` start to last end, from the metadata DB), calls in flight (pool slots ×
``commerce_concurrency``), the bound ``calls × latency ÷ calls in flight`` and wall ÷ bound, and per latency
the speed-up of two workers over one.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.bench_sync import importable_timelines
from sandbox.airflow_stack import start_stack
from sandbox.process import start_sandbox

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"


def _database(name: str, *, drop: bool = False) -> str:
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{PG}/{name}"


def run_case(
    orders: int, *, latency_ms: float, workers: int, slots_per_worker: int, concurrency: int, chunk_size: int,
    seed: int, workdir: Path,
) -> dict:  # fmt: skip
    folder = workdir / f"w{workers}-l{latency_ms:g}"
    folder.mkdir()
    tag = f"{os.getpid()}_{workers}_{int(latency_ms)}"
    metadata, channel = _database(f"acs_bench_meta_{tag}"), _database(f"acs_bench_channel_{tag}")
    box = start_sandbox(f"sqlite:///{folder / 'commerce.db'}", "--rate-limits", "scaled", "--rate-factor", "2000")
    stack = None
    try:
        timelines = importable_timelines(orders, seed, hours=6)
        for start in range(0, len(timelines), 250):
            versions = [v for t in timelines[start : start + 250] for v in t]
            box.spapi("POST", "/_sandbox/orders", json=versions, timeout=300).raise_for_status()
        connections = box.airflow_connections()
        connections["COMMERCE_API"]["extra"]["max_connections"] = concurrency * slots_per_worker * workers
        settings = {
            "fba_import": True, "commerce_concurrency": concurrency, "chunk_size": chunk_size,
            "landing_uri": (folder / "landing").as_uri(),
        }  # fmt: skip
        slots = slots_per_worker * workers
        stack = start_stack(
            folder, metadata, connections, channel_url=channel, workers=workers, worker_concurrency=slots_per_worker,
            AIRFLOW__CORE__PARALLELISM=str(2 * slots + 4), AIRFLOW_VAR_AMAZON_ORDER_SETTINGS=json.dumps(settings),
        )  # fmt: skip
        stack.cli("pools", "set", "commerce_api", str(slots), "Commerce writers (benchmark)")
        stack.wait_for(
            "the DAG", lambda: stack.query("SELECT 1 FROM serialized_dag WHERE dag_id = 'amazon_order_sync'"), 180
        )
        stack.cli("dags", "unpause", "amazon_order_sync")
        box.commerce("PUT", "/_sandbox/faults", json={"latency_ms": latency_ms}).raise_for_status()
        calls_before = box.commerce("GET", "/_sandbox/faults").json()["requests"]
        since = (datetime.now(UTC) - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        stack.cli(
            "dags", "trigger", "amazon_order_sync", "--run-id", "bench", "--conf", json.dumps({"window_start": since})
        )
        started = time.monotonic()
        stack.wait_for(
            "the run",
            lambda: stack.query("SELECT 1 FROM dag_run WHERE run_id = 'bench' AND state IN ('success', 'failed')"),
            3600,
        )
        run_wall = time.monotonic() - started
        [run] = stack.query("SELECT state FROM dag_run WHERE run_id = 'bench'")
        calls = box.commerce("GET", "/_sandbox/faults").json()["requests"] - calls_before
        [span] = stack.query(
            "SELECT MIN(start_date) AS first, MAX(end_date) AS last, COUNT(*) AS tasks, "
            "COUNT(DISTINCT hostname) AS hosts FROM task_instance WHERE run_id = 'bench' AND state = 'success' "
            "AND task_id IN ('merchant_fulfilled.import_orders', 'fulfilled_by_amazon.import_orders')"
        )
    finally:
        if stack:
            stack.stop()
        box.stop()
    engine = create_engine(channel)
    with engine.connect() as conn:
        imported = conn.execute(text("SELECT COUNT(*) FROM channel_order WHERE import_status = 'imported'")).scalar()
    engine.dispose()
    _database(f"acs_bench_meta_{tag}", drop=True)
    _database(f"acs_bench_channel_{tag}", drop=True)
    load_wall = (span["last"] - span["first"]).total_seconds()
    in_flight = slots * concurrency
    bound = calls * latency_ms / 1000 / in_flight
    return {
        "latency_ms": latency_ms, "workers": workers, "pool_slots": slots, "in_flight": in_flight,
        "run_state": run["state"], "orders": orders, "imported": imported, "import_tasks": span["tasks"],
        "worker_hosts": span["hosts"], "commerce_calls": calls, "load_wall_s": round(load_wall, 1),
        "bound_s": round(bound, 1), "ratio": round(load_wall / bound, 2), "run_wall_s": round(run_wall, 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--latency-ms", default="50,200", help="comma-separated (default: %(default)s)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default: %(default)s)")
    parser.add_argument("--slots-per-worker", type=int, default=2, help="commerce_api slots per worker (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="commerce_concurrency (default: %(default)s)")
    parser.add_argument("--chunk-size", type=int, default=100, help="orders per mapped task (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp:
        for latency in (float(v) for v in args.latency_ms.split(",")):
            for workers in (int(v) for v in args.workers.split(",")):
                row = run_case(
                    args.orders, latency_ms=latency, workers=workers, slots_per_worker=args.slots_per_worker,
                    concurrency=args.concurrency, chunk_size=args.chunk_size, seed=args.seed, workdir=Path(tmp),
                )  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\n{args.orders:,} orders, commerce_concurrency {args.concurrency}, chunks of {args.chunk_size}, "
          f"{args.slots_per_worker} pool slots per worker, {os.cpu_count()} CPUs")  # fmt: skip
    print(
        "| latency | workers | pool slots | calls in flight | Commerce calls | import wall | bound | ratio | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    one = {}
    for r in rows:
        if r["workers"] == 1:
            one[r["latency_ms"]] = r["load_wall_s"]
        speedup = one.get(r["latency_ms"], 0) / r["load_wall_s"] if r["workers"] > 1 and r["load_wall_s"] else None
        print(
            f"| {r['latency_ms']:g} ms | {r['workers']} | {r['pool_slots']} | {r['in_flight']} | {r['commerce_calls']:,} "
            f"| {r['load_wall_s']} s | {r['bound_s']} s | {r['ratio']} | {f'{speedup:.2f}×' if speedup else '-'} |"
        )


if __name__ == "__main__":
    main()
