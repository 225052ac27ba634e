"""What this project's DAGs share: task defaults (owner, retries with exponential backoff, a timeout,
alerts) and the manual-run params both DAGs offer in the trigger form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param

from include.alerts import OpsNotifier

OWNER = "commerce-ops"


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


#: An Amazon order id (3-7-7 digits), as the trigger form validates it.
AMAZON_ORDER_ID = r"^[0-9]{3}-[0-9]{7}-[0-9]{7}$"


def timestamp_param(title: str, description: str) -> Param:
    """An optional ISO 8601 timestamp in the trigger form."""
    return Param(None, type=["null", "string"], format="date-time", title=title, description=description)


def amazon_order_ids_param(description: str) -> Param:
    """A list of Amazon order ids (one per line in the trigger form)."""
    return Param(
        [], type="array", items={"type": "string", "pattern": AMAZON_ORDER_ID}, title="Amazon order ids",
        description=description,
    )  # fmt: skip


def dry_run_param(description: str) -> Param:
    """The dry-run switch."""
    return Param(False, type="boolean", title="Dry run", description=description)
