"""Column types of the channel tables: UTC timestamps the same way on every dialect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def now_utc() -> datetime:
    """The current time, aware and in UTC (the default ``now`` of every recording function)."""
    return datetime.now(UTC)


#: How SQLite keeps a timestamp: fixed-width text, so that text order is time order.
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was handed to the channel database."""


def naive_utc(value: datetime) -> datetime:
    """An aware datetime as a plain naive datetime in UTC (not a pandas Timestamp), as every driver takes it."""
    if value.tzinfo is None:
        raise NaiveDatetimeError(f"naive datetime {value!r}: the channel database only takes timezone-aware values")
    utc = value.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)


def utc_text(value: datetime) -> str:
    """An aware datetime as fixed-width UTC text: SQLite's storage, and a JSON batch's (see ``upserts``)."""
    return naive_utc(value).strftime(SQLITE_FORMAT)


class UtcDateTime(TypeDecorator):
    """A point in time: timezone-aware datetimes in, aware UTC datetimes out.

    Stored as UTC without a zone: ``DATETIME(6)`` on MySQL/MariaDB, ``TIMESTAMP(6)``
    on PostgreSQL, and on SQLite ``TEXT`` holding ``'YYYY-MM-DD HH:MM:SS.ffffff'``
    (the storage of the channel databases created before the migrations, whose
    comparisons and ordering are text comparisons). A naive datetime is refused:
    its zone would be a guess.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return Text()
        if dialect.name in ("mysql", "mariadb"):
            return mysql.DATETIME(fsp=6)
        if dialect.name == "postgresql":
            return postgresql.TIMESTAMP(precision=6)
        return DateTime()

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return utc_text(value) if dialect.name == "sqlite" else naive_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
