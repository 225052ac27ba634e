"""Airflow adapters: hooks on the connections, the alert notifier, assets, the landing store, DAG defaults, timetables, task-failure policy."""
