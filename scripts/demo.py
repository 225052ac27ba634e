"""Run the pipeline end to end against the sandboxes, as an operator would (called by scripts/demo).

1. Start from a clean slate: the demo's channel DB, landing store and Commerce DB are recreated.
2. Start both sandboxes on the ports ``airflow_settings.yaml`` points at, with a seeded order history.
3. Run ``amazon_order_sync`` with ``airflow dags test`` over the whole history.
4. Play the warehouse: ship a share of the imported merchant-fulfilled orders through the
   Commerce REST API (some partially, some in two packages), then run ``amazon_tracking_push``.
5. Print what happened on both sides: orders by fulfilment channel and outcome, customers,
   orders kept out with their reasons, packages confirmed to Amazon, and Commerce's e-mail log.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, create_engine, text

from include import channel_db
from include.adapters.paths import LOCAL_DIR, PROJECT_ROOT
from include.ops.report import summary_text
from sandbox.process import start_sandbox

SPAPI_PORT, COMMERCE_PORT = 8781, 8782  # as in airflow_settings.yaml
LOG_DIR = LOCAL_DIR / "logs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="orders to generate (default: %(default)s)")
    parser.add_argument("--hours", type=float, default=24, help="hours of history (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default: %(default)s)")
    args = parser.parse_args()

    for port in (SPAPI_PORT, COMMERCE_PORT):
        if not _port_free(port):
            sys.exit(f"demo: port {port} is in use (is another sandbox or demo running?)")
    for path in (LOCAL_DIR / "channel.db", LOCAL_DIR / "commerce.db"):
        path.unlink(missing_ok=True)
    shutil.rmtree(LOCAL_DIR / "landing", ignore_errors=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)

    commerce_db = f"sqlite:///{LOCAL_DIR / 'commerce.db'}"
    print(f"demo: starting the sandboxes with {args.orders} generated orders over {args.hours:g} h (seed {args.seed})")
    with open(LOG_DIR / "sandbox.log", "w") as sandbox_log:
        box = start_sandbox(
            commerce_db, "--seed", str(args.seed), "--orders", str(args.orders), "--hours", str(args.hours),
            "--marketplace-stores",
            spapi_port=SPAPI_PORT, commerce_port=COMMERCE_PORT, stdout=sandbox_log,
        )  # fmt: skip
        try:
            start = datetime.now(UTC) - timedelta(hours=args.hours + 1)
            run_dag("amazon_order_sync", {"window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ")})
            print("demo: the warehouse ships half of the unshipped merchant-fulfilled orders in Commerce")
            shipped = subprocess.run(
                [sys.executable, "scripts/ship_some_orders.py", "--share", "0.5", "--seed", str(args.seed)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            run_dag("amazon_tracking_push", {})
            channel = create_engine(f"sqlite:///{LOCAL_DIR / 'channel.db'}")
            report(channel, box.commerce("GET", "/_sandbox/notifications").json(), commerce_db)
            report_tracking(
                channel, json.loads(shipped.stdout), box.spapi("GET", "/_sandbox/shipment-confirmations").json()
            )
            channel.dispose()
        finally:
            box.stop()
    return 0


def run_dag(dag_id: str, conf: dict) -> None:
    """``airflow dags test`` with its log in .local/logs; exits with the log's tail when the run fails."""
    log_path = LOG_DIR / f"{dag_id}.log"
    print(f"demo: airflow dags test {dag_id} (log: {log_path.relative_to(PROJECT_ROOT)})")
    with open(log_path, "w") as log:
        result = subprocess.run(
            ["airflow", "dags", "test", dag_id, "-c", json.dumps(conf)], stdout=log, stderr=subprocess.STDOUT
        )
    tail = log_path.read_text().splitlines()
    if result.returncode != 0 or not any("state=success" in line for line in tail[-5:]):
        print("\n".join(tail[-40:]))
        sys.exit(f"demo: {dag_id} did not succeed; see {log_path}")


def report(channel: Engine, notifications: list[dict], commerce_db: str) -> None:
    """A readable summary of both sides."""
    commerce = create_engine(commerce_db)
    kept_out = channel_db.quarantine(channel)
    with commerce.connect() as conn:
        states = Counter(dict(conn.execute(text("SELECT state, COUNT(*) FROM sales_order GROUP BY state")).all()))
        customers = conn.execute(text("SELECT COUNT(*) FROM customer_entity")).scalar()
    print("\n" + summary_text(channel))
    print(f"\nCommerce orders by state: {', '.join(f'{s} {n}' for s, n in sorted(states.items())) or 'none'}")
    print(f"Commerce customers created: {customers}")
    kinds = Counter(n["type"] for n in notifications)
    about_orders = sum(n for kind, n in kinds.items() if kind != "new_account")
    print(f"Commerce e-mails about orders, invoices or shipments: {about_orders} (Amazon e-mails buyers, not Commerce)")
    print(
        f"Commerce welcome e-mails for new accounts: {kinds['new_account']} "
        "(accounts are created in store views with e-mails disabled)"
    )
    print("\nWhy orders were kept out (retried with growing delays, then left for an operator):")
    by_reason: dict[str, list[str]] = {}
    for order in kept_out:
        by_reason.setdefault(order.reason, []).append(order.amazon_order_id)
    for reason, ids in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
        print(f"  {len(ids):3} × {reason}\n        e.g. {', '.join(ids[:3])}{more}")
    commerce.dispose()


def report_tracking(channel: Engine, shipped: dict, confirmations: list[dict]) -> None:
    """What the tracking push did: packages per outcome, channel statuses, problems."""
    pushes = channel_db.push_counts(channel)
    problems = channel_db.push_problems(channel)
    with channel.connect() as conn:
        statuses = dict(
            conn.execute(
                text(
                    "SELECT channel_status, COUNT(*) FROM channel_order WHERE fulfilled_by = 'MERCHANT' "
                    "AND channel_status IN ('PartiallyShipped', 'Shipped') GROUP BY channel_status"
                )
            ).all()
        )
    print("\nTracking push")
    print(f"  warehouse shipments in Commerce: {json.dumps(shipped.get('shipped', shipped))}")
    print(f"  packages by outcome: {', '.join(f'{k} {v}' for k, v in sorted(pushes.items())) or 'none'}")
    print(f"  confirmShipment calls Amazon accepted: {len(confirmations)}")
    print(f"  channel orders now: {', '.join(f'{k} {v}' for k, v in sorted(statuses.items())) or 'none'}")
    for problem in problems[:10]:
        print(
            f"  {problem['amazon_order_id']} package {problem['package_reference_id']}: {problem.get('status')} {problem.get('last_error') or ''}"
        )


def _port_free(port: int) -> bool:
    try:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
