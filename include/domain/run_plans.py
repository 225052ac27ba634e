"""What one run of each DAG looks at: typed plans, made by the first task and read by every other.

XCom carries a plan as a small JSON object (:meth:`to_xcom`); each task body turns it
back into the dataclass (:meth:`from_xcom`) before reading it, so no module reads
plan fields by string keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, Self

from include.domain.windows import to_amazon_timestamp

Mode = Literal["window", "orders"]


def _time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Plan:
    """Fields both plans share: a window (``start``/``end``) or a list of Amazon order ids."""

    mode: Mode
    dry_run: bool = False
    amazon_order_ids: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    ignored_params: list[str] = field(default_factory=list)

    @property
    def only_ids(self) -> list[str] | None:
        """The order-id filter for channel queries: the ids of a re-sync, or None (every order)."""
        return list(self.amazon_order_ids) or None

    @property
    def window(self) -> dict[str, str | None] | None:
        """The window as Amazon timestamps (for summaries), or None for a run by order ids."""
        if self.mode == "orders" or self.start is None or self.end is None:
            return None
        return {"start": to_amazon_timestamp(self.start), "end": to_amazon_timestamp(self.end)}

    def to_xcom(self) -> dict[str, Any]:
        """A JSON-able dict (timestamps as ISO 8601 strings, to the microsecond)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}

    @classmethod
    def from_xcom(cls, data: Self | dict[str, Any]) -> Self:
        """The plan from what :meth:`to_xcom` returned (a plan is returned as it is)."""
        if isinstance(data, cls):
            return data
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("start", "end", "planned_at"):
            if key in values:
                values[key] = _time(values[key])
        return cls(**values)


@dataclass(frozen=True)
class SyncPlan(_Plan):
    """An ``amazon_order_sync`` run: a ``lastUpdatedTime`` window (possibly empty) or orders to re-sync."""

    empty: bool = False
    planned_at: datetime | None = None

    @property
    def moves_high_water_mark(self) -> bool:
        """Staging a window moves the extract's high-water mark to its end; a re-sync by id does not."""
        return self.mode == "window" and not self.empty


@dataclass(frozen=True)
class PushPlan(_Plan):
    """An ``amazon_tracking_push`` run: a shipment ``updated_at`` window and/or orders' shipments."""

    move_mark: bool = False
    #: Send the chosen orders' refused packages again (only with ``amazon_order_ids``).
    resend_refused: bool = False
