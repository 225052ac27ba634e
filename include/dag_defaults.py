"""What every task of this project's DAGs shares: an owner, retries with exponential backoff, a timeout, alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
