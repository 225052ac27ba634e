"""Run-report notes, the quarantine table and alert lines: pure rendering, no Airflow run needed."""

from __future__ import annotations

from datetime import UTC, datetime

from include.adapters.alerts import Alert, alert_from_context, scrub
from include.channel_db import QuarantinedOrder
from include.ops import report
from tests.conftest import load_plugin

URL = report.xcom_url("amazon_order_sync", "backfill__2026-03-01T10:00:00+00:00", base_url="http://127.0.0.1:8080/")
SUMMARY = {
    "window": {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T10:15:00Z"},
    "amazon_order_ids": [],
    "dry_run": False,
    "ignored_params": [],
    "staged": {"orders": 40, "new": 30, "updated": 5, "unchanged": 5},
    "rejected": [{"amazon_order_id": "111-0000000-0000000", "reason": "malformed order: no orderItems"}],
    "not_found": [],
    "outcomes": {"imported": 30, "updated": 2, "failed": 60, "customers_created": 4},
    "kept_out": {"this_run": 26, "earlier": 49, "earlier_retried": 35, "waiting_for_operator": 2},
    "kept_out_this_run": [{"amazon_order_id": "111-0000000-0000000", "reason": "malformed order: no orderItems"}] + [
        {"amazon_order_id": f"111-0000001-{i:07d}", "reason": "Commerce refused: The product that was requested "
         "doesn't exist. Verify the product and try again. (HTTP 400, PUT /V1/orders/create); order SKUs: X-1"}
        for i in range(25)
    ],
    "quarantined_total": 75,
    "channel_totals": {"MERCHANT": {"imported": 300, "failed": 70}, "AMAZON": {"skipped": 5}},
}  # fmt: skip


def test_sync_note_tells_this_runs_orders_from_those_kept_out_earlier():
    note = report.sync_note(SUMMARY, list_url=URL)
    first, *rest = note.splitlines()
    assert first == (
        "**Order sync**: imported 30 · updated 2 · kept out 26 of 40 orders read · 75 kept out overall "
        "(window 2026-03-01T10:00:00Z → 2026-03-01T10:15:00Z)"
    )
    assert (
        "- Commerce: imported 30 · updated 2 · failed 60 · customers created 4 "
        "(35 of the failed were retries of orders kept out by earlier runs)"
    ) in rest
    assert "- Kept out, this run's orders (26):" in rest
    assert rest[-2] == (
        "- Still kept out overall: 75 (49 from earlier runs), retried with growing delays (2 wait for operator); "
        "all with reasons, tries and next try: "
        "[summarize → XCom](http://127.0.0.1:8080/dags/amazon_order_sync/runs/"
        "backfill__2026-03-01T10%3A00%3A00%2B00%3A00/tasks/summarize/xcom)"
    )
    assert rest[-1] == "- Channel totals: FBA: skipped 5 · MFN: failed 70, imported 300"
    assert any(line.startswith("  - … and ") and line.endswith(" more (all in the list below)") for line in rest)
    assert len(note) <= report.NOTE_LIMIT
    listed = [line for line in rest if line.startswith("  - `")]
    assert listed[0] == "  - `111-0000000-0000000` malformed order: no orderItems"
    assert all(line.endswith("order SKUs: X-1") for line in listed[1:])  # long reasons keep their end


def test_sync_note_for_a_resync_by_id_a_quiet_run_and_a_backfill_run():
    quiet = {**SUMMARY, "outcomes": {}, "kept_out": {"this_run": 0, "earlier": 0}, "kept_out_this_run": []}
    note = report.sync_note(
        {**quiet, "window": None, "amazon_order_ids": ["111-0000001-0000001"], "not_found": ["111-9999999-9999999"]}
    )
    assert note.splitlines()[0] == (
        "**Order sync**: kept out 0 of 40 orders read · 0 kept out overall (orders 111-0000001-0000001)"
    )
    assert "- Not found on Amazon: 111-9999999-9999999" in note
    assert "- Commerce: nothing to load" in note
    assert "- Kept out overall: none" in note
    backfill = report.sync_note({**quiet, "ignored_params": ["amazon_order_ids", "window_start"]})
    assert (
        "- Backfill run: ignored amazon_order_ids, window_start (single-run params); read its own interval" in backfill
    )
    # Without a link (no run to point at), the note still says where the lists are.
    assert "all with reasons, tries and next try: the summarize task's XCom" in report.sync_note(SUMMARY)


def test_push_note_and_failure_note():
    note = report.push_note(
        {
            "window": {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T10:30:00Z"},
            "amazon_order_ids": [],
            "packages": {"sent": 3, "confirmed": 2, "failed": 1, "refused": 0, "waiting": 0},
            "problems": [{"amazon_order_id": "111-0000001-0000001", "status": "failed", "last_error": "HTTP 503"}],
            "orders_shipped": 1,
            "orders_completed": 1,
            "channel_totals": {"packages": {"confirmed": 10, "failed": 1}},
        }
    )
    assert note.splitlines()[0].startswith("**Tracking push**: packages confirmed 2 · failed 1 · refused 0")
    assert "  - `111-0000001-0000001` HTTP 503" in note
    failed = report.failure_note("amazon_order_sync", "task_failure", ["extract_orders"])
    assert failed.splitlines()[0] == "**Run failed** (task failure): `extract_orders`"


def test_listener_keeps_the_operators_note_above_the_report():
    module = load_plugin("run_reports")
    merged = module._merge("Re-run after the Commerce outage (INC-42)", "**Order sync**: imported 3", 1000)
    assert merged == "Re-run after the Commerce outage (INC-42)\n\n**Order sync**: imported 3"
    # A cleared and re-run run replaces its old report, keeps the operator's words.
    assert module._merge(merged, "**Order sync**: imported 4", 1000).endswith("(INC-42)\n\n**Order sync**: imported 4")
    assert module._merge(None, "**Run failed** (x)", 1000) == "**Run failed** (x)"


def test_quarantine_table():
    ts = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    later = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    orders = [
        QuarantinedOrder("111-0000001-0000001", "ATVPDKIKX0DER", "MERCHANT", "UNSHIPPED", "failed",
                         "Commerce unavailable: Service Unavailable (HTTP 503)", 3, ts, ts, ts, ts, None, later),
        QuarantinedOrder("111-0000001-0000002", "A2EUQ1WTGCTBG2", "AMAZON", "SHIPPED", "skipped",
                         "FBA import is disabled in amazon_order_settings", 1, ts, ts, None, ts, None),
        QuarantinedOrder("111-0000001-0000003", "ATVPDKIKX0DER", "MERCHANT", "UNSHIPPED", "failed",
                         "unknown SKU", 8, ts, ts, ts, ts, None, None),
    ]  # fmt: skip
    lines = report.quarantine_table(orders, now=ts).splitlines()
    assert lines[0].split() == ["AMAZON", "ORDER", "CHANNEL", "AMAZON", "STATUS", "KEPT", "OUT", "AS", "TRIES",
                                "FIRST", "FAILED", "NEXT", "TRY", "FIRST", "SEEN", "LAST", "SEEN", "REASON"]  # fmt: skip
    assert lines[2].split()[:6] == ["111-0000001-0000001", "MFN", "ATVPDKIKX0DER", "UNSHIPPED", "failed", "3"]
    assert "2026-03-01 10:05  2026-03-01 12:05" in lines[2]  # first failed, next try
    assert (
        lines[3].endswith("FBA import is disabled in amazon_order_settings") and "when the settings allow" in lines[3]
    )
    assert "waits for operator" in lines[4]  # 8 tries: the default retry_max_attempts
    assert "2026-03-01 10:05" in lines[2]


def test_the_note_lists_tries_and_next_try_of_failed_imports():
    summary = {
        **SUMMARY,
        "kept_out_this_run": [
            {"amazon_order_id": "111-0000002-0000001", "reason": "unknown SKU", "attempts": 2,
             "first_failed_at": "2026-03-01T10:00:00Z", "next_try": "2026-03-01T10:45:00Z"},
            {"amazon_order_id": "111-0000002-0000002", "reason": "unknown SKU", "attempts": 8,
             "first_failed_at": "2026-03-01T10:00:00Z", "next_try": "waits for operator"},
        ],
    }  # fmt: skip
    note = report.sync_note(summary)
    assert "  - `111-0000002-0000001` unknown SKU (try 2 · next 03-01 10:45)" in note
    assert "  - `111-0000002-0000002` unknown SKU (try 8 · waits for operator)" in note


def test_alert_lines_carry_no_buyer_data_or_secrets():
    message = (
        "HTTP 409 for GET https://shop.example.com/rest/V1/customers/search?searchCriteria[filterGroups][0]"
        "[filters][0][value]=ana.smith@example.com: customer ana.smith@example.com exists; password=hunter2"
    )
    clean = scrub(message)
    assert "ana.smith" not in clean and "hunter2" not in clean and "searchCriteria" not in clean
    assert clean.startswith("HTTP 409 for GET https://shop.example.com/rest/V1/customers/search?…")
    alert = alert_from_context({"dag_run": {"dag_id": "d", "run_id": "r"}, "reason": "timed_out"})
    assert alert.event == "run_failed" and alert.line() == "ALERT run_failed dag=d run=r reason=timed_out"
    assert Alert("task_failed", "d", "r", task_id="t", map_index=0, try_number=4).line() == (
        "ALERT task_failed dag=d run=r task=t[0] try=4"
    )


QUEUE = {"messages": 9, "notifications": 7, "orders": 4, "duplicates_folded": 3, "dropped_count": 2, "deleted": 7,
         "dropped": [{"message_id": "m-1", "reason": "malformed message: the message body is not JSON"},
                     {"message_id": "m-2", "reason": "foreign message: a ANY_OFFER_CHANGED notification, "
                                                     "not ORDER_CHANGE"}]}  # fmt: skip


def test_event_run_note_says_what_the_queue_brought_then_the_sync_report():
    note = report.events_note({**SUMMARY, "queue": QUEUE, "account": "eu"}, list_url=URL)
    first, queue, *rest = note.splitlines()
    assert first.startswith("**Order events** (account eu): imported 30 · updated 2 · kept out 26 of 40 orders read")
    assert queue == (
        "- Queue: 9 messages, 7 ORDER_CHANGE notifications for 4 orders (3 repeats folded), dropped 2, "
        "deleted after staging 7"
    )
    assert rest[:2] == [
        "  - message `m-1` malformed message: the message body is not JSON",
        "  - message `m-2` foreign message: a ANY_OFFER_CHANGED notification, not ORDER_CHANGE",
    ]
    assert rest[2].startswith("- Amazon: 40 orders read") and len(note) <= report.NOTE_LIMIT


def test_event_run_with_nothing_to_fetch_lists_the_dropped_messages():
    received = {k: v for k, v in QUEUE.items() if k not in ("deleted", "duplicates_folded")}
    note = report.events_note({**received, "notifications": 0, "orders": 0, "account": "default"})
    assert note.splitlines() == [
        "**Order events**: no order to fetch",
        "- Queue: 9 messages, 0 ORDER_CHANGE notifications for 0 orders, dropped 2",
        "  - message `m-1` malformed message: the message body is not JSON",
        "  - message `m-2` foreign message: a ANY_OFFER_CHANGED notification, not ORDER_CHANGE",
    ]


def test_every_account_s_runs_get_their_dag_s_note():
    assert report.note_renderer("amazon_order_events_eu") is report.events_note
    assert report.note_renderer("amazon_pii_retention_eu") is report.retention_note
    assert report.note_renderer("amazon_order_sync") is report.sync_note
    assert report.note_renderer("some_other_dag") is None
