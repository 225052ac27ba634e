"""Alerts for failed tasks, failed runs and runs that finish too late (Deadline Alerts).

:class:`OpsNotifier` is an Airflow notifier used three ways by the DAGs:

* ``on_failure_callback`` of every task (runs in the worker after the last retry),
* ``on_failure_callback`` of the DAG (runs in the DAG processor; only for runs that
  fail for another reason than a failed task, e.g. ``dagrun_timeout``, so one
  failure makes one alert),
* the callback of a ``DeadlineAlert`` (``AsyncCallback``: runs in the triggerer).

Every alert is one PII-free line — event, DAG, run, task, try, the exception type
and a scrubbed message — written to the task/processor/triggerer log and appended
as JSON to ``$AIRFLOW_HOME/logs/alerts.jsonl`` (or ``ACS_ALERTS_FILE``). That is
the default: logging only. When the Airflow connection ``alerts_smtp`` exists
(type ``smtp``; extra ``{"to": "ops@example.com", "from_email": "airflow@example.com"}``)
the alert is also e-mailed through the SMTP provider's ``SmtpNotifier``.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import AsyncCallback, BaseNotifier, DeadlineAlert, DeadlineReference

log = logging.getLogger(__name__)

ALERTS_CONN_ID = "alerts_smtp"
#: Minutes after a sync run is queued by which it must have finished (unset or 0: no Deadline Alert).
DEADLINE_ENV = "ACS_SYNC_DEADLINE_MINUTES"
#: DAG-level failure reasons that are already alerted per task (one failure, one alert).
ALERTED_PER_TASK = ("task_failure",)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")
_SECRET = re.compile(r"(?i)(token|password|secret|authorization)([\"']?\s*[:=]\s*[\"']?)[^\s,\"'}]+")


def run_deadline(env_var: str = DEADLINE_ENV) -> DeadlineAlert | None:
    """The DAG's Deadline Alert: the run must finish ``$ACS_SYNC_DEADLINE_MINUTES`` after it was queued.

    Off unless the variable is set (``scripts/airflow-ui`` sets 60; set it where your
    scheduler runs): in Airflow 3.3.2, ``dag.test()`` — and so ``airflow dags test`` —
    fails at the end of a successful run of a DAG that has a deadline (it looks the
    alerts up by id in its in-memory copy of the DAG). The scheduler is not affected.
    Fractions are allowed (tests use a few seconds).

    The UI shows the interval rounded ("Must complete within an hour of queue time" for
    anything from 45 to 89 minutes), followed by the alert's name, so the name carries
    the exact figure: pick whole hours or up to 44 minutes and both agree.
    """
    minutes = float(os.environ.get(env_var) or 0)
    if minutes <= 0:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(OpsNotifier),
        name=deadline_name(minutes),
    )


def deadline_name(minutes: float) -> str:
    """The Deadline Alert's name, shown in the UI after Airflow's rounded interval: the exact configured figure."""
    return f"{minutes:g} min after queued, {DEADLINE_ENV}"


def alerts_file() -> Path:
    """Where alerts are appended: ``ACS_ALERTS_FILE``, else ``$AIRFLOW_HOME/logs/alerts.jsonl``."""
    if os.environ.get("ACS_ALERTS_FILE"):
        return Path(os.environ["ACS_ALERTS_FILE"])
    home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(home) / "logs" / "alerts.jsonl"


def scrub(message: str, size: int = 300) -> str:
    """An error message safe to alert on: no e-mail addresses, query strings or secrets; one line, clipped."""
    text = _EMAIL.sub("<email>", str(message))
    text = _QUERY.sub(r"\1?…", text)
    text = _SECRET.sub(r"\1\2***", text)
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


@dataclass(frozen=True)
class Alert:
    """One alert, as logged, appended to the alerts file and e-mailed."""

    event: str  # task_failed | run_failed | deadline_missed
    dag_id: str | None
    run_id: str | None
    run_type: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    reason: str | None = None
    error: str | None = None
    deadline: str | None = None
    at: str = ""

    def line(self) -> str:
        """``ALERT <event> dag=… run=… [task=…] [try=…] [deadline=…] [reason=…] [error=…]``."""
        parts = [f"ALERT {self.event}", f"dag={self.dag_id}", f"run={self.run_id}"]
        if self.task_id:
            parts.append(
                f"task={self.task_id}"
                + (f"[{self.map_index}]" if self.map_index is not None and self.map_index >= 0 else "")
            )
        if self.try_number:
            parts.append(f"try={self.try_number}")
        for key in ("deadline", "reason", "error"):
            if getattr(self, key):
                parts.append(f"{key}={getattr(self, key)}")
        return " ".join(parts)

    def subject(self) -> str:
        what = {"task_failed": f"task {self.task_id} failed", "deadline_missed": "run not finished by its deadline"}
        return f"[Airflow] {self.dag_id}: {what.get(self.event, f'run failed ({self.reason})')}"


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def alert_from_context(context: dict[str, Any]) -> Alert:
    """Build the alert from a callback context (task, DAG or deadline callback)."""
    dag_run = context.get("dag_run")
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    base = {
        "dag_id": _get(dag_run, "dag_id") or _get(dag, "dag_id") or _get(ti, "dag_id"),
        "run_id": _get(dag_run, "run_id", "dag_run_id") or context.get("run_id") or _get(ti, "run_id"),
        "run_type": _str(_get(dag_run, "run_type")),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if context.get("deadline"):
        deadline = _get(context["deadline"], "deadline_time")
        when = deadline.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(deadline, datetime) else _str(deadline)
        return Alert("deadline_missed", deadline=when, **base)
    exception = context.get("exception")
    error = f"{type(exception).__name__}: {scrub(str(exception))}" if isinstance(exception, BaseException) else None
    if context.get("reason"):
        return Alert("run_failed", reason=str(context["reason"]), error=error, **base)
    return Alert(
        "task_failed",
        task_id=_get(ti, "task_id"),
        map_index=_get(ti, "map_index"),
        try_number=_get(ti, "try_number"),
        error=error,
        **base,
    )


def record(alert: Alert) -> None:
    """Log the alert line and append it as JSON to :func:`alerts_file`."""
    log.error("%s", alert.line())
    path = alerts_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(alert), sort_keys=True) + "\n")


def read_alerts(path: Path | None = None) -> list[dict[str, Any]]:
    """The alerts recorded so far (oldest first)."""
    path = path or alerts_file()
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _html(alert: Alert) -> str:
    rows = "".join(
        f"<tr><th align=left>{k}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in asdict(alert).items()
        if v not in (None, "")
    )
    return f"<p>{html.escape(alert.subject())}</p><table>{rows}</table><p>Runbook: docs/runbook.md in the project.</p>"


def _smtp_notifier(alert: Alert, extra: dict[str, Any], conn_id: str):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    to = extra.get("to")
    if not to:
        raise ValueError(f"connection {conn_id!r} has no 'to' in its extra: nobody to e-mail the alert to")
    return SmtpNotifier(
        to=to,
        from_email=extra.get("from_email"),
        subject=alert.subject(),
        html_content=_html(alert),
        smtp_conn_id=conn_id,
    )


class OpsNotifier(BaseNotifier):
    """Log every alert (and the alerts file); e-mail it too when the ``alerts_smtp`` connection exists.

    :param smtp_conn_id: the SMTP connection to e-mail through when it exists.
    :param context: set by Airflow when the notifier runs as a Deadline Alert callback.
    """

    template_fields = ()

    def __init__(self, *, smtp_conn_id: str = ALERTS_CONN_ID, context: dict | None = None):
        super().__init__(context=context)
        self.smtp_conn_id = smtp_conn_id

    def _alert(self, context: dict[str, Any]) -> Alert | None:
        alert = alert_from_context(context)
        if alert.event == "run_failed" and alert.reason in ALERTED_PER_TASK:
            return None
        record(alert)
        return alert

    def _smtp_extra(self) -> dict[str, Any] | None:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return BaseHook.get_connection(self.smtp_conn_id).extra_dejson or {}
        except AirflowNotFoundException:
            return None

    def notify(self, context: dict[str, Any]) -> None:
        alert = self._alert(context)
        extra = self._smtp_extra() if alert else None
        if alert and extra is not None:
            _smtp_notifier(alert, extra, self.smtp_conn_id).notify(context)
            log.info("alert e-mailed through connection %s", self.smtp_conn_id)

    async def async_notify(self, context: dict[str, Any]) -> None:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        alert = self._alert(context)
        if not alert:
            return
        try:
            extra = (await BaseHook.aget_connection(self.smtp_conn_id)).extra_dejson or {}
        except AirflowNotFoundException:
            return
        await _smtp_notifier(alert, extra, self.smtp_conn_id).async_notify(context)
        log.info("alert e-mailed through connection %s", self.smtp_conn_id)
