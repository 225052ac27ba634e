"""High-water marks: per job and seller account, the end of the last window it finished; a mark only moves forward."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from include.channel_db.statements import DEFAULT_ACCOUNT, statement, tx
from include.channel_db.types import now_utc


def high_water_mark(bind: Engine | Connection, job: str, account: str = DEFAULT_ACCOUNT) -> datetime | None:
    """The end of the last window ``job`` finished for ``account``, or None before its first run."""
    with tx(bind) as conn:
        return conn.execute(statement(conn, "select_high_water_mark"), {"job": job, "account": account}).scalar()


def set_high_water_mark(
    bind: Engine | Connection, job: str, ts: datetime, *, account: str = DEFAULT_ACCOUNT, now: datetime | None = None
) -> datetime:
    """Move ``job``'s mark (of ``account``) forward to ``ts`` (an older ``ts`` leaves it); returns the mark now stored."""
    with tx(bind) as conn:
        conn.execute(
            statement(conn, "upsert_high_water_mark"),
            {"job": job, "account": account, "mark": ts, "now": now or now_utc()},
        )
        return conn.execute(statement(conn, "select_high_water_mark"), {"job": job, "account": account}).scalar()
