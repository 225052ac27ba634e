"""Retries that match the error: a permanent error fails the task at once, a transient one keeps the backoff.

Task bodies (``include/tasks/order_sync.py``, ``include/tasks/tracking_push.py``) are wrapped
in :func:`fail_fast_on_permanent_errors`. Errors that no retry can fix — a
settings Variable that does not validate, an SP-API 4xx other than 429 (such as
``400 InvalidInput``), a Commerce 4xx such as refused credentials — become
Airflow's ``AirflowFailException``: the task fails on its first try with the
reason, and the alert says so. Everything else (5xx, 429 after the clients'
own retries, timeouts, connection errors, the channel database being down, a
bug) propagates unchanged and is retried with the DAG's exponential backoff.

Per-order problems never get here: they are recorded on the order and the task
goes on (see ``order_sync.import_chunk`` and ``staging.flatten``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class PermanentError(RuntimeError):
    """Raised by a task body for a failure no retry can fix (for example Amazon refusing our credentials)."""


def permanent_reason(exc: BaseException) -> str | None:
    """Why ``exc`` is permanent (a sentence for the task log and the alert), or None if a retry may help."""
    from include.clients.amazon.errors import SpApiError
    from include.clients.commerce.errors import CommerceClientError
    from include.clients.transport import InsecureEndpoint
    from include.domain.settings import SettingsError

    if isinstance(exc, PermanentError):
        return str(exc)
    if isinstance(exc, SettingsError):
        return f"invalid settings: {exc}"
    if isinstance(exc, InsecureEndpoint):
        return f"insecure connection: {exc}"
    if isinstance(exc, SpApiError) and not exc.retryable:
        return f"Amazon refused the request: {exc}"
    if isinstance(exc, CommerceClientError):
        return f"Commerce refused the request: {exc}"
    return None


def fail_fast_on_permanent_errors(task_body: Callable[P, R]) -> Callable[P, R]:
    """Run ``task_body``; a permanent error becomes ``AirflowFailException`` (no retries), others pass through."""

    @functools.wraps(task_body)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return task_body(*args, **kwargs)
        except Exception as exc:
            reason = permanent_reason(exc)
            if reason is None:
                raise
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{reason} — permanent, not retried") from exc

    return run
