"""The statement files of ``include/sql/`` as typed SQLAlchemy text, and the transaction helper.

Every read and most writes are a file in ``include/sql/`` (the style guide);
:func:`statement` binds and reads their timestamps as :class:`UtcDateTime`:
parameters named like a timestamp column (or ``now``, ``mark``, ``since``, ``cutoff``) and
result columns with such a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Result, RowMapping, String, TextClause, bindparam, text
from sqlalchemy.exc import StatementError

from include.channel_db.tables import TIMESTAMP_COLUMNS
from include.channel_db.types import NaiveDatetimeError, UtcDateTime

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
#: Rows per batched statement (the MySQL driver splits further by statement size).
BATCH_ROWS = 1000
#: ``LIMIT`` when the caller sets none.
NO_LIMIT = 2_147_483_647
#: Fallbacks when a dialect has no file of its own: MariaDB shares MySQL's syntax.
_DIALECT_FALLBACK = {"mariadb": "mysql"}
#: Parameter and column names that hold a timestamp.
_TIMESTAMPS = TIMESTAMP_COLUMNS | {"now", "mark", "since", "cutoff"}
_BIND = re.compile(r"(?<![:\w]):(\w+)")
T = TypeVar("T")


@cache
def sql(name: str, dialect: str | None = None) -> str:
    """The statement in ``include/sql/<name>.<dialect>.sql`` if present, else ``<name>.sql``.

    Whole-line ``--`` comments are removed (they document the files; drivers such as
    PyMySQL only batch an ``executemany`` INSERT when the text starts with INSERT).
    """
    candidates = []
    if dialect:
        candidates.append(f"{name}.{dialect}.sql")
        if dialect in _DIALECT_FALLBACK:
            candidates.append(f"{name}.{_DIALECT_FALLBACK[dialect]}.sql")
    candidates.append(f"{name}.sql")
    for candidate in candidates:
        path = SQL_DIR / candidate
        if path.is_file():
            lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
            return "\n".join(lines).strip()
    raise FileNotFoundError(
        f"no SQL file for {name!r} (dialect {dialect!r}) in {SQL_DIR}: tried {', '.join(candidates)}"
    )


@cache
def _statement(name: str, dialect: str, expanding: tuple[str, ...]) -> TextClause:
    source = sql(name, dialect)
    params = set(_BIND.findall(source))
    binds = [bindparam(p, expanding=True, type_=String if p == "only_ids" else None) for p in expanding if p in params]
    binds += [bindparam(p, type_=UtcDateTime) for p in sorted(params & _TIMESTAMPS)]
    clause = text(source).bindparams(*binds)
    if source.lstrip().upper().startswith("SELECT"):
        return clause.columns(**dict.fromkeys(_TIMESTAMPS, UtcDateTime))  # type: ignore[return-value]
    return clause


def statement(conn: Connection, name: str, *expanding: str) -> TextClause:
    """The statement ``name`` for this connection's dialect; ``expanding`` names its list parameters (if it has them).

    ``only_ids`` (the optional Amazon order id filter) may be an empty list, which needs its element type.
    """
    return _statement(name, conn.dialect.name, expanding)


@contextmanager
def tx(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection in a transaction: a new one committed at the end for an ``Engine``, else the caller's.

    A naive datetime among the parameters raises :class:`NaiveDatetimeError` (a ``ValueError``) itself,
    not wrapped in SQLAlchemy's ``StatementError``: it is the caller's mistake, not the database's.
    """
    try:
        if isinstance(bind, Engine):
            with bind.begin() as conn:
                yield conn
        else:
            yield bind
    except StatementError as exc:
        if isinstance(exc.orig, NaiveDatetimeError):
            raise exc.orig from None
        raise


def id_filter(only_ids: Sequence[str] | None) -> dict[str, Any]:
    """Parameters of the optional id filter, ``AND (:all_orders = 1 OR amazon_order_id IN :only_ids)``."""
    if only_ids is None:
        return {"all_orders": 1, "only_ids": []}
    return {"all_orders": 0, "only_ids": sorted(set(only_ids))}


def records(cls: type[T], result: Result, **derived: Callable[[RowMapping], Any]) -> list[T]:
    """One ``cls`` (a dataclass) per row: each field from the column of its name, or computed by ``derived[field]``."""
    names = [field.name for field in fields(cls) if field.name not in derived]
    return [
        cls(**{name: row[name] for name in names}, **{name: f(row) for name, f in derived.items()})
        for row in result.mappings()
    ]


#: The account of rows written before accounts existed, and of a deployment with one account.
DEFAULT_ACCOUNT = "default"


def account_filter(account: str | None) -> dict[str, Any]:
    """Parameters of an optional account filter (``:any_account``, ``:account``): None selects every account."""
    return {"any_account": 1 if account is None else 0, "account": account or DEFAULT_ACCOUNT}


def select_records(
    bind: Engine | Connection,
    name: str,
    cls: type[T],
    *,
    only_ids: Sequence[str] | None,
    limit: int | None,
    params: dict[str, Any] | None = None,
    expanding: Sequence[str] = (),
    **derived: Callable[[RowMapping], Any],
) -> list[T]:
    """:func:`records` of a statement with the optional id filter (an empty list selects nothing) and a limit."""
    if only_ids is not None and not only_ids:
        return []
    with tx(bind) as conn:
        query = statement(conn, name, *expanding, "only_ids")
        values = {**(params or {}), "limit": limit or NO_LIMIT, **id_filter(only_ids)}
        return records(cls, conn.execute(query, values), **derived)


def chunks(values: Sequence[Any], size: int = BATCH_ROWS) -> Iterator[list[Any]]:
    """``values`` in lists of at most ``size``."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])
