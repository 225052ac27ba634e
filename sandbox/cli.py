"""``python -m sandbox serve``: run the SP-API and Commerce sandboxes in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging

import uvicorn


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="start both sandboxes",
        description="Start the local Amazon SP-API and Adobe Commerce sandboxes. "
        "Both answer GET /_sandbox/health with 200 once ready.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    serve.add_argument(
        "--spapi-port",
        type=int,
        default=8781,
        help="SP-API (and LWA) port; the NA endpoint when --spapi-eu-port or --spapi-fe-port is given, "
        "else one endpoint for every region (default: %(default)s)",
    )
    serve.add_argument("--spapi-eu-port", type=int, help="also answer as the EU endpoint (SP-API and LWA) here")
    serve.add_argument("--spapi-fe-port", type=int, help="also answer as the FE endpoint (SP-API and LWA) here")
    serve.add_argument("--commerce-port", type=int, default=8782, help="Commerce REST port (default: %(default)s)")
    serve.add_argument(
        "--commerce-db",
        default="sqlite:///.local/commerce.db",
        help="SQLAlchemy URL of the Commerce database, created if missing (default: %(default)s)",
    )
    serve.add_argument(
        "--seed",
        type=int,
        default=None,
        help="generate a seeded order history on start (with --orders and --hours); none by default",
    )
    serve.add_argument("--orders", type=int, default=200, help="orders to generate with --seed (default: %(default)s)")
    serve.add_argument(
        "--hours", type=float, default=24, help="hours of history to generate with --seed (default: %(default)s)"
    )
    serve.add_argument(
        "--marketplace-stores",
        action="store_true",
        help="also open a Commerce store view for every other marketplace the generator sells on "
        "(BR, UK, DE, FR, SE, PL, TR, JP; what the demo and airflow_settings.yaml map)",
    )
    serve.add_argument(
        "--rate-limits",
        choices=["off", "default", "scaled"],
        default="default",
        help="SP-API usage plans: off, the published defaults, or scaled by --rate-factor (default: %(default)s)",
    )
    serve.add_argument(
        "--rate-factor",
        type=float,
        default=1.0,
        help="multiplier on the usage-plan rates in scaled mode (bursts stay as published)",
    )
    serve.add_argument(
        "--sqs-port",
        type=int,
        help="start a local Amazon SQS (moto server mode) here; ORDER_CHANGE notifications go to its queues",
    )
    serve.add_argument(
        "--notify-duplicates",
        type=float,
        default=0.1,
        help="share of ORDER_CHANGE messages delivered twice (default: %(default)s)",
    )
    serve.add_argument(
        "--notify-delayed",
        type=float,
        default=0.1,
        help="share of ORDER_CHANGE messages delayed by 1..--notify-max-delay s (default: %(default)s)",
    )
    serve.add_argument(
        "--notify-max-delay", type=int, default=5, help="longest delay in seconds (default: %(default)s)"
    )
    serve.add_argument(
        "--notify-seed", type=int, default=0, help="seed of the delivery behaviour (default: %(default)s)"
    )
    serve.add_argument("--log-level", default="warning", help="uvicorn log level (default: %(default)s)")
    endpoints = sub.add_parser(
        "endpoints",
        help="print the Commerce sandbox's Magento endpoints (the table in docs/commerce-sandbox.md)",
        description="Print the Markdown table of the Magento REST routes the Commerce sandbox serves.",
    )
    action = endpoints.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the table in docs/commerce-sandbox.md")
    action.add_argument("--check", action="store_true", help="exit 1 when docs/commerce-sandbox.md is out of date")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    from sandbox.commerce.app import create_app as create_commerce_app
    from sandbox.spapi.app import SpApiState
    from sandbox.spapi.app import create_app as create_spapi_app
    from sandbox.spapi.notifications import Delivery, Notifications
    from sandbox.spapi.rate_limits import RateLimiter
    from sandbox.sqs import LocalSqs

    regional = {"EU": args.spapi_eu_port, "FE": args.spapi_fe_port}
    regional = {region: port for region, port in regional.items() if port}
    # One state (sellers, clock, usage plans) behind every region's endpoint; each endpoint has its own faults.
    sqs = LocalSqs(args.host, args.sqs_port) if args.sqs_port else None
    if sqs is not None:
        sqs.start()
    delivery = Delivery(args.notify_duplicates, args.notify_delayed, args.notify_max_delay, args.notify_seed)
    notifications = Notifications(sqs_endpoint=sqs.endpoint if sqs else None, delivery=delivery, sqs=sqs)
    state = SpApiState(limiter=RateLimiter(args.rate_limits, args.rate_factor), notifications=notifications)
    if regional:  # the built-in seller is then the NA endpoint's seller (US, CA, MX, BR)
        state.sellers.confine_builtin("NA")
    spapi = [
        (create_spapi_app(seed=args.seed, orders=args.orders, hours=args.hours, state=state,
                          region="NA" if regional else None), args.spapi_port),
        *((create_spapi_app(region=region, state=state), port) for region, port in regional.items()),
    ]  # fmt: skip
    commerce = create_commerce_app(db_url=args.commerce_db, marketplace_stores=args.marketplace_stores)
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=args.host, port=port, log_level=args.log_level, access_log=False))
        for app, port in (*spapi, (commerce, args.commerce_port))
    ]
    await asyncio.gather(*(server.serve() for server in servers))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(args, "log_level", "warning").upper())
    if args.command == "serve":
        asyncio.run(_serve(args))
    elif args.command == "endpoints":
        from sandbox.commerce.endpoints_doc import DOC_PATH, endpoint_table, sync_doc

        if args.write:
            print(f"{DOC_PATH}: {'up to date' if sync_doc(write=True) else 'rewritten'}")
        elif args.check:
            current = sync_doc(write=False)
            print(f"{DOC_PATH}: {'up to date' if current else 'out of date (python -m sandbox endpoints --write)'}")
            return 0 if current else 1
        else:
            print(endpoint_table())
    return 0
