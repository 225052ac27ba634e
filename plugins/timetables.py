"""Registers the sync's timetable (:class:`include.adapters.timetables.IntervalsWithinRange`) with Airflow.

Airflow serialises and schedules a DAG with a custom timetable only when a plugin
registers the class, in the DAG processor, the scheduler and the API server alike.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.adapters.timetables import IntervalsWithinRange


class SyncTimetablesPlugin(AirflowPlugin):
    """Registers :class:`~include.adapters.timetables.IntervalsWithinRange`."""

    name = "amazon_commerce_timetables"
    timetables = [IntervalsWithinRange]
