"""The Airflow UI as an operator meets it, in headless Chromium, on a real Airflow.

Every component runs as a subprocess on a throwaway PostgreSQL metadata DB (the
``airflow_stack`` fixture, as ``test_backfill.py`` and ``scripts/airflow-ui`` run
them); ``tests/ui_browser.cjs`` drives Debian's chromium through playwright-core
and reports what the pages show. Checked:

* both trigger forms, Single Run and Backfill: no param is marked required, each
  says whether backfill runs use it, the order-id format is spelt out;
* a malformed order id is refused with a sentence, not a JSON-schema dump;
* the empty form triggers a sync; that run and the scheduled one changed nothing,
  so they start no tracking push (``announce_changes`` skipped, no asset event),
  while a sync that imports an order does;
* the DAG list's tooltip, the deadline as configured, the run note's link to the
  complete lists; every Airflow socket on 127.0.0.1.

Chromium, Node.js and playwright-core are installed by ``scripts/browser-deps`` when
missing; where that is impossible the test skips and says why. About 90 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import amazon_orders as ao
from tests.conftest import PROJECT_ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.scheduler,
    pytest.mark.postgres,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="runs Airflow components as POSIX process groups"),
]

SYNC, PUSH = "amazon_order_sync", "amazon_tracking_push"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
NODE_MODULES = PROJECT_ROOT / ".local" / "node" / "node_modules"
START_TIMEOUT_S = 90
RUN_TIMEOUT_S = 90


def _browser_missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM}"
    if not shutil.which("node"):
        return "no node on PATH"
    if not (NODE_MODULES / "playwright-core" / "package.json").is_file():
        return f"no playwright-core in {NODE_MODULES}"
    return None


@pytest.fixture(scope="module")
def browser() -> dict[str, str]:
    """The environment to run ``tests/ui_browser.cjs`` in; installs what is missing, or skips saying what is."""
    if missing := _browser_missing():
        try:
            done = subprocess.run(
                [str(PROJECT_ROOT / "scripts" / "browser-deps")], capture_output=True, text=True, timeout=600
            )
            output = (done.stdout + done.stderr).strip()[-600:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            output = str(exc)
        if still := _browser_missing():
            pytest.skip(
                f"headless Chromium unavailable ({missing}); scripts/browser-deps could not fix it: {still}. {output}"
            )
    return {**os.environ, "NODE_PATH": str(NODE_MODULES), "CHROMIUM": str(CHROMIUM)}


def in_browser(env: dict[str, str], command: str, **args) -> dict:
    done = subprocess.run(
        ["node", str(PROJECT_ROOT / "tests" / "ui_browser.cjs"), command, json.dumps(args)],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, f"ui_browser.cjs {command} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def params_of(fields: list[dict], dag) -> dict[str, dict]:
    titles = {dag.params.get_param(key).schema["title"]: key for key in dag.params}
    shown = {titles[f["label"]]: f for f in fields if f["label"] in titles}
    assert sorted(shown) == sorted(titles.values()), fields  # every param is in the form
    return shown


def api_up(ui: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{ui}/api/v2/monitor/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def listening_sockets(stack) -> list[tuple[str, str, int]]:
    """(process, address, port) of every listening TCP socket of the stack's processes and their children."""
    import psutil

    found = []
    for root in stack.processes.values():
        for process in [psutil.Process(root.pid), *psutil.Process(root.pid).children(recursive=True)]:
            try:
                for conn in process.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN:
                        found.append((process.name(), conn.laddr.ip, conn.laddr.port))
            except psutil.NoSuchProcess:
                pass
    return found


