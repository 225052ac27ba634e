"""ISO-8601 parsing and formatting shared by the SP-API sandbox and the order generator."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def utcnow() -> datetime:
    """The real current time, aware UTC."""
    return datetime.now(UTC)


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 date or date-time into an aware UTC datetime.

    Accepts ``2025-01-01``, ``2025-01-01T10:00Z``, ``2025-01-01T10:00:00.123Z`` and
    numeric offsets (``+02:00``, ``+0200``, ``+02``); a date-time without a zone is
    taken as UTC. Raises ``ValueError`` for anything else.
    """
    text = value.strip()
    if _DATE_ONLY.match(text):
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    match = _DATE_TIME.match(text)
    if not match:
        raise ValueError(f"not an ISO-8601 date-time: {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, UTC)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        parsed -= sign * offset
    return parsed


def iso_z(moment: datetime) -> str:
    """Format as Amazon does: UTC, second precision, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_seconds(moment: datetime) -> datetime:
    """Drop sub-second precision (Amazon timestamps have whole seconds)."""
    return moment.replace(microsecond=0)
