"""Newer-wins upserts built from the table definitions, one per dialect.

A row whose version column (Amazon's ``lastUpdatedTime``) is newer than the stored
one replaces the stored data; an older or equal one changes nothing but the
columns that always move (such as ``last_seen_at``). SQLite and PostgreSQL use
``INSERT … ON CONFLICT DO UPDATE``, MySQL/MariaDB ``INSERT … ON DUPLICATE KEY
UPDATE``, whose assignments run left to right and see the ones before: the
version column, which every condition reads, is therefore assigned last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from sqlalchemy import Table, bindparam, case
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.dml import Insert

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert, "mysql": mysql.insert, "mariadb": mysql.insert}


def newer_wins(
    dialect: str,
    table: Table,
    values: Mapping[str, str],
    version: str,
    *,
    always: Sequence[str] = (),
    insert_only: Sequence[str] = (),
) -> Insert:
    """An upsert into ``table`` keyed by its primary key, to execute with many parameter sets.

    ``values``: each column inserted and the bind parameter it takes (several
    columns may share one). ``version``: the column deciding which row is newer.
    ``always``: columns updated whatever the version; ``insert_only``: never updated.
    """
    statement = _INSERTS[dialect](table).values(
        {name: bindparam(param, type_=table.c[name].type) for name, param in values.items()}
    )
    keys = [column.name for column in table.primary_key.columns]
    new = statement.inserted if dialect in ("mysql", "mariadb") else statement.excluded
    newer = new[version] > table.c[version]
    kept_apart = (*keys, version, *always, *insert_only)
    assignments = [(name, case((newer, new[name]), else_=table.c[name])) for name in values if name not in kept_apart]
    assignments += [(name, new[name]) for name in always]
    assignments.append((version, case((newer, new[version]), else_=table.c[version])))
    if dialect in ("mysql", "mariadb"):
        return statement.on_duplicate_key_update(assignments)
    return statement.on_conflict_do_update(index_elements=keys, set_=dict(assignments))


@cache
def staging_upsert(dialect: str, table: Table, columns: tuple[str, ...], version: str, seen: bool) -> Insert:
    """:func:`newer_wins` for a staging frame's ``columns``; with ``seen``, both seen-at columns take ``:seen_at``."""
    values = {name: name for name in columns}
    if not seen:
        return newer_wins(dialect, table, values, version)
    values |= {"last_seen_at": "seen_at", "first_seen_at": "seen_at"}
    return newer_wins(dialect, table, values, version, always=["last_seen_at"], insert_only=["first_seen_at"])
