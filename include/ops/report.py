"""Run reports and the quarantine view: what an operator reads instead of the task logs.

* :func:`sync_note` / :func:`push_note` render a run's summary (the ``summarize``
  task's return value) as a short markdown note; the ``run_reports`` listener in
  ``plugins/`` puts it on the DAG run, where the UI shows it above the Grid.
* ``python -m include.ops.report quarantine`` lists every order currently kept out of
  Commerce with its reason; ``python -m include.ops.report summary`` prints the
  channel totals. Both read the channel database through the ``channel_db``
  Airflow connection (run them with the project environment: ``source scripts/env.sh``).
  ``python -m include.ops.report connections`` uses each connection once (after a
  credential rotation); ``python -m include.ops.report settings '<json>'`` validates
  proposed settings and lists what they change.

Nothing here prints buyer data: reasons are written PII-free by the importer.
``python -m include.ops.report order <id>`` shows one order's state; only
``--show-buyer`` decrypts its buyer data (with the ``amazon_pii_key`` connection).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine

from include import channel_db
from include.adapters.hooks.outside_tasks import export_connections
from include.channel_db.buyer_data import purged_order_count
from include.domain.retry_policy import WAITS_FOR_OPERATOR, RetryPolicy
from include.domain.settings import VARIABLE_KEY

#: ``dag_run_note.content`` is VARCHAR(1000) on PostgreSQL/MySQL metadata databases.
NOTE_LIMIT = 1000
QUARANTINE_HINT = "`python -m include.ops.report quarantine`"
CHANNEL_LABELS = {"MERCHANT": "MFN", "AMAZON": "FBA"}
#: Outcome order in reports (anything else follows alphabetically).
OUTCOME_ORDER = ("imported", "healed", "updated", "held_at_import", "held", "released", "canceled", "refunded",
                 "unchanged", "failed", "customers_created")  # fmt: skip


def _outcomes_line(outcomes: dict[str, int]) -> str:
    keys = [k for k in OUTCOME_ORDER if k in outcomes] + sorted(k for k in outcomes if k not in OUTCOME_ORDER)
    shown = [f"{k.replace('_', ' ')} {outcomes[k]}" for k in keys if outcomes[k] or k == "failed"]
    return " · ".join(shown) or "nothing to load"


def _totals_line(totals: dict[str, dict[str, int]]) -> str:
    parts = []
    for channel, statuses in sorted(totals.items()):
        inner = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
        parts.append(f"{CHANNEL_LABELS.get(channel, channel)}: {inner}")
    return " · ".join(parts) or "no orders yet"


def _fit(head: list[str], listed: list[str], total: int, tail: list[str], limit: int, more: str = "") -> str:
    """Head, as many listed lines as fit in ``limit`` characters (then "… and N more" and ``more``), then the tail."""

    def more_line(n: int) -> list[str]:
        return [f"  - … and {n} more{more}"] if n else []

    shown: list[str] = []
    for line in listed:
        candidate = "\n".join([*head, *shown, line, *more_line(total - len(shown) - 1), *tail])
        if len(candidate) > limit:
            break
        shown.append(line)
    text = "\n".join([*head, *shown, *more_line(total - len(shown)), *tail])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip(text: str, size: int = 160) -> str:
    """One line of at most ``size`` characters; the middle goes, so the end (e.g. the SKUs) stays readable."""
    text = " ".join(str(text).split())
    if len(text) <= size:
        return text
    tail = min(60, size // 3)
    return text[: size - tail - 1] + "…" + text[-tail:]


def xcom_url(dag_id: str, run_id: str, task_id: str = "summarize", base_url: str = "") -> str:
    """The UI page with a task's XCom in one run (``base_url``: Airflow's ``[api] base_url``; empty: root-relative)."""
    return f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{task_id}/xcom"


def _lists_link(list_url: str | None) -> str:
    return f"[summarize → XCom]({list_url})" if list_url else "the summarize task's XCom"


def sync_note(summary: dict[str, Any], *, list_url: str | None = None, limit: int = NOTE_LIMIT) -> str:
    """The markdown note of one ``amazon_order_sync`` run (at most ``limit`` characters).

    The UI shows a note's first line in the run header, so that line carries the
    headline numbers; the rest shows when the note is opened. Orders kept out are
    told apart: those among this run's orders (listed, as many as fit) and all those
    still kept out, most from earlier runs and retried by every run; ``list_url``
    links to the complete lists (the ``summarize`` task's XCom).
    """
    if summary.get("amazon_order_ids"):
        scope = "orders " + ", ".join(summary["amazon_order_ids"][:5])
        if len(summary["amazon_order_ids"]) > 5:
            scope += f" (+{len(summary['amazon_order_ids']) - 5})"
    elif summary.get("window"):
        scope = f"window {summary['window']['start']} → {summary['window']['end']}"
    else:
        scope = "no window"
    staged = summary.get("staged") or {}
    outcomes = summary.get("outcomes") or {}
    this_run = summary.get("kept_out_this_run") or []
    counts = summary.get("kept_out") or {}
    kept_now, earlier = counts.get("this_run", len(this_run)), counts.get("earlier", 0)
    retried = min(counts.get("earlier_retried", 0), int(outcomes.get("failed", 0)))
    headline = [
        f"{k} {outcomes[k]}"
        for k in ("imported", "healed", "updated", "held", "released", "canceled", "refunded")
        if outcomes.get(k)
    ]
    set_aside = int(summary.get("rejected_count", 0))
    read = staged.get("orders", 0) + set_aside  # every landed order: staged, or set aside as malformed
    headline += [f"kept out {kept_now} of {read} orders read", f"{kept_now + earlier} kept out overall"]
    head = [
        f"**Order sync**{_account_label(summary)}{' (dry run)' if summary.get('dry_run') else ''}: "
        f"{' · '.join(headline)} ({scope})",
        f"- Amazon: {read} orders read — new {staged.get('new', 0)}, "
        f"updated {staged.get('updated', 0)}, unchanged {staged.get('unchanged', 0)}"
        + (f", set aside as malformed {set_aside}" if set_aside else ""),
        f"- Commerce: {_outcomes_line(outcomes)}"
        + (f" ({retried} of the failed were retries of orders kept out by earlier runs)" if retried else ""),
    ]
    if summary.get("not_found"):
        head.append(f"- Not found on Amazon: {', '.join(summary['not_found'][:5])}")
    if summary.get("ignored_params"):
        head.append(
            f"- Backfill run: ignored {', '.join(summary['ignored_params'])} (single-run params); read its own interval"
        )
    if kept_now:
        head.append(f"- Kept out, this run's orders ({kept_now}):")
    listed = [f"  - `{k['amazon_order_id']}` {_clip(k['reason'], 120)}{_tries(k)}" for k in this_run]
    if kept_now + earlier:
        waiting = int(counts.get("waiting_for_operator", 0))
        overall = (
            f"- Still kept out overall: {kept_now + earlier}"
            + (f" ({earlier} from earlier runs)" if earlier else "")
            + ", retried with growing delays"
            + (f" ({waiting} {WAITS_FOR_OPERATOR.replace('waits', 'wait')})" if waiting else "")
            + f"; all with reasons, tries and next try: {_lists_link(list_url)}"
        )
    else:
        overall = "- Kept out overall: none"
    tail = [overall, f"- Channel totals: {_totals_line(summary.get('channel_totals') or {})}"]
    return _fit(head, listed, kept_now, tail, limit, " (all in the list below)")


def _tries(entry: dict[str, Any]) -> str:
    """`` (try 2 · next 11-26 08:50)`` for a failed import in a kept-out list; empty for the others."""
    if not entry.get("attempts"):
        return ""
    next_try = str(entry.get("next_try") or "")
    if next_try[:1].isdigit():  # an ISO time: month, day, hour and minute are enough in a note
        next_try = f"next {next_try[5:10]} {next_try[11:16]}"
    return f" (try {entry['attempts']} · {next_try})"


def push_note(summary: dict[str, Any], *, list_url: str | None = None, limit: int = NOTE_LIMIT) -> str:
    """The markdown note of one ``amazon_tracking_push`` run (at most ``limit`` characters)."""
    if summary.get("amazon_order_ids"):
        scope = "orders " + ", ".join(summary["amazon_order_ids"][:5])
    elif summary.get("window"):
        scope = f"shipments {summary['window']['start']} → {summary['window']['end']}"
    else:
        scope = "no window"
    packages = summary.get("packages") or {}
    headline = " · ".join(f"{k} {packages[k]}" for k in ("confirmed", "failed", "refused") if k in packages)
    head = [
        f"**Tracking push**{_account_label(summary)}{' (dry run)' if summary.get('dry_run') else ''}: "
        f"packages {headline or 'none'}, "
        f"orders completed {summary.get('orders_completed', 0)} ({scope})",
        "- Packages: " + (" · ".join(f"{k} {v}" for k, v in packages.items()) or "none"),
        f"- Orders: shipped {summary.get('orders_shipped', 0)}, partially shipped "
        f"{summary.get('orders_partially_shipped', 0)}, completed in Commerce {summary.get('orders_completed', 0)}",
    ]
    problems = [*(summary.get("problems") or []), *(summary.get("completion_problems") or [])]
    if problems:
        head.append(f"- Problems ({len(problems)}):")
    listed = [
        f"  - `{p.get('amazon_order_id', '?')}` {_clip(p.get('reason') or p.get('last_error') or p.get('status') or '')}"
        for p in problems
    ]
    if summary.get("ignored_params"):
        head.insert(1, f"- Backfill run: ignored {', '.join(summary['ignored_params'])} (single-run params)")
    totals = (summary.get("channel_totals") or {}).get("packages") or {}
    tail = ["- All packages: " + (", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "none")]
    return _fit(head, listed, len(problems), tail, limit, f"; all of them: {_lists_link(list_url)}")


def retention_note(summary: dict[str, Any], *, list_url: str | None = None, limit: int = NOTE_LIMIT) -> str:
    """The markdown note of one ``amazon_pii_retention`` run: how many orders lost their buyer data, per account."""
    accounts = summary.get("accounts") or {}
    lines = [f"**Buyer data retention**: purged {summary.get('orders_purged', 0)} orders"]
    for name, account in sorted(accounts.items()):
        lines.append(
            f"- Account `{name}`: {account.get('orders_purged', 0)} (last Amazon update before "
            f"{account.get('cutoff', '?')}, {account.get('retention_days', '?')} days)"
        )
    lines += [
        f"- Landing store: {summary.get('landed_orders_redacted', 0)} landed orders redacted in "
        f"{summary.get('pages_rewritten', 0)} of {summary.get('pages_read', 0)} pages",
        f"- Orders without buyer data overall: {summary.get('orders_purged_total', 0)}",
    ]
    if summary.get("orders_changed_meanwhile"):
        lines.append(f"- Changed on Amazon meanwhile (purged next run): {summary['orders_changed_meanwhile']}")
    return "\n".join(lines)[:limit]


def events_note(summary: dict[str, Any], *, list_url: str | None = None, limit: int = NOTE_LIMIT) -> str:
    """The markdown note of one ``amazon_order_events`` run: what the queue brought (messages, duplicates folded,
    messages dropped with their reason), then the sync's report of the changed orders.

    A run whose notifications named no order to fetch has only ``receive_notifications``' result (no ``staged``):
    its note says so and lists the dropped messages.
    """
    queue = summary.get("queue") or summary
    dropped = queue.get("dropped") or []
    dropped_count = int(queue.get("dropped_count", len(dropped)))
    line = (
        f"- Queue: {queue.get('messages', 0)} messages, {queue.get('notifications', 0)} ORDER_CHANGE notifications "
        f"for {queue.get('orders', 0)} orders"
        + (f" ({queue['duplicates_folded']} repeats folded)" if queue.get("duplicates_folded") else "")
        + f", dropped {dropped_count}"
        + (f", deleted after staging {queue['deleted']}" if "deleted" in queue else "")
    )
    listed = [f"  - message `{d.get('message_id', '?')}` {_clip(d.get('reason', ''), 120)}" for d in dropped]
    if "staged" not in summary:  # nothing to fetch: the run stopped after receiving
        head = [f"**Order events**{_account_label(summary)}: no order to fetch", line]
        return _fit(head, listed, dropped_count, [], limit, f"; all of them: {_lists_link(list_url)}")
    queue_lines = "\n".join(
        [line, *listed[:3], *([f"  - … and {dropped_count - 3} more"] if dropped_count > 3 else [])]
    )
    # The sync's report in the room the queue lines leave (its tail keeps the link to the complete lists).
    room = limit - len(queue_lines) - 1 - (len("**Order events**") - len("**Order sync**"))
    report = sync_note(summary, list_url=list_url, limit=room)
    first, _, rest = report.replace("**Order sync**", "**Order events**", 1).partition("\n")
    return "\n".join(part for part in (first, queue_lines, rest) if part)


def _account_label(summary: dict) -> str:
    """`` (account eu)`` in a run note's heading for an account other than ``default`` (its DAG id says it too)."""
    account = summary.get("account")
    return f" (account {account})" if account and account != channel_db.DEFAULT_ACCOUNT else ""


#: The note renderer of each DAG whose ``summarize`` task returns a summary dict.
NOTE_RENDERERS = {
    "amazon_order_sync": sync_note,
    "amazon_tracking_push": push_note,
    "amazon_pii_retention": retention_note,
    "amazon_order_events": events_note,
}


def note_renderer(dag_id: str) -> Callable[..., str] | None:
    """The note renderer of a DAG (of any account: ``amazon_order_sync_eu`` renders like ``amazon_order_sync``)."""
    from include.adapters.dag_defaults import base_dag_id

    return NOTE_RENDERERS.get(base_dag_id(dag_id, NOTE_RENDERERS) or "")


def failure_note(dag_id: str, reason: str, failed_tasks: Sequence[str], *, limit: int = NOTE_LIMIT) -> str:
    """The note of a failed run: which tasks failed, and where to look next."""
    tasks = ", ".join(f"`{t}`" for t in failed_tasks) or "none (the run itself failed)"
    lines = [
        f"**Run failed** ({reason.replace('_', ' ')}): {tasks}",
        "- Nothing is lost: the next run retries every order not in Commerce yet (high-water mark, quarantine).",
        "- The failed task's log has the error; an alert was sent (see the runbook: Alerts).",
    ]
    if note_renderer(dag_id) in (sync_note, events_note):
        lines.append(f"- Orders kept out: {QUARANTINE_HINT}")
    return "\n".join(lines)[:limit]


# ----------------------------------------------------------------------------------------------------------- CLI


def _engine_from_connection(conn_id: str = "channel_db") -> Engine:
    """The channel database engine from :func:`include.adapters.hooks.channel_db.channel_engine`, as the tasks get it."""
    from include.adapters.hooks.channel_db import channel_engine

    export_connections(conn_id)
    return channel_engine(conn_id)


def check_connections() -> list[tuple[str, bool, str]]:
    """Use each connection once, as the tasks do: LWA token, Commerce token and search, channel DB query."""
    from sqlalchemy import text

    from include.adapters.hooks.amazon_sp_api import SpApiHook
    from include.adapters.hooks.commerce_api import CommerceHook

    results = []
    for conn_id, check in (
        ("amazon_sp_api", lambda: SpApiHook().test_connection()),
        ("commerce_api", lambda: CommerceHook().test_connection()),
        ("channel_db", lambda: _query_one(_engine_from_connection("channel_db"), text("SELECT 1"))),
    ):
        try:
            export_connections(conn_id)
            ok, message = check()
        except Exception as exc:  # reported, not raised: the operator sees every connection's state
            ok, message = False, f"{type(exc).__name__}: {exc}"
        results.append((conn_id, ok, message))
    return results


def settings_check(proposed: str | None, variable: str = VARIABLE_KEY) -> tuple[bool, str]:
    """Validate the settings Variable as the sync does; with ``proposed`` JSON, validate it and list the changes.

    Valid settings are also checked against the stores Commerce has (the ``commerce_api`` connection): each
    store view the map names must exist with the marketplace's currency as base currency, as the sync checks
    before it imports anything. When Commerce does not answer, the report says the stores were not checked.
    """
    from airflow.models.variable import Variable

    from include.domain.settings import SettingsError, parse_settings

    lines = []
    try:
        current = parse_settings(Variable.get(variable, default_var=None))
    except SettingsError as exc:
        current = None
        lines.append(f"current {variable} is INVALID (runs fail at plan_window): {exc}")
    if proposed is None:
        if current is None:
            return False, "\n".join(lines)
        stores_ok, store_lines = _store_check(current)
        lines.append(f"current {variable} is " + ("valid" if stores_ok else "INVALID for the stores in Commerce"))
        lines.extend(store_lines)
        lines.append("effective settings:")
        lines.extend(f"  {key} = {json.dumps(value)}" for key, value in current.to_dict().items())
        return stores_ok, "\n".join(lines)
    try:
        new_settings = parse_settings(proposed)
    except SettingsError as exc:
        return False, "\n".join([*lines, f"proposed settings are INVALID, do not set them: {exc}"])
    stores_ok, store_lines = _store_check(new_settings)
    if not stores_ok:
        return False, "\n".join([*lines, "proposed settings are INVALID for the stores in Commerce, do not set them:",
                                 *store_lines])  # fmt: skip
    new, before_all = new_settings.to_dict(), current.to_dict() if current else None
    changes = [k for k in new if before_all is None or new[k] != before_all[k]]
    lines.append("proposed settings are valid; " + (f"{len(changes)} change(s):" if changes else "no change"))
    for key in changes:
        before = "?" if before_all is None else json.dumps(before_all[key])
        lines.append(f"  {key}: {before} -> {json.dumps(new[key])}")
    lines.extend(store_lines)
    return True, "\n".join(lines)


def _store_check(settings) -> tuple[bool, list[str]]:
    """The settings' store views looked up in Commerce as the sync does: (fit, report lines)."""
    from include.adapters.hooks.commerce_api import CommerceHook
    from include.domain.commerce_stores import StoreSetupError
    from include.tasks.order_sync import store_setup

    try:
        export_connections("commerce_api")
        with CommerceHook().get_client() as client:
            setup = store_setup(client, settings)
    except StoreSetupError as exc:
        return False, [f"  store problem: {problem}" for problem in exc.problems]
    except Exception as exc:  # reported, not raised: the Variable itself may still be checked
        return True, [f"stores in Commerce NOT checked (commerce_api: {type(exc).__name__}: {exc})"]
    return True, ["stores in Commerce:", *(f"  {line}" for line in setup.describe())]


def _query_one(engine: Engine, statement) -> tuple[bool, str]:
    with engine.connect() as conn:
        conn.execute(statement).scalar()
    return True, f"{engine.dialect.name} database answered"


def _fmt_ts(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


#: What comes next for an order kept out, by how it is kept out (failed imports: the retry policy says).
NEXT_TRY = {
    "skipped": "when the settings allow",
    "imported": "next run",
    "rejected": "a valid version from Amazon",
}


def next_try(order: channel_db.QuarantinedOrder, policy: RetryPolicy, now: datetime) -> str:
    """When an order kept out is tried next: a time, ``next run``, or ``waits for operator`` (failed imports)."""
    if order.import_status == "failed":
        return policy.next_try(order.attempts, order.next_attempt_at, now)
    return NEXT_TRY.get(order.import_status, "next run")


def quarantine_table(
    orders: Sequence[channel_db.QuarantinedOrder],
    *,
    width: int = 0,
    policy: RetryPolicy | None = None,
    now: datetime | None = None,
) -> str:
    """A plain-text table: order id, channel, Amazon status, import status, attempts, first failure, next try,
    first/last seen, reason.

    ``width`` clips the reason column (0: the whole reason); ``policy``: the retry policy (default settings).
    """
    policy, now = policy or RetryPolicy(), now or datetime.now(UTC)
    header = ("AMAZON ORDER", "CHANNEL", "AMAZON STATUS", "KEPT OUT AS", "TRIES", "FIRST FAILED", "NEXT TRY",
              "FIRST SEEN", "LAST SEEN", "REASON")  # fmt: skip
    rows = [
        (
            o.amazon_order_id,
            f"{CHANNEL_LABELS.get(o.fulfilled_by, o.fulfilled_by)} {o.marketplace_id}" if o.fulfilled_by else "-",
            o.amazon_status or "-",
            "update failed" if o.import_status == "imported" else o.import_status,
            str(o.attempts),
            _fmt_ts(o.first_failed_at),
            _fmt_next(next_try(o, policy, now)),
            _fmt_ts(o.first_seen_at),
            _fmt_ts(o.last_seen_at),
            _clip(o.reason, width) if width else " ".join(o.reason.split()),
        )
        for o in orders
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt_next(value: str) -> str:
    """An ISO next-try time as the table's other times (``2026-11-26 08:50``); words unchanged."""
    return f"{value[:10]} {value[11:16]}" if value[:1].isdigit() else value


def current_retry_policy(variable: str = VARIABLE_KEY) -> RetryPolicy:
    """The retry policy of the settings Variable (the defaults when it cannot be read or is invalid)."""
    from include.domain.settings import SettingsError, parse_settings

    try:
        from airflow.models.variable import Variable

        return parse_settings(Variable.get(variable, default_var=None)).retry_policy
    except (SettingsError, ImportError):
        return RetryPolicy()
    except Exception:  # no readable Airflow metadata database here: the table still shows, with the defaults
        return RetryPolicy()


def summary_text(engine: Engine, account: str = channel_db.DEFAULT_ACCOUNT) -> str:
    """An account's channel totals per fulfilment channel and import status, high-water mark and quarantine size."""
    totals = channel_db.outcome_counts(engine, account=account)
    mark = channel_db.high_water_mark(engine, "amazon_order_sync", account)
    kept = channel_db.quarantine(engine, account=account)
    lines = [f"Account {account}: channel orders by fulfilment channel and import status:"]
    for channel, statuses in sorted(totals.items()):
        inner = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
        lines.append(f"  {CHANNEL_LABELS.get(channel, channel)}  {inner}")
    if not totals:
        lines.append("  (no orders staged yet)")
    lines.append(f"Extracted up to (high-water mark): {_fmt_ts(mark)} UTC")
    lines.append(f"Orders kept out of Commerce: {len(kept)} (python -m include.ops.report quarantine)")
    purged, last = purged_order_count(engine)
    lines.append(f"Orders whose buyer data was purged (retention): {purged}, last {_fmt_ts(last)} UTC")
    return "\n".join(lines)


#: Fields of :func:`order_detail` shown by default (never buyer data).
ORDER_FIELDS = (
    "amazon_order_id", "marketplace_id", "fulfilled_by", "amazon_status", "channel_status", "created_at",
    "last_updated_at", "currency", "order_total", "item_count", "import_status", "import_error", "import_attempts",
    "commerce_order_id", "commerce_increment_id", "imported_at", "buyer_data_purged_at",
)  # fmt: skip


def order_text(engine: Engine, amazon_order_id: str, *, show_buyer: bool = False) -> str | None:
    """One channel order for an operator (None if unknown); buyer data only with ``show_buyer`` (decrypted).

    With ``show_buyer`` the cipher comes from the ``amazon_pii_key`` connection.
    """
    from include.channel_db.statements import statement, tx

    with tx(engine) as conn:
        row = conn.execute(statement(conn, "select_order_detail"), {"amazon_order_id": amazon_order_id}).mappings()
        row = row.first()
    if row is None:
        return None
    lines = [f"{name:22} {_value(row[name])}" for name in ORDER_FIELDS]
    if not show_buyer:
        lines.append("buyer data             (not shown: --show-buyer decrypts it)")
        return "\n".join(lines)
    from include.adapters.hooks.pii_key import buyer_cipher

    export_connections("amazon_pii_key")
    cipher = buyer_cipher()
    payload = json.loads(cipher.decrypt_text(row["payload"]))
    lines.append(f"{'buyer_name':22} {_value(cipher.decrypt_text(row['buyer_name']))}")
    lines.append(f"{'buyer_email':22} {_value(cipher.decrypt_text(row['buyer_email']))}")
    for section in ("buyer", "recipient"):
        lines.append(f"{section:22} {json.dumps(payload.get(section), ensure_ascii=False)}")
    return "\n".join(lines)


def _value(value: Any) -> str:
    if value is None:
        return "-"
    return _fmt_ts(value) + " UTC" if isinstance(value, datetime) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.ops.report", description=__doc__.splitlines()[0])
    parser.add_argument("--conn-id", default="channel_db", help="Airflow connection of the channel DB")
    parser.add_argument(
        "--account",
        default=channel_db.DEFAULT_ACCOUNT,
        help="seller account (include/accounts.yaml or $AMAZON_ACCOUNTS_FILE; default: %(default)s): its orders, "
        "high-water mark and settings Variable",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quarantine", help="every order currently kept out of Commerce, with its reason")
    q.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    q.add_argument("--width", type=int, default=0, help="clip reasons to this many characters (default: whole)")
    sub.add_parser("summary", help="channel totals, high-water mark, quarantine size and purged orders")
    od = sub.add_parser("order", help="one channel order: state and Commerce link (no buyer data unless asked)")
    od.add_argument("amazon_order_id")
    od.add_argument("--show-buyer", action="store_true", help="decrypt and print its buyer data (amazon_pii_key)")
    sub.add_parser("connections", help="use amazon_sp_api, commerce_api and channel_db once (after a rotation)")
    st = sub.add_parser("settings", help="validate the settings Variable, or proposed settings JSON against it")
    st.add_argument("proposed", nargs="?", help="the JSON you mean to set (default: check the current Variable)")
    args = parser.parse_args(argv)
    from include.adapters.accounts import AccountsError, account_named

    try:
        account = account_named(args.account)
    except AccountsError as exc:
        print(exc, file=sys.stderr)
        return 2

    if args.command == "settings":
        ok, text = settings_check(args.proposed, account.settings_variable)
        print(text)
        return 0 if ok else 1

    if args.command == "connections":
        results = check_connections()
        for conn_id, ok, message in results:
            print(f"{conn_id:14} {'ok' if ok else 'FAILED'}  {message}")
        return 0 if all(ok for _, ok, _ in results) else 1
    engine = _engine_from_connection(args.conn_id)
    try:
        channel_db.require_current(engine)
        if args.command == "quarantine":
            orders = channel_db.quarantine(engine, account=account.name)
            policy, now = current_retry_policy(account.settings_variable), datetime.now(UTC)
            if args.json:
                for order in orders:
                    print(json.dumps({**order.to_dict(), "next_try": next_try(order, policy, now)}))
            elif orders:
                print(quarantine_table(orders, width=args.width, policy=policy, now=now))
                waiting = sum(next_try(o, policy, now) == WAITS_FOR_OPERATOR for o in orders)
                print(
                    f"\n{len(orders)} orders kept out; failed imports are retried after "
                    f"{policy.base_minutes} min, doubling up to {policy.max_delay_minutes} min, "
                    f"{policy.max_attempts} tries at most; {waiting} {WAITS_FOR_OPERATOR.replace('waits', 'wait')} "
                    "(re-sync them by order id)."
                )
            else:
                print("No orders are kept out of Commerce.")
        elif args.command == "order":
            text = order_text(engine, args.amazon_order_id, show_buyer=args.show_buyer)
            if text is None:
                print(f"no channel order {args.amazon_order_id}", file=sys.stderr)
                return 1
            print(text)
        else:
            print(summary_text(engine, account.name))
    except channel_db.SchemaNotCurrent as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
