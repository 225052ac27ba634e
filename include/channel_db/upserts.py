"""Newer-wins upserts built from the table definitions, one per dialect, and how a batch is sent.

A row whose version column (Amazon's ``lastUpdatedTime``) is newer than the stored
one replaces the stored data; an older or equal one changes nothing but the
columns that always move (such as ``last_seen_at``). SQLite and PostgreSQL use
``INSERT … ON CONFLICT DO UPDATE``, MySQL/MariaDB ``INSERT … ON DUPLICATE KEY
UPDATE``, whose assignments run left to right and see the ones before: the
version column, which every condition reads, is therefore assigned last.

A batch travels as the driver sends many parameter sets best: SQLite and MySQL
take them as an ``executemany`` (PyMySQL and mysqlclient rewrite it into
multi-row INSERTs), PostgreSQL as one JSON array in a single parameter, unpacked
by ``jsonb_to_recordset`` into columns of the table's types: one statement and
one round trip per batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from numbers import Integral
from typing import Any

from sqlalchemy import Connection, Table, Text, bindparam, case, cast, column, func, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from include.channel_db.types import utc_text

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert, "mysql": mysql.insert, "mariadb": mysql.insert}


def _json_rows(table: Table, values: Mapping[str, str]) -> Any:
    """A SELECT of the JSON array parameter ``:rows`` as records of ``values``' parameters (PostgreSQL)."""
    types: dict[str, Any] = {}
    for name, param in values.items():
        types.setdefault(param, table.c[name].type)
    records = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), postgresql.JSONB))
        .table_valued(*(column(param, type_) for param, type_ in types.items()))
        .render_derived(name="r", with_types=True)
    )
    return select(*(records.c[param] for param in values.values()))


def newer_wins(
    dialect: str,
    table: Table,
    values: Mapping[str, str],
    version: str,
    *,
    always: Sequence[str] = (),
    insert_only: Sequence[str] = (),
) -> Insert:
    """An upsert into ``table`` keyed by its primary key, for :func:`send` with a batch of rows.

    ``values``: each column inserted and the row key it takes (several columns may
    share one). ``version``: the column deciding which row is newer. ``always``:
    columns updated whatever the version; ``insert_only``: never updated.
    """
    insert = _INSERTS[dialect](table)
    if dialect == "postgresql":
        statement = insert.from_select(list(values), _json_rows(table, values))
    else:
        statement = insert.values({name: bindparam(param, type_=table.c[name].type) for name, param in values.items()})
    keys = [c.name for c in table.primary_key.columns]
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
    """:func:`newer_wins` for a staging frame's ``columns``; with ``seen``, both seen-at columns take ``seen_at``."""
    values = {name: name for name in columns}
    if not seen:
        return newer_wins(dialect, table, values, version)
    values |= {"last_seen_at": "seen_at", "first_seen_at": "seen_at"}
    return newer_wins(dialect, table, values, version, always=["last_seen_at"], insert_only=["first_seen_at"])


def _json_value(value: Any) -> Any:
    """What ``json`` cannot write itself: timestamps as UTC text, decimals as exact text, NumPy integers."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Integral):
        return int(value)
    raise TypeError(f"cannot send {type(value).__name__} in a JSON batch")


def send(conn: Connection, upsert: Insert, rows: list[dict[str, Any]]) -> None:
    """Execute ``upsert`` for a batch of rows: one statement (see the module's note)."""
    if conn.dialect.name == "postgresql":
        conn.execute(upsert, {"rows": json.dumps(rows, default=_json_value)})
    else:
        conn.execute(upsert, rows)
