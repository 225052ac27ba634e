"""Alembic environment of the channel database (run by :mod:`include.channel_db.migrate`, no alembic.ini).

The caller hands over an open connection in ``config.attributes["connection"]``;
the revisions run in its transaction. SQLite alters tables in batch mode
(copy and move), the only way it can change most of a table.
"""

from alembic import context

from include.channel_db.migrate import VERSION_TABLE
from include.channel_db.tables import metadata
from include.channel_db.types import UtcDateTime


def render_item(kind, obj, autogen_context):
    """New revisions name the UTC timestamp type by its class, imported at the top."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        autogen_context.imports.add("from include.channel_db.types import UtcDateTime")
        return "UtcDateTime()"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
