"""Staging: 10,000 generated orders validated, flattened and upserted into the channel tables.

Run from the project root: ``python -m bench.bench_staging [--orders 10000] [--runs 3]``.

Each run stages into a fresh channel database per dialect (SQLite in a
temporary file; MariaDB and PostgreSQL on the local servers, skipped when they
do not answer), in batches of 1,000 as ``stage_orders`` does: first into empty
tables, then the same orders again (a re-stage, all unchanged). Prints the
median wall time of each, the statements per 1,000 orders and the share of
time spent in ``flatten`` (validation included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from include import channel_db
from include.domain.buyer_data import BuyerDataCipher
from include.domain.import_rules import IMPORTABLE_STATUSES
from include.domain.staging import batched, flatten
from sandbox.credentials import PII_SANDBOX_KEY
from sandbox.generator import generate_orders
from sandbox.process import port_answers

#: Buyer columns and payloads are encrypted as stage_orders does it (the sandbox key).
CIPHER = BuyerDataCipher([PII_SANDBOX_KEY])
#: One database per process: several checkouts may benchmark on the same servers at once.
DATABASE = f"acs_bench_staging_{os.getpid()}"
SERVERS = {
    "mariadb": ("127.0.0.1", 3306, f"mysql+pymysql://root@127.0.0.1:3306/{DATABASE}"),
    "postgresql": ("127.0.0.1", 5432, f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DATABASE}"),
}


def _fresh(url: str, *, recreate: bool = True) -> str:
    """Empty the database of ``url`` (drop it, and unless told otherwise create it again)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        Path(u.database).unlink(missing_ok=True)
        return url
    admin_db = "postgres" if u.get_backend_name() == "postgresql" else "mysql"
    admin = create_engine(u.set(database=admin_db), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {u.database}"))
        if recreate:
            conn.execute(text(f"CREATE DATABASE {u.database}"))
    admin.dispose()
    return url


def stage_all(engine, orders: list[dict]) -> tuple[float, float, int]:
    """Seconds in total and in ``flatten``, and statements sent, staging ``orders`` in batches of 1,000."""
    started, in_flatten, statements = time.perf_counter(), 0.0, 0
    for batch in batched(orders, 1000):
        t0 = time.perf_counter()
        orders_df, items_df = flatten(batch)
        in_flatten += time.perf_counter() - t0
        staged, refused = channel_db.upsert_staged_isolating(
            engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER
        )
        assert not refused, refused
        statements += staged.statements
    return time.perf_counter() - started, in_flatten, statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    orders = [timeline[-1] for timeline in generate_orders(args.orders, 24, seed=7)]
    items = sum(len(order["orderItems"]) for order in orders)
    targets = {"sqlite": f"sqlite:///{tempfile.mkdtemp(prefix='acs-bench-')}/channel.db"}
    targets |= {name: url for name, (host, port, url) in SERVERS.items() if port_answers(host, port)}
    print(f"{len(orders):,} orders, {items:,} items, batches of 1,000, median of {args.runs} runs")
    print("| dialect | first stage | re-stage | statements per 1,000 | of which flatten |")
    print("|---|---|---|---|---|")
    for name, url in targets.items():
        first, again, flat, statements = [], [], [], 0
        for _ in range(args.runs):
            engine = create_engine(_fresh(url))
            channel_db.upgrade(engine)
            seconds, in_flatten, statements = stage_all(engine, orders)
            first.append(seconds)
            flat.append(in_flatten)
            again.append(stage_all(engine, orders)[0])
            engine.dispose()
        _fresh(url, recreate=False)
        per_batch = statements / max(1, -(-len(orders) // 1000))
        print(
            f"| {name} | {statistics.median(first):.2f} s | {statistics.median(again):.2f} s | "
            f"{per_batch:.0f} | {statistics.median(flat):.2f} s |"
        )


if __name__ == "__main__":
    main()
