"""Run the pipeline end to end against the sandboxes, as an operator would (called by scripts/demo).

1. Start from a clean slate: the demo's channel DB, landing store and Commerce DB are recreated.
2. Start both sandboxes on the ports ``airflow_settings.yaml`` points at, the SP-API sandbox answering as
   the NA endpoint (the account ``default``: US, CA, MX, BR) and, on port 8783, as the EU endpoint, where a
   second seller is registered (the account ``eu``: UK, DE, FR, SE, PL, TR); each gets a seeded order history.
3. Enable the ``eu`` account for this run only, through the environment (``$AMAZON_ACCOUNTS_FILE``, its
   connection ``amazon_sp_api_eu`` and Variable ``amazon_order_settings_eu``; the shipped files stay as they
   are), and run ``amazon_order_sync`` and ``amazon_order_sync_eu`` with ``airflow dags test``.
4. Play the warehouse: ship a share of each account's imported merchant-fulfilled orders through the
   Commerce REST API (some partially, some in two packages), then run both accounts' tracking pushes.
5. Print what happened, per account and in Commerce: orders by fulfilment channel and outcome, customers,
   orders kept out with their reasons, packages confirmed to Amazon, and Commerce's e-mail log.
"""

from __future__ import annotations

import argparse
import json
import os
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
SPAPI_EU_PORT = 8783  # the `eu` account's endpoint, as in airflow_settings.yaml (commented out there)
LOG_DIR = LOCAL_DIR / "logs"
EU_SELLER, EU_TOKEN = "A1EUDEMOSELLER", "Atzr|sandbox-eu-refresh-token"
EU_MARKETPLACES = ["A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3",
                   "A33AVAJ2PDY3EV"]  # fmt: skip
