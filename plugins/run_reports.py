"""Run reports in the UI: every finished run of our DAGs gets a note with its counts and the orders kept out.

A DAG-run listener (Airflow listeners run where the run's state changes: the
scheduler, or ``dag.test()``). When an ``amazon_order_sync``,
``amazon_order_events``, ``amazon_tracking_push`` or ``amazon_pii_retention`` run (of any account) succeeds, its ``summarize`` task's return value is
rendered by :mod:`include.ops.report` and stored as the run's note, which the Grid
view shows for the selected run; it links to that task's XCom for the complete
lists of orders kept out (Airflow keeps a note to 1,000 characters). A failed run gets a note naming the failed
tasks. A note an operator typed when triggering the run is kept above the report.

Tasks cannot set their own run's note (the Task SDK has no API for it), which is
why this lives in a listener, inside the session that records the run's state.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

log = logging.getLogger(__name__)

#: The task whose return value is a run's summary; an event run that stopped after receiving (no order to fetch)
#: has only its ``receive_notifications`` result.
SUMMARY_TASKS = ("summarize", "receive_notifications")
#: First lines of the notes we write: anything from there on is ours and replaced on a re-run.
REPORT_HEADINGS = (
    "**Order sync**", "**Order events**", "**Tracking push**", "**Buyer data retention**", "**Run failed**"
)  # fmt: skip


def _summary(dag_run: DagRun, session) -> tuple[str, dict] | None:
    """The task that summarised the run (the first of :data:`SUMMARY_TASKS` with a result) and its result."""
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    for task_id in SUMMARY_TASKS:
        row = session.scalar(
            select(XComModel).where(
                XComModel.dag_id == dag_run.dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == task_id,
                XComModel.map_index == -1,
                XComModel.key == "return_value",
            )
        )
        value = XComModel.deserialize_value(row) if row is not None else None
        if isinstance(value, dict):
            return task_id, value
    return None


def _merge(existing: str | None, report: str, limit: int) -> str:
    """The operator's own note (if any) above our report, within the note column's size."""
    lines = (existing or "").splitlines()
    for index, line in enumerate(lines):
        if line.startswith(REPORT_HEADINGS):
            lines = lines[:index]
            break
    own = "\n".join(lines).strip()
    if not own:
        return report[:limit]
    room = limit - len(report) - 2
    if room < 20:
        return report[:limit]
    return f"{own[:room]}\n\n{report}"


def write_report(dag_run: DagRun, *, failed: bool, reason: str = "") -> str | None:
    """Set the run's note from its summary (or its failed tasks); returns the note, None for other DAGs.

    Uses the session the run is attached to (the scheduler's, so the note is committed
    with the state change); a detached run (``dag.test()``) is updated in a session of its own.
    """
    from airflow.models.dagrun import DagRun as DagRunModel
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    from include.ops import report

    if report.note_renderer(dag_run.dag_id) is None:
        return None
    session = object_session(dag_run)
    if session is not None:
        return _write(dag_run, session, failed=failed, reason=reason)
    with create_session() as own:
        attached = own.scalar(
            select(DagRunModel).where(DagRunModel.dag_id == dag_run.dag_id, DagRunModel.run_id == dag_run.run_id)
        )
        return _write(attached, own, failed=failed, reason=reason) if attached is not None else None


def _write(dag_run: DagRun, session, *, failed: bool, reason: str) -> str | None:
    from airflow.configuration import conf

    from include.ops import report

    if failed:
        failed_tasks = sorted({ti.task_id for ti in dag_run.get_task_instances(state=["failed"], session=session)})
        note = report.failure_note(dag_run.dag_id, reason, failed_tasks)
    else:
        found = _summary(dag_run, session)
        if found is None:
            return None
        task_id, summary = found
        # The note links to the summarize task's XCom, which has the complete lists the note can only start.
        base_url = conf.get("api", "base_url", fallback="") or ""
        list_url = report.xcom_url(dag_run.dag_id, dag_run.run_id, task_id, base_url=base_url)
        note = report.note_renderer(dag_run.dag_id)(summary, list_url=list_url)
    dag_run.note = _merge(dag_run.note, note, report.NOTE_LIMIT)
    return dag_run.note


class RunReportListener:
    """Writes the run report note when one of our DAG runs finishes."""

    @hookimpl
    def on_dag_run_success(self, dag_run: DagRun, msg: str) -> None:
        try:
            write_report(dag_run, failed=False)
        except Exception:
            log.exception("could not write the run report of %s %s", dag_run.dag_id, dag_run.run_id)

    @hookimpl
    def on_dag_run_failed(self, dag_run: DagRun, msg: str) -> None:
        try:
            write_report(dag_run, failed=True, reason=msg or "failed")
        except Exception:
            log.exception("could not write the failure note of %s %s", dag_run.dag_id, dag_run.run_id)


class RunReportsPlugin(AirflowPlugin):
    """Registers :class:`RunReportListener`."""

    name = "amazon_commerce_run_reports"
    listeners = [RunReportListener()]
