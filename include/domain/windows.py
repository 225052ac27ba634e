"""Extraction windows for ``amazon_order_sync``: which ``lastUpdatedTime`` range a run asks Amazon for.

Pure functions over timezone-aware datetimes (``pendulum.DateTime``, which Airflow
passes for the data interval, is a ``datetime`` subclass and works as is). Naive
datetimes are rejected: a window must never depend on the machine's local zone.

Rules (DESIGN.md §4):

* Scheduled runs: ``[data_interval_start - overlap, min(data_interval_end, now - 2 min)]``,
  widened back to ``high_water_mark - overlap`` when the mark is older than that
  start (the last extracted window ended before this one begins), so the first run after a scheduler outage covers the whole gap.
* Manual runs (no data interval): the ``window_start``/``window_end`` params
  (ISO 8601) when given, else from the high-water mark (minus overlap), or
  ``now - 1 day`` when there is none, to ``now - 2 min``.
* The end is always clamped to ``now - 2 min``: SP-API rejects a
  ``lastUpdatedBefore`` later than that.
* ``end <= start`` gives an explicitly empty window (``Window.empty``): the run
  extracts nothing and succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: SP-API refuses lastUpdatedBefore later than now minus two minutes.
AMAZON_LAG = timedelta(minutes=2)
#: How far back a manual run without params or high-water mark reaches.
DEFAULT_MANUAL_LOOKBACK = timedelta(days=1)


class WindowError(ValueError):
    """A window parameter is invalid (the message names it and says what is expected)."""


@dataclass(frozen=True)
class Window:
    """A half-open ``[start, end)`` range of ``lastUpdatedTime`` in UTC."""

    start: datetime
    end: datetime

    @property
    def empty(self) -> bool:
        """True when there is nothing to extract (end at or before start)."""
        return self.end <= self.start

    def to_dict(self) -> dict[str, str | bool]:
        """Amazon-formatted bounds plus the empty flag (for XCom and run reports)."""
        return {"start": to_amazon_timestamp(self.start), "end": to_amazon_timestamp(self.end), "empty": self.empty}


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise WindowError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise WindowError(f"{name} must be timezone-aware (got naive {value.isoformat()}); use UTC")
    u = value.astimezone(UTC)
    # A plain datetime (not pendulum's subclass) so results compare and serialise predictably.
    return datetime(u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, tzinfo=UTC)


def parse_timestamp(value: str, name: str) -> datetime:
    """Parse an ISO 8601 timestamp with an explicit offset or ``Z`` into UTC."""
    if not isinstance(value, str) or not value.strip():
        raise WindowError(f"{name} must be an ISO 8601 timestamp such as 2026-03-01T12:00:00Z, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise WindowError(
            f"{name} is not an ISO 8601 timestamp: {value!r} (expected e.g. 2026-03-01T12:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        raise WindowError(f"{name} has no timezone: {value!r} (add 'Z' for UTC or an offset such as +02:00)")
    return _utc(parsed, name)


def compute_window(
    *,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    now: datetime,
    overlap: timedelta,
    high_water_mark: datetime | None,
    window_start: str | None = None,
    window_end: str | None = None,
) -> Window:
    """The window a run extracts (see the module docstring for the rules)."""
    now = _utc(now, "now")
    if overlap < timedelta(0):
        raise WindowError(f"overlap must not be negative, got {overlap}")
    latest = now - AMAZON_LAG
    hwm = _utc(high_water_mark, "high_water_mark") if high_water_mark is not None else None
    if (data_interval_start is None) != (data_interval_end is None):
        raise WindowError("data_interval_start and data_interval_end must both be given or both be None")

    if window_start or window_end:
        # Explicit params win over the data interval: an operator asked for this range.
        if not window_start:
            raise WindowError("window_end was given without window_start; give both or neither")
        start = parse_timestamp(window_start, "window_start")
        end = parse_timestamp(window_end, "window_end") if window_end else latest
        if window_end and end < start:
            raise WindowError(
                f"window_end {to_amazon_timestamp(end)} is before window_start {to_amazon_timestamp(start)}"
            )
        return Window(start, min(end, latest))

    if data_interval_start is not None and data_interval_end is not None:
        interval_start = _utc(data_interval_start, "data_interval_start")
        interval_end = _utc(data_interval_end, "data_interval_end")
        start = interval_start - overlap
        if hwm is not None and hwm < start:
            # The last extracted window ended before this one starts: cover the gap.
            start = hwm - overlap
        return Window(start, min(interval_end, latest))

    start = (hwm - overlap) if hwm is not None else now - DEFAULT_MANUAL_LOOKBACK
    return Window(start, latest)


def to_amazon_timestamp(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, the form SP-API expects (sub-seconds truncated)."""
    return _utc(dt, "timestamp").strftime("%Y-%m-%dT%H:%M:%SZ")