#: The EU account's settings: its own store map (the store views --marketplace-stores opens), FBA import on.
EU_SETTINGS = {
    "customer_creation": "create", "fba_import": True,
    "store_by_marketplace": {"A1F83G8C2ARO7P": "amazon_uk", "A1PA6795UKMFR9": "amazon_de",
                             "A13V1IB3VIYZZH": "amazon_fr", "A2NODRKZP88ZB9": "amazon_se",
                             "A1C3SOZRARQ6R3": "amazon_pl", "A33AVAJ2PDY3EV": "amazon_tr"},
    "customer_stores": ["amazon_uk", "amazon_de", "amazon_se", "amazon_pl", "amazon_tr"],
}  # fmt: skip
ACCOUNTS = ("default", "eu")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="orders to generate (default: %(default)s)")
    parser.add_argument("--hours", type=float, default=24, help="hours of history (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default: %(default)s)")
    args = parser.parse_args()

    for port in (SPAPI_PORT, COMMERCE_PORT, SPAPI_EU_PORT):
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
            spapi_port=SPAPI_PORT, commerce_port=COMMERCE_PORT, spapi_eu_port=SPAPI_EU_PORT, stdout=sandbox_log,
        )  # fmt: skip
        try:
            enable_eu_account(box, orders=max(1, args.orders // 2), hours=args.hours, seed=args.seed + 1)
            start = datetime.now(UTC) - timedelta(hours=args.hours + 1)
            for account in ACCOUNTS:
                run_dag(dag_id("amazon_order_sync", account), {"window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ")})
            print("demo: the warehouse ships half of each account's unshipped merchant-fulfilled orders in Commerce")
            shipped = {
                account: json.loads(subprocess.run(
                    [sys.executable, "scripts/ship_some_orders.py", "--share", "0.5", "--seed", str(args.seed),
                     "--account", account],
                    check=True, capture_output=True, text=True,
                ).stdout)
                for account in ACCOUNTS
            }  # fmt: skip
            for account in ACCOUNTS:
                run_dag(dag_id("amazon_tracking_push", account), {})
            channel = create_engine(f"sqlite:///{LOCAL_DIR / 'channel.db'}")
            for account in ACCOUNTS:
                seller = {"seller": EU_SELLER} if account == "eu" else {}
                print(f"\n===== Account {account} =====")
                report_account(channel, account)
                report_tracking(
                    channel, account, shipped[account],
                    box.spapi("GET", "/_sandbox/shipment-confirmations", params=seller).json(),
                )  # fmt: skip
            print("\n===== Commerce (both accounts) =====")
            report_commerce(box.commerce("GET", "/_sandbox/notifications").json(), commerce_db)
            channel.dispose()
        finally:
            box.stop()
    return 0


def dag_id(base: str, account: str) -> str:
    return base if account == "default" else f"{base}_{account}"


def enable_eu_account(box, *, orders: int, hours: float, seed: int) -> None:
    """Register the EU seller in the sandbox with its order history, and enable the account ``eu`` for this
    process and its children through the environment (accounts file, connection, Variable) and its pool."""
    from sandbox import credentials

    seller = {"selling_partner_id": EU_SELLER, "refresh_token": EU_TOKEN, "region": "EU",
              "marketplace_ids": EU_MARKETPLACES}  # fmt: skip
    box.spapi("POST", "/_sandbox/sellers", json=seller).raise_for_status()
    box.spapi("POST", "/_sandbox/orders/generate", params={"seller": EU_SELLER},
              json={"count": orders, "hours": hours, "seed": seed}).raise_for_status()  # fmt: skip
    print(f"demo: EU seller {EU_SELLER} registered on port {SPAPI_EU_PORT} with {orders} generated orders")
    accounts = LOCAL_DIR / "demo-accounts.yaml"
    accounts.write_text(
        "accounts:\n"
        "  - {name: default, conn_id: amazon_sp_api, settings_variable: amazon_order_settings}\n"
        "  - {name: eu, conn_id: amazon_sp_api_eu, settings_variable: amazon_order_settings_eu}\n"
    )
    eu_url = f"http://127.0.0.1:{SPAPI_EU_PORT}"
    os.environ["AMAZON_ACCOUNTS_FILE"] = str(accounts)
    os.environ["AIRFLOW_CONN_AMAZON_SP_API_EU"] = json.dumps({
        "conn_type": "http", "host": eu_url,
        "extra": {"lwa_client_id": credentials.LWA_CLIENT_ID, "lwa_client_secret": credentials.LWA_CLIENT_SECRET,
                  "refresh_token": EU_TOKEN, "lwa_endpoint": eu_url + "/auth/o2/token"},
    })  # fmt: skip  (no marketplace_ids: they come from the Sellers API)
    os.environ["AIRFLOW_VAR_AMAZON_ORDER_SETTINGS_EU"] = json.dumps(EU_SETTINGS)
    subprocess.run(  # the pool amazon_sp_api_eu, as scripts/setup makes it for every account of the file
        [sys.executable, "scripts/load_airflow_settings.py", "airflow_settings.yaml"], check=True, capture_output=True
    )


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


def report_account(channel: Engine, account: str) -> None:
    """One account's channel orders, high-water mark and orders kept out with their reasons."""
    kept_out = channel_db.quarantine(channel, account=account)
    print(summary_text(channel, account))
    print("Why orders were kept out (retried with growing delays, then left for an operator):")
    by_reason: dict[str, list[str]] = {}
    for order in kept_out:
        by_reason.setdefault(order.reason, []).append(order.amazon_order_id)
    for reason, ids in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
        print(f"  {len(ids):3} × {reason}\n        e.g. {', '.join(ids[:3])}{more}")


def report_commerce(notifications: list[dict], commerce_db: str) -> None:
    """Commerce's side: orders per store view and state, customers, e-mails."""
    commerce = create_engine(commerce_db)
    with commerce.connect() as conn:
        states = Counter(dict(conn.execute(text("SELECT state, COUNT(*) FROM sales_order GROUP BY state")).all()))
        customers = conn.execute(text("SELECT COUNT(*) FROM customer_entity")).scalar()
        by_store = conn.execute(text(
            "SELECT s.code, COUNT(*) FROM sales_order o JOIN store s ON s.store_id = o.store_id GROUP BY s.code"
        )).all()  # fmt: skip
    print(f"Commerce orders by state: {', '.join(f'{s} {n}' for s, n in sorted(states.items())) or 'none'}")
    print(f"Commerce orders by store view: {', '.join(f'{s} {n}' for s, n in sorted(by_store)) or 'none'}")
    print(f"Commerce customers created: {customers}")
    kinds = Counter(n["type"] for n in notifications)
    about_orders = sum(n for kind, n in kinds.items() if kind != "new_account")
    print(f"Commerce e-mails about orders, invoices or shipments: {about_orders} (Amazon e-mails buyers, not Commerce)")
    print(
        f"Commerce welcome e-mails for new accounts: {kinds['new_account']} "
        "(accounts are created in store views with e-mails disabled)"
    )
    commerce.dispose()


def report_tracking(channel: Engine, account: str, shipped: dict, confirmations: list[dict]) -> None:
    """What an account's tracking push did: packages per outcome, channel statuses, problems."""
    pushes = channel_db.push_counts(channel, account=account)
    problems = channel_db.push_problems(channel, account=account)
    with channel.connect() as conn:
        statuses = dict(
            conn.execute(
                text(
                    "SELECT channel_status, COUNT(*) FROM channel_order WHERE fulfilled_by = 'MERCHANT' "
                    "AND account = :account AND channel_status IN ('PartiallyShipped', 'Shipped') "
                    "GROUP BY channel_status"
                ),
                {"account": account},
            ).all()
        )
    print(f"Tracking push ({dag_id('amazon_tracking_push', account)})")
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
