"""Buyer data keys: re-encrypt everything stored under the first key of ``amazon_pii_key``.

Rotating the key (README, Data protection):

1. put the new key first in the connection's password (``new,old``): new data is
   encrypted with it, old data still decrypts;
2. ``python -m include.ops.pii reencrypt``: every channel order's buyer columns and
   payload, and every landing page, are stored again under the new key (clear text
   written before encryption existed is encrypted too);
3. remove the old key from the connection.

Run it with the project environment (``source scripts/env.sh``); it reads the
``channel_db`` and ``amazon_pii_key`` connections and the settings Variable
(``landing_uri``, ``landing_conn_id``) as the tasks do. Re-running it is harmless.
It prints counts, never data.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from include.adapters.hooks.outside_tasks import export_connections


def _landing() -> tuple[str, str | None]:
    """The landing store of the settings Variable (read as ``python -m include.ops.report settings`` does)."""
    from airflow.models.variable import Variable

    from include.adapters.landing import default_landing_uri
    from include.domain.settings import VARIABLE_KEY, parse_settings

    settings = parse_settings(Variable.get(VARIABLE_KEY, default_var=None))
    return settings.landing_uri or default_landing_uri(), settings.landing_conn_id


def reencrypt(landing_uri: str | None = None, landing_conn_id: str | None = None) -> tuple[int, int]:
    """Re-encrypt the channel DB and the landing store under the first key; returns (orders, pages)."""
    from include import channel_db
    from include.adapters.hooks.channel_db import channel_engine
    from include.adapters.hooks.pii_key import buyer_cipher
    from include.adapters.landing import landed_pages, rewrite_page
    from include.channel_db.buyer_data import reencrypt as reencrypt_orders

    export_connections("channel_db", "amazon_pii_key")
    cipher = buyer_cipher()
    if landing_uri is None:
        landing_uri, landing_conn_id = _landing()
    if landing_conn_id:
        export_connections(landing_conn_id)
    engine = channel_engine()
    try:
        channel_db.require_current(engine)
        orders = reencrypt_orders(engine, cipher)
    finally:
        engine.dispose()
    pages = sum(
        rewrite_page(page, cipher, lambda _orders: None, rotate=True)
        for page in landed_pages(landing_uri, landing_conn_id)
    )
    return orders, pages


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.ops.pii", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    re_ = sub.add_parser("reencrypt", help="store all buyer data again under the first key of amazon_pii_key")
    re_.add_argument("--landing-uri", help="the landing store (default: the settings Variable's landing_uri)")
    re_.add_argument("--landing-conn-id", help="its connection (s3://), with --landing-uri")
    args = parser.parse_args(argv)
    from include.adapters.task_failures import PermanentError

    try:
        orders, pages = reencrypt(args.landing_uri, args.landing_conn_id)
    except PermanentError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"re-encrypted under the first key of amazon_pii_key: {orders} channel orders, {pages} landing pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
