"""Extraction windows: scheduled, widened by the high-water mark, manual, clamped, empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pendulum
import pytest

from include.domain.windows import Window, WindowError, compute_window, parse_timestamp, to_amazon_timestamp

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
TEN = timedelta(minutes=10)


def scheduled(start, end, *, now=NOW, hwm=None, overlap=TEN):
    return compute_window(
        data_interval_start=start, data_interval_end=end, now=now, overlap=overlap, high_water_mark=hwm
    )


def test_scheduled_run_reaches_back_by_the_overlap():
    w = scheduled(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC))
    assert w == Window(datetime(2026, 3, 1, 11, 50, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC))
    assert not w.empty


def test_scheduled_end_is_clamped_to_two_minutes_before_now():
    w = scheduled(datetime(2026, 3, 1, 12, 15, tzinfo=UTC), datetime(2026, 3, 1, 12, 30, tzinfo=UTC))
    assert w.end == datetime(2026, 3, 1, 12, 28, tzinfo=UTC)


def test_pendulum_data_interval_works_and_results_are_plain_utc_datetimes():
    w = scheduled(pendulum.datetime(2026, 3, 1, 12, 0, tz="UTC"), pendulum.datetime(2026, 3, 1, 12, 15, tz="UTC"))
    assert w.start == datetime(2026, 3, 1, 11, 50, tzinfo=UTC)
    assert type(w.start) is datetime and type(w.end) is datetime
    assert w.start.tzinfo is UTC


def test_other_timezones_are_converted_to_utc():
    paris = pendulum.datetime(2026, 3, 1, 13, 0, tz="Europe/Paris")  # 12:00 UTC
    w = scheduled(paris, paris.add(minutes=15), now=datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-3))))
    assert w == Window(datetime(2026, 3, 1, 11, 50, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC))


def test_old_high_water_mark_widens_the_window_back_over_an_outage():
    hwm = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)  # scheduler was down six hours
    w = scheduled(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC), hwm=hwm)
    assert w.start == hwm - TEN
    assert w.end == datetime(2026, 3, 1, 12, 15, tzinfo=UTC)


@pytest.mark.parametrize("hwm", [datetime(2026, 3, 1, 11, 55, tzinfo=UTC), datetime(2026, 3, 1, 12, 10, tzinfo=UTC)])
def test_recent_high_water_mark_does_not_narrow_the_window(hwm):
    w = scheduled(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC), hwm=hwm)
    assert w.start == datetime(2026, 3, 1, 11, 50, tzinfo=UTC)


def test_zero_overlap():
    w = scheduled(
        datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC), overlap=timedelta(0)
    )
    assert w.start == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_negative_overlap_rejected():
    with pytest.raises(WindowError, match="overlap"):
        scheduled(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC), overlap=-TEN)


def test_interval_entirely_in_the_last_two_minutes_is_empty():
    now = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
    w = scheduled(
        datetime(2026, 3, 1, 11, 59, tzinfo=UTC), datetime(2026, 3, 1, 12, 0, tzinfo=UTC), now=now, overlap=timedelta(0)
    )
    assert w.empty
    assert w.to_dict()["empty"] is True


def test_backfill_interval_in_the_past_is_not_clamped():
    w = scheduled(datetime(2026, 2, 1, 0, 0, tzinfo=UTC), datetime(2026, 2, 1, 0, 15, tzinfo=UTC))
    assert w == Window(datetime(2026, 1, 31, 23, 50, tzinfo=UTC), datetime(2026, 2, 1, 0, 15, tzinfo=UTC))


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "data_interval_start": datetime(2026, 3, 1, 12, 0),
            "data_interval_end": datetime(2026, 3, 1, 12, 15, tzinfo=UTC),
        },
        {
            "data_interval_start": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            "data_interval_end": datetime(2026, 3, 1, 12, 15),
        },
    ],
)
def test_naive_data_interval_rejected(kwargs):
    with pytest.raises(WindowError, match="timezone-aware"):
        compute_window(**kwargs, now=NOW, overlap=TEN, high_water_mark=None)


def test_naive_now_and_hwm_rejected():
    with pytest.raises(WindowError, match="now must be timezone-aware"):
        compute_window(
            data_interval_start=None,
            data_interval_end=None,
            now=datetime(2026, 3, 1),
            overlap=TEN,
            high_water_mark=None,
        )
    with pytest.raises(WindowError, match="high_water_mark must be timezone-aware"):
        compute_window(
            data_interval_start=None, data_interval_end=None, now=NOW, overlap=TEN, high_water_mark=datetime(2026, 3, 1)
        )


def test_half_a_data_interval_rejected():
    with pytest.raises(WindowError, match="both"):
        compute_window(data_interval_start=NOW, data_interval_end=None, now=NOW, overlap=TEN, high_water_mark=None)


def manual(*, hwm=None, start=None, end=None, interval=(None, None)):
    return compute_window(
        data_interval_start=interval[0], data_interval_end=interval[1], now=NOW, overlap=TEN,
        high_water_mark=hwm, window_start=start, window_end=end,
    )  # fmt: skip


def test_manual_without_params_or_mark_looks_back_one_day():
    assert manual() == Window(NOW - timedelta(days=1), NOW - timedelta(minutes=2))


def test_manual_without_params_starts_at_the_high_water_mark_minus_overlap():
    hwm = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert manual(hwm=hwm) == Window(hwm - TEN, NOW - timedelta(minutes=2))


def test_manual_params_define_the_window():
    w = manual(start="2026-02-01T00:00:00Z", end="2026-02-02T00:00:00+00:00")
    assert w == Window(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 2, tzinfo=UTC))


def test_manual_params_win_over_the_data_interval_and_ignore_the_mark():
    interval = (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, 12, 15, tzinfo=UTC))
    w = manual(
        start="2026-02-01T00:00:00Z",
        end="2026-02-01T06:00:00Z",
        interval=interval,
        hwm=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert w == Window(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 1, 6, tzinfo=UTC))


def test_manual_offsets_are_converted_to_utc():
    w = manual(start="2026-02-01T02:00:00+02:00", end="2026-02-01T03:00:00+02:00")
    assert w.start == datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
    assert to_amazon_timestamp(w.end) == "2026-02-01T01:00:00Z"


def test_manual_start_only_runs_to_now_minus_two_minutes():
    assert manual(start="2026-03-01T00:00:00Z").end == NOW - timedelta(minutes=2)


def test_manual_end_in_the_future_is_clamped():
    assert manual(start="2026-03-01T00:00:00Z", end="2026-03-02T00:00:00Z").end == NOW - timedelta(minutes=2)


def test_manual_window_starting_within_the_last_two_minutes_is_empty():
    assert manual(start="2026-03-01T12:29:00Z").empty


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        ("yesterday", None, "window_start is not an ISO 8601 timestamp: 'yesterday'"),
        ("2026-02-01T00:00:00", None, "window_start has no timezone"),
        ("2026-02-01T00:00:00Z", "2026-13-01T00:00:00Z", "window_end is not an ISO 8601"),
        ("2026-02-02T00:00:00Z", "2026-02-01T00:00:00Z", "window_end 2026-02-01T00:00:00Z is before window_start"),
        (None, "2026-02-01T00:00:00Z", "window_end was given without window_start"),
    ],
)
def test_manual_params_are_validated(start, end, match):
    with pytest.raises(WindowError, match=match):
        manual(start=start, end=end)


def test_to_amazon_timestamp():
    assert to_amazon_timestamp(datetime(2026, 3, 1, 12, 0, 5, 999999, tzinfo=UTC)) == "2026-03-01T12:00:05Z"
    assert to_amazon_timestamp(pendulum.datetime(2026, 3, 1, 7, 0, tz="America/New_York")) == "2026-03-01T12:00:00Z"
    with pytest.raises(WindowError):
        to_amazon_timestamp(datetime(2026, 3, 1))


def test_parse_timestamp_rejects_non_strings():
    with pytest.raises(WindowError, match="window_start must be an ISO 8601"):
        parse_timestamp(123, "window_start")  # type: ignore[arg-type]


def test_window_to_dict():
    w = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 1, tzinfo=UTC))
    assert w.to_dict() == {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T01:00:00Z", "empty": False}
