"""The sync's schedule: 15-minute data intervals, and backfills that end where the operator's range ends.

Registered with Airflow by ``plugins/timetables.py`` (Airflow only runs custom
timetables that a plugin registers, in every component).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.timetables.interval import CronDataIntervalTimetable

if TYPE_CHECKING:
    from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction


class IntervalsWithinRange(CronDataIntervalTimetable):
    """Cron data intervals, where a backfill makes a run only for the intervals that lie within its range.

    Airflow makes a backfill run for every logical date from the range's start to its
    end, both included; with data intervals the logical date is the interval's *start*,
    so a plain ``CronDataIntervalTimetable`` backfilled from 20:00 to 21:00 also gets the
    run 21:00–21:15. Here an interval must also *end* by the range's end
    (``restriction.latest``): 20:00 to 21:00 makes the four runs 20:00–20:15 …
    20:45–21:00. Scheduled runs are not affected: their only bound is the DAG's
    ``end_date``, which the sync does not have.
    """

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        info = super().next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval, restriction=restriction
        )
        if info is None or restriction.latest is None or info.data_interval is None:
            return info
        return info if info.data_interval.end <= restriction.latest else None
