"""The channel database (our staging and state tables) reached through the ``channel_db`` connection.

The connection may be SQLite (the local default), MySQL/MariaDB or PostgreSQL;
the provider hook for its type builds the SQLAlchemy engine, so the tasks and
the common-sql check operators share one connection definition.
"""

from __future__ import annotations

from functools import cache

from airflow.sdk import BaseHook
from sqlalchemy import Engine

CHANNEL_DB_CONN_ID = "channel_db"


@cache
def channel_engine(conn_id: str = CHANNEL_DB_CONN_ID) -> Engine:
    """A pooled SQLAlchemy engine for the channel database (one per process)."""
    hook = BaseHook.get_connection(conn_id).get_hook()
    return hook.get_sqlalchemy_engine()
