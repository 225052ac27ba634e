"""Run-report notes, the quarantine table and alert lines: pure rendering, no Airflow run needed."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

from include import report
from include.alerts import Alert, alert_from_context, scrub
from include.channel_db import QuarantinedOrder
from tests.conftest import PROJECT_ROOT

SUMMARY = {
    "window": {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T10:15:00Z"},
    "amazon_order_ids": [],
    "dry_run": False,
    "staged": {"orders": 40, "new": 30, "updated": 5, "unchanged": 5},
    "rejected": [{"amazon_order_id": "111-0000000-0000000", "reason": "malformed order: no orderItems"}],
    "not_found": [],
    "outcomes": {"imported": 30, "updated": 2, "failed": 60, "customers_created": 4},
    "failures": [
        {"amazon_order_id": f"111-0000001-{i:07d}", "reason": "Commerce refused: The product that was requested "
         "doesn't exist. Verify the product and try again. (HTTP 400, PUT /V1/orders/create); order SKUs: X-1"}
        for i in range(25)
    ],
    "quarantined_total": 75,
    "channel_totals": {"MERCHANT": {"imported": 300, "failed": 70}, "AMAZON": {"skipped": 5}},
}  # fmt: skip


def test_sync_note_headline_fits_the_run_header_and_the_note_column():
    note = report.sync_note(SUMMARY)
    first, *rest = note.splitlines()
    assert first == (
        "**Order sync**: imported 30 · updated 2 · kept out 61 · 40 orders read "
        "(window 2026-03-01T10:00:00Z → 2026-03-01T10:15:00Z)"
    )
    assert "- Kept out this run (61):" in rest
    assert rest[-2].startswith("- Kept out now (all runs, retried every run): 75")
    assert rest[-1] == "- Channel totals: FBA: skipped 5 · MFN: failed 70, imported 300"
    assert any(line.startswith("  - … and ") and line.endswith(" more") for line in rest)
    assert len(note) <= report.NOTE_LIMIT
    listed = [line for line in rest if line.startswith("  - `")]
    assert listed[0] == "  - `111-0000000-0000000` malformed order: no orderItems"
    assert all(line.endswith("order SKUs: X-1") for line in listed[1:])  # long reasons keep their end


def test_sync_note_for_a_resync_by_id_and_a_quiet_run():
    note = report.sync_note(
        {**SUMMARY, "window": None, "amazon_order_ids": ["111-0000001-0000001"], "not_found": ["111-9999999-9999999"],
         "outcomes": {}, "failures": [], "rejected": []}
    )  # fmt: skip
    assert note.splitlines()[0] == "**Order sync**: kept out 0 · 40 orders read (orders 111-0000001-0000001)"
    assert "- Not found on Amazon: 111-9999999-9999999" in note
    assert "- Commerce: nothing to load" in note


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
    spec = importlib.util.spec_from_file_location("run_reports_under_test", PROJECT_ROOT / "plugins" / "run_reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    merged = module._merge("Re-run after the Commerce outage (INC-42)", "**Order sync**: imported 3", 1000)
    assert merged == "Re-run after the Commerce outage (INC-42)\n\n**Order sync**: imported 3"
    # A cleared and re-run run replaces its old report, keeps the operator's words.
    assert module._merge(merged, "**Order sync**: imported 4", 1000).endswith("(INC-42)\n\n**Order sync**: imported 4")
    assert module._merge(None, "**Run failed** (x)", 1000) == "**Run failed** (x)"


def test_quarantine_table():
    ts = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    orders = [
        QuarantinedOrder("111-0000001-0000001", "ATVPDKIKX0DER", "MERCHANT", "UNSHIPPED", "failed",
                         "Commerce unavailable: Service Unavailable (HTTP 503)", 3, ts, ts, ts, ts, None),
        QuarantinedOrder("111-0000001-0000002", "A2EUQ1WTGCTBG2", "AMAZON", "SHIPPED", "skipped",
                         "FBA import is disabled in amazon_order_settings", 1, ts, ts, None, ts, None),
    ]  # fmt: skip
    lines = report.quarantine_table(orders).splitlines()
    assert lines[0].split() == ["AMAZON", "ORDER", "CHANNEL", "AMAZON", "STATUS", "KEPT", "OUT", "AS", "TRIES",
                                "FIRST", "SEEN", "LAST", "SEEN", "REASON"]  # fmt: skip
    assert lines[2].split()[:6] == ["111-0000001-0000001", "MFN", "ATVPDKIKX0DER", "UNSHIPPED", "failed", "3"]
    assert lines[3].endswith("FBA import is disabled in amazon_order_settings")
    assert "2026-03-01 10:05" in lines[2]


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
