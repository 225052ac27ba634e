"""Schema migrations of the channel database: Alembic driven from Python, and ``scripts/channel-db``.

Where a database stands (:func:`schema_state`):

``empty``    no channel table yet: :func:`upgrade` creates the schema
``legacy``   created by a release before migrations (channel tables, no version table):
             :func:`upgrade` recognises it as revision 0001, adding only the tables it lacks
``behind``   an older revision: :func:`upgrade` applies the newer ones
``current``  the code's head revision
``unknown``  a revision this code does not know (a newer release migrated it)

The revision is kept in ``channel_alembic_version`` (not ``alembic_version``, so
that a channel database sharing a schema with another Alembic user, such as
Airflow's metadata database, never mixes the two). The DAGs run only on a
``current`` schema (:func:`require_current`), and create an ``empty`` one.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, column, create_engine, inspect, select, table, text

from include.adapters.task_failures import PermanentError
from include.channel_db.statements import tx
from include.channel_db.tables import metadata

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "channel_alembic_version"
UPGRADE_COMMAND = "scripts/channel-db upgrade"


class SchemaNotCurrent(PermanentError):
    """The channel database's schema is not the one this code was written for (no retry can change that)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration, built in code (no alembic.ini); ``connection`` is what the revisions run on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision in ``migrations/versions/``: the schema this code expects."""
    head = _scripts().get_current_head()
    assert head is not None, f"no revisions in {MIGRATIONS_DIR}"
    return head


@dataclass(frozen=True)
class SchemaState:
    """Where a channel database stands: its revision (None without a version table) and its channel tables."""

    revision: str | None
    head: str
    tables: frozenset[str]

    @property
    def status(self) -> str:
        if self.revision is None:
            return "legacy" if self.tables else "empty"
        if self.revision == self.head:
            return "current"
        try:
            known = _scripts().get_revision(self.revision) is not None
        except CommandError:
            known = False
        return "behind" if known else "unknown"

    def describe(self) -> str:
        """One sentence for an operator."""
        return {
            "empty": "has no channel tables yet",
            "legacy": f"was created before schema migrations (no {VERSION_TABLE} table)",
            "behind": f"is at revision {self.revision}, older than this code's {self.head}",
            "current": f"is at revision {self.revision}, this code's head",
            "unknown": f"is at revision {self.revision}, which this code does not know (head {self.head}): "
            "a newer release migrated it",
        }[self.status]


def schema_state(bind: Engine | Connection) -> SchemaState:
    """Read the revision and the channel tables of a database (changes nothing, logs nothing)."""
    with tx(bind) as conn:
        names = set(inspect(conn).get_table_names())
        revision = None
        if VERSION_TABLE in names:
            revision = conn.execute(select(column("version_num")).select_from(table(VERSION_TABLE))).scalar()
        return SchemaState(revision, head_revision(), frozenset(names & set(metadata.tables)))


def upgrade(bind: Engine | Connection, revision: str = "head") -> tuple[SchemaState, SchemaState]:
    """Bring the database to ``revision`` (the head by default); returns where it was and where it is.

    A legacy database is recognised as revision 0001 (its tables and rows are kept;
    only tables that release had not created yet are added). Nothing is ever dropped
    on the way up; on SQLite a column type change copies the table (Alembic's batch
    mode, revision 0003), rows kept as they are.
    """
    with tx(bind) as conn:
        before = schema_state(conn)
        if before.status == "unknown":
            raise SchemaNotCurrent(f"the channel database {before.describe()}; it cannot be upgraded by this code")
        if before.status == "legacy":
            log.info(
                "adopting a channel database created before migrations (tables: %s)", ", ".join(sorted(before.tables))
            )
        command.upgrade(alembic_config(conn), revision)
        after = schema_state(conn)
    return before, after


@contextmanager
def _migration_lock(bind: Engine | Connection) -> Iterator[None]:
    """Hold the database-wide migration lock: a lock file beside a SQLite file, ``GET_LOCK`` on MySQL/MariaDB,
    an advisory lock on PostgreSQL (both on a connection of their own). No lock for a bare Connection or in-memory
    SQLite: nothing else can reach those."""
    if not isinstance(bind, Engine):
        yield
        return
    dialect, database = bind.dialect.name, bind.url.database
    if dialect == "sqlite":
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    lock, unlock = {
        "postgresql": ("SELECT pg_advisory_lock(7406)", "SELECT pg_advisory_unlock(7406)"),
        "mysql": ("SELECT GET_LOCK('channel_db_migrate', 120)", "SELECT RELEASE_LOCK('channel_db_migrate')"),
        "mariadb": ("SELECT GET_LOCK('channel_db_migrate', 120)", "SELECT RELEASE_LOCK('channel_db_migrate')"),
    }.get(dialect, (None, None))
    if lock is None:
        yield
        return
    with bind.connect() as conn:
        conn.execute(text(lock))
        try:
            yield
        finally:
            conn.execute(text(unlock))


def require_current(bind: Engine | Connection) -> SchemaState:
    """What the DAGs do first: go on at the head revision, create an empty database, refuse anything else.

    Raises :class:`SchemaNotCurrent` (a permanent error: the task fails at once) naming
    the command that upgrades the database.
    """
    state = schema_state(bind)
    if state.status != "current":
        # Several tasks may start at once on a new database: one creates it, the others wait for it under the lock
        # (and would otherwise see its tables before its revision, and call it legacy).
        with _migration_lock(bind):
            state = schema_state(bind)
            if state.status == "empty":
                return upgrade(bind)[1]
    if state.status != "current":
        raise SchemaNotCurrent(
            f"the channel database {state.describe()}: run `{UPGRADE_COMMAND}` "
            "(add --url for a database other than the channel_db connection), then run the DAG again"
        )
    return state


def new_revision(message: str) -> Path:
    """Write the next revision file, generated from the difference between the head and ``tables.py``.

    The difference is taken on a scratch SQLite database; read the file, check it
    on every dialect (the tests do), and complete what autogenerate cannot see.
    """
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/head.db")
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
                script = command.revision(
                    alembic_config(conn), message=message, autogenerate=True, rev_id=f"{int(head_revision()) + 1:04d}"
                )
        finally:
            engine.dispose()
    return Path(script.path)  # type: ignore[union-attr]


def _engine(url: str | None) -> Engine:
    if url:
        return create_engine(url)
    from include.adapters.hooks.channel_db import channel_engine
    from include.adapters.hooks.outside_tasks import export_connections

    export_connections("channel_db")
    return channel_engine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/channel-db", description="Schema migrations of the channel database."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, summary in (("upgrade", "bring the channel database to this code's schema"),
                       ("current", "say where the channel database stands (exit 1 unless current)")):  # fmt: skip
        command_parser = sub.add_parser(name, help=summary)
        command_parser.add_argument("--url", help="SQLAlchemy URL (default: the channel_db Airflow connection)")
    revision = sub.add_parser("revision", help="write the next revision file from the changes made in tables.py")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)  # "Context impl …" on every connection

    if args.command == "revision":
        print(f"wrote {new_revision(args.message)}")
        return 0
    engine = _engine(args.url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        if args.command == "upgrade":
            before, after = upgrade(engine)
            if before.revision == after.revision:
                print(f"{where}: already at {after.revision} (head)")
            else:
                print(f"{where}: upgraded from {before.revision or before.status} to {after.revision} (head)")
            return 0
        state = schema_state(engine)
        print(f"{where}: {state.status} — the database {state.describe()}")
        return 0 if state.status == "current" else 1
    except SchemaNotCurrent as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
