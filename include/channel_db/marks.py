"""High-water marks: per job, the end of the last window it finished; a mark only moves forward."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from include.channel_db.statements import statement, tx
from include.channel_db.types import now_utc


def high_water_mark(bind: Engine | Connection, job: str) -> datetime | None:
    """The end of the last window ``job`` finished, or None before its first run."""
    with tx(bind) as conn:
        return conn.execute(statement(conn, "select_high_water_mark"), {"job": job}).scalar()


def set_high_water_mark(bind: Engine | Connection, job: str, ts: datetime, *, now: datetime | None = None) -> datetime:
    """Move ``job``'s mark forward to ``ts`` (an older ``ts`` leaves it); returns the mark now stored."""
    with tx(bind) as conn:
        conn.execute(statement(conn, "upsert_high_water_mark"), {"job": job, "mark": ts, "now": now or now_utc()})
        return conn.execute(statement(conn, "select_high_water_mark"), {"job": job}).scalar()
