"""Typed run plans (include/domain/run_plans.py): what XCom carries between tasks comes back as the same plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from include.domain.run_plans import PushPlan, SyncPlan

START, END = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC), datetime(2026, 11, 25, 10, 15, tzinfo=UTC)


def test_a_plan_survives_xcom_as_json():
    plan = SyncPlan(mode="window", start=START, end=END, planned_at=END, ignored_params=["amazon_order_ids"])
    again = SyncPlan.from_xcom(json.loads(json.dumps(plan.to_xcom())))
    assert again == plan and again.start.microsecond == 123456
    assert again.window == {"start": "2026-11-25T10:00:00Z", "end": "2026-11-25T10:15:00Z"}
    assert again.moves_high_water_mark and again.only_ids is None
    assert SyncPlan.from_xcom(again) is again


def test_a_resync_plan_filters_by_its_ids_and_keeps_the_mark():
    plan = SyncPlan.from_xcom(SyncPlan(mode="orders", amazon_order_ids=["113-1234567-1234567"]).to_xcom())
    assert plan.only_ids == ["113-1234567-1234567"] and plan.window is None and not plan.moves_high_water_mark
    push = PushPlan.from_xcom({**PushPlan(mode="window", start=START, end=END, move_mark=True).to_xcom(), "x": 1})
    assert push.move_mark and push.end == END  # unknown keys (an older or newer release's plan) are ignored
