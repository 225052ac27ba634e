"""What this project's DAGs share: task defaults (owner, retries with exponential backoff, a timeout,
alerts) and the manual-run params both DAGs offer in the trigger form.

The trigger form (Airflow 3.3) marks a param required ("*") whenever its schema's
``type`` does not admit ``null``, whatever its default; every param here is
optional, so every type admits ``null``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from airflow.sdk import Param

from include.adapters.alerts import OpsNotifier

log = logging.getLogger(__name__)

OWNER = "commerce-ops"
#: The DAGs that take these params (the trigger-form error plugin only rewrites their errors); another account's
#: DAGs have these ids with ``_<account>`` appended (include/adapters/accounts.py).
DAG_IDS = ("amazon_order_sync", "amazon_tracking_push")


def base_dag_id(dag_id: str, bases: Iterable[str] = DAG_IDS) -> str | None:
    """The one of ``bases`` (default :data:`DAG_IDS`) that ``dag_id`` is, for any account (None: none of them)."""
    for base in bases:
        if dag_id == base or dag_id.startswith(f"{base}_"):
            return base
    return None


def task_defaults(*, execution_timeout: timedelta) -> dict[str, Any]:
    """``default_args`` for a DAG: 3 retries from 30 s doubling up to 10 min; a failed last try alerts."""
    return {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": execution_timeout,
        "on_failure_callback": OpsNotifier(),
    }


#: An Amazon order id (3-7-7 digits), as the trigger form validates each line: blank lines and spaces
#: around an id are allowed (a pasted list often ends with a newline) and dropped by :func:`order_ids`.
AMAZON_ORDER_ID = r"^\s*([0-9]{3}-[0-9]{7}-[0-9]{7})?\s*$"
#: The same rule in words, for the form's description and for its error.
AMAZON_ORDER_ID_RULE = (
    "An Amazon order id is three groups of 3, 7 and 7 digits joined by hyphens, e.g. 113-1234567-1234567."
)
#: Params that only a single run honours: a backfill run reads its own data interval, whatever they say.
SINGLE_RUN_PARAMS = (
    "window_start", "window_end", "shipments_since", "shipments_until", "amazon_order_ids", "resend_refused",
)  # fmt: skip
SINGLE_RUN_ONLY = "Single runs only: backfill runs ignore it."
ALSO_IN_BACKFILLS = "Also applies to every run of a backfill."


def timestamp_param(title: str, description: str) -> Param:
    """An optional ISO 8601 timestamp in the trigger form (single runs only)."""
    return Param(
        None, type=["null", "string"], format="date-time", title=title, description=f"{description} {SINGLE_RUN_ONLY}"
    )


def amazon_order_ids_param(description: str) -> Param:
    """An optional list of Amazon order ids (one per line in the trigger form; single runs only)."""
    return Param(
        [], type=["null", "array"], items={"type": "string", "pattern": AMAZON_ORDER_ID}, title="Amazon order ids",
        description=f"{description} One id per line. {AMAZON_ORDER_ID_RULE} {SINGLE_RUN_ONLY}",
    )  # fmt: skip


def dry_run_param(description: str) -> Param:
    """The dry-run switch (optional: off unless set; backfill runs honour it too)."""
    return Param(False, type=["boolean", "null"], title="Dry run", description=f"{description} {ALSO_IN_BACKFILLS}")


def resend_refused_param() -> Param:
    """The tracking push's switch to send the chosen orders' refused packages again (single runs only)."""
    return Param(
        False, type=["boolean", "null"], title="Send refused packages again",
        description="With 'Amazon order ids': also send these orders' packages Amazon refused (e.g. once the order "
        f"is fixed on Amazon); otherwise a refused package is sent again only when it changes. {SINGLE_RUN_ONLY}",
    )  # fmt: skip


def order_ids(params: Mapping[str, Any]) -> list[str]:
    """The ``amazon_order_ids`` param as sorted, distinct ids (blank lines and surrounding spaces dropped)."""
    return sorted({i.strip() for i in params.get("amazon_order_ids") or [] if i and i.strip()})


def run_params(params: Mapping[str, Any] | None, run_type: str | None) -> tuple[dict[str, Any], list[str]]:
    """The params that apply to this run, and the names of those it ignores.

    A backfill run ignores the single-run params (window, shipment window, order ids):
    the backfill dialog offers them, but each backfill run must read its own data
    interval. ``dry_run`` applies to backfill runs too.
    """
    params = dict(params or {})
    if str(getattr(run_type, "value", run_type)) != "backfill":
        return params, []
    ignored = sorted(key for key in SINGLE_RUN_PARAMS if params.get(key))
    if ignored:
        log.warning("backfill run: ignoring the single-run params %s", ", ".join(ignored))
    return {k: v for k, v in params.items() if k not in ignored}, ignored


def order_ids_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid ``amazon_order_ids`` param, as a sentence for the operator (None: it is valid)."""
    if value is None:
        return None
    if not isinstance(value, list):
        return "Amazon order ids: put one id per line. " + AMAZON_ORDER_ID_RULE
    bad = [v for v in value if not (isinstance(v, str) and re.match(AMAZON_ORDER_ID, v))]
    if not bad:
        return None
    shown = ", ".join(f'"{" ".join(str(v).split())}"' for v in bad[:5]) + (
        f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    )
    verb = "is not an Amazon order id" if len(bad) == 1 else "are not Amazon order ids"
    return f"Amazon order ids: {shown} {verb}. {AMAZON_ORDER_ID_RULE} Put one id per line."
