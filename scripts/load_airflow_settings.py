"""Load an Astro-CLI-style airflow_settings.yaml into the current Airflow metadata DB.

The Astro CLI does this with ``astro dev start``; it is not available here, so
``scripts/setup`` calls this instead. Existing objects with the same id are
replaced, so running it twice is harmless. Every seller account of the accounts file
(``include/accounts.yaml`` or ``$AMAZON_ACCOUNTS_FILE``) also gets its SP-API pool
(``amazon_sp_api_<name>``, 1 slot) unless the YAML defines it.

Usage: python scripts/load_airflow_settings.py airflow_settings.yaml
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml


def _expand(value):
    return os.path.expandvars(value) if isinstance(value, str) else value


def account_pools(defined: list[dict]) -> list[dict]:
    """Pool specs for the accounts whose SP-API pool the YAML does not define (one slot: one seller's quota)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from include.adapters.accounts import load_accounts

    names = {spec["pool_name"] for spec in defined}
    return [
        {"pool_name": account.pool, "pool_slot": 1,
         "pool_description": f"Serialises SP-API quota users of seller account {account.name}"}
        for account in load_accounts() if account.pool not in names
    ]  # fmt: skip


def load(path: Path) -> dict[str, int]:
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    settings = (yaml.safe_load(path.read_text()) or {}).get("airflow", {})
    settings["pools"] = [*(settings.get("pools") or []), *account_pools(settings.get("pools") or [])]
    with create_session() as session:
        for spec in settings.get("connections") or []:
            extra = spec.get("conn_extra")
            conn = Connection(
                conn_id=spec["conn_id"],
                conn_type=spec["conn_type"],
                host=_expand(spec.get("conn_host")),
                login=_expand(spec.get("conn_login")),
                password=_expand(spec.get("conn_password")),
                port=spec.get("conn_port"),
                schema=_expand(spec.get("conn_schema")),
                extra=json.dumps(extra) if isinstance(extra, dict) else _expand(extra),
            )
            session.query(Connection).filter(Connection.conn_id == conn.conn_id).delete()
            session.add(conn)
        for spec in settings.get("pools") or []:
            session.query(Pool).filter(Pool.pool == spec["pool_name"]).delete()
            session.add(
                Pool(
                    pool=spec["pool_name"],
                    slots=int(spec["pool_slot"]),
                    description=spec.get("pool_description"),
                    include_deferred=False,
                )
            )
        for spec in settings.get("variables") or []:
            session.query(Variable).filter(Variable.key == spec["variable_name"]).delete()
            session.add(Variable(key=spec["variable_name"], val=_expand(spec.get("variable_value"))))
    counts = {k: len(settings.get(k) or []) for k in ("connections", "pools", "variables")}
    print("loaded " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" from {path}")
    return counts


if __name__ == "__main__":
    load(Path(sys.argv[1] if len(sys.argv) > 1 else "airflow_settings.yaml"))