def test_trigger_forms_a_refused_order_id_and_a_sync_that_changed_nothing(browser, airflow_stack, sandbox):
    from airflow.dag_processing.dagbag import DagBag

    dags = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).dags
    # Both DAGs unpaused as soon as parsed: the scheduler starts each one's latest scheduled run at once.
    stack = airflow_stack(ACS_SYNC_DEADLINE_MINUTES="60", AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False")
    ui = stack.env["AIRFLOW__API__BASE_URL"]
    stack.wait_for(
        "both DAGs serialised",
        lambda: len(stack.query("SELECT dag_id FROM serialized_dag WHERE dag_id IN (:a, :b)", a=SYNC, b=PUSH)) == 2,
        START_TIMEOUT_S,
    )
    stack.wait_for("the API server", lambda: api_up(ui), START_TIMEOUT_S)
    passwords = stack.home / "simple_auth_manager_passwords.json.generated"  # written by the API server
    login = {"ui": ui, "user": "admin", "password": json.loads(passwords.read_text())["admin"]}

    seen = in_browser(
        browser, "forms", **login, dags=[SYNC, PUSH], sync=SYNC, malformed=["113-1234567-1234567", "113-123"]
    )

    # 1. Only truly required fields are marked: none of our params (they all have defaults), in either form.
    for dag_id in (SYNC, PUSH):
        for form in ("single", "backfill"):
            fields = seen["forms"][dag_id][form]
            assert [f["label"] for f in fields if f["required"]] == [], (dag_id, form, fields)
            shown = params_of(fields, dags[dag_id])
            # 8. Each param says whether backfill runs use it, in the backfill dialog too.
            for key, field in shown.items():
                expected = "Also applies to every run of a backfill." if key == "dry_run" else "backfill runs ignore it"
                assert expected in field["help"], (dag_id, form, key, field)
            # 2. The order-id format in plain words.
            assert "One id per line. An Amazon order id is three groups of 3, 7 and 7 digits joined by hyphens, " \
                   "e.g. 113-1234567-1234567." in shown["amazon_order_ids"]["help"]  # fmt: skip

    # 2. A malformed id is refused at once, in a sentence.
    assert seen["refusal"].splitlines()[0] == "400 Bad Request"
    assert seen["refusal"].splitlines()[-1] == (
        'Amazon order ids: "113-123" is not an Amazon order id. An Amazon order id is three groups of 3, 7 and 7 '
        "digits joined by hyphens, e.g. 113-1234567-1234567. Put one id per line."
    )
    assert "Failed validating" not in seen["refusal"] and "[0-9]" not in seen["refusal"]

    # 3. The sync triggered from the empty form, and the scheduled one, read an empty sandbox: nothing changed in
    # Commerce, so neither announces it and no tracking push starts (the push's own timer may still run it).
    triggered = seen["triggered_run_id"]
    stack.wait_for(
        "the scheduled and the triggered sync to finish",
        lambda: (
            {r["run_id"]: r["state"] for r in stack.runs(SYNC)}.get(triggered) == "success"
            and all(r["state"] in ("success", "failed") for r in stack.runs(SYNC))
        ),
        RUN_TIMEOUT_S,
    )
    quiet = stack.runs(SYNC)
    assert [r["state"] for r in quiet] == ["success"] * len(quiet), quiet

    def announced(run_id: str) -> str | None:
        [row] = stack.query(
            "SELECT state FROM task_instance WHERE dag_id = :d AND run_id = :r AND task_id = 'announce_changes'",
            d=SYNC, r=run_id,
        )  # fmt: skip
        return row["state"]

    assert [announced(r["run_id"]) for r in quiet] == ["skipped"] * len(quiet)
    assert stack.query("SELECT id FROM asset_event WHERE source_dag_id = :d", d=SYNC) == []
    assert stack.runs(PUSH, "asset_triggered") == []

    # ... while a sync that imports an order announces it, and the push follows (so the silence above is real).
    # (Its second order has an unknown SKU: kept out, so the run's note links to the complete lists.)
    updated = datetime.now(UTC) - timedelta(minutes=5)
    orders = [
        ao.order(*items, order_id=order_id, created=updated - timedelta(minutes=5), last_updated=updated)
        for order_id, items in (("111-0000401-0000001", ()), ("111-0000401-0000002", (ao.line("NOT-IN-CATALOG"),)))
    ]
    sandbox.spapi("POST", "/_sandbox/orders", json=orders).raise_for_status()
    control = "manual__imports_one_order"
    stack.cli("dags", "trigger", SYNC, "--run-id", control)
    stack.wait_for(
        "a tracking push started by the sync's asset event", lambda: stack.runs(PUSH, "asset_triggered"), RUN_TIMEOUT_S
    )
    assert announced(control) == "success"
    assert len(stack.runs(PUSH, "asset_triggered")) == 1

    # 4-6. The DAG list's tooltip, the deadline as configured, the note's link to the complete lists.
    note = lambda: next(r["note"] for r in stack.runs(SYNC) if r["run_id"] == control)  # noqa: E731
    stack.wait_for("the note of the sync that imported", note, 30)
    assert "kept out 1 of 2 orders read" in note()
    pages = in_browser(browser, "pages", **login, push=PUSH, sync=SYNC, run_id=control)
    assert "every 30 minutes" in pages["push_tooltip"]
    # the popover may also list an upcoming scheduled run above the deadline (when a 15-minute boundary just passed)
    deadline = pages["deadline"][pages["deadline"].index("Must complete within") :]
    assert (
        " ".join(deadline.split())
        == "Must complete within an hour of queue time (60 min after queued, ACS_SYNC_DEADLINE_MINUTES)"
    )
    assert pages["note_link"] == f"{ui}/dags/{SYNC}/runs/{control}/tasks/summarize/xcom"
    assert {"kept_out_this_run", "kept_out_earlier"} <= set(pages["xcom_keys"])

    # 7. Every socket the stack listens on is on 127.0.0.1: the API server and both log servers.
    sockets = listening_sockets(stack)
    ports = {int(stack.env[k]) for k in ("AIRFLOW__API__PORT", "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
                                         "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT")}  # fmt: skip
    assert ports <= {port for _, _, port in sockets}, sockets
    assert {address for _, address, _ in sockets} == {"127.0.0.1"}, sockets
