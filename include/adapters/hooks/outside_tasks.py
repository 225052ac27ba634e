"""Connections for operator tools that run outside a task (reports, the demo's warehouse).

Inside a task the Task SDK reads connections through the task's supervisor;
outside one it reads only environment variables and external secrets
backends, never the metadata DB. Operator tools therefore look their
connections up as the ``airflow connections`` CLI does and hand them to the
SDK as ``AIRFLOW_CONN_*`` variables of their own process, so that the same
hooks the tasks use work unchanged.
"""

from __future__ import annotations

import os


def export_connections(*conn_ids: str) -> None:
    """Make ``conn_ids`` visible to the hooks of this process (a variable already set wins)."""
    from airflow.models.connection import Connection

    for conn_id in conn_ids:
        env_key = f"AIRFLOW_CONN_{conn_id.upper()}"
        if env_key not in os.environ:
            os.environ[env_key] = Connection.get_connection_from_secrets(conn_id).as_json()
