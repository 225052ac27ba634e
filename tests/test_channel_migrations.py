"""Channel schema migrations: a database of the release before migrations is upgraded in place, on every dialect.

The fixture ``tests/fixtures/channel_schema_v1.<dialect>.sql`` is that release's
DDL, as its ``create_schema`` ran it; rows are written in that release's storage
(SQLite timestamps as fixed-width text). ``scripts/channel-db upgrade`` must keep
every row, after which the sync and the tracking push run on the database. The
head revision must also match ``tables.py`` exactly (no pending model change).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from include import channel_db as db
from include.channel_db.migrate import VERSION_TABLE
from include.channel_db.tables import metadata
from tests import amazon_orders as ao
from tests.conftest import PROJECT_ROOT, fresh_channel_engine
from tests.test_tracking_push import commerce, confirmations, mfn, push, put_orders, ship, sync  # noqa: F401

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
CHANNEL_DB = str(PROJECT_ROOT / "scripts" / "channel-db")
NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(hours=5, microseconds=-123456)
SHIPPED, PENDING_FBA, NEW_ORDER = "111-3000001-0000001", "111-3000002-0000001", "111-3000003-0000001"


def v1_schema(engine) -> None:
    """Create the channel tables with the pre-migration release's DDL."""
    name = "mysql" if engine.dialect.name in ("mysql", "mariadb") else engine.dialect.name
    script = (FIXTURES / f"channel_schema_v1.{name}.sql").read_text()
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    with engine.begin() as conn:
        for statement in "\n".join(lines).split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)


def legacy_rows() -> dict[str, list[dict]]:
    """A row or two in every table, as the release before migrations wrote them."""
    payload = json.dumps(mfn(SHIPPED, ao.line("MUG-001", qty=2, unit="12.50"), ao.line("TEE-002", unit="20.50")))
    order = {
        "marketplace_id": "ATVPDKIKX0DER", "currency": "USD", "item_count": 2, "buyer_name": "Ana Smith",
        "buyer_email": "ana@marketplace.amazon.com", "sync_fingerprint": "f" * 64, "payload": payload,
        "first_seen_at": OLD, "last_seen_at": OLD, "import_error": None, "import_attempts": 1, "first_failed_at": None,
        "last_attempt_at": OLD, "commerce_updated_at": None,
    }  # fmt: skip
    item = {"title": "A mug", "quantity_shipped": 0, "currency": "USD", "item_tax": Decimal("0.00"),
            "item_discount": Decimal("0.00"), "shipping_price": Decimal("0.00"), "shipping_tax": Decimal("0.00"),
            "shipping_discount": Decimal("0.00"), "order_last_updated_at": OLD}  # fmt: skip
    return {
        "channel_order": [
            {**order, "amazon_order_id": SHIPPED, "fulfilled_by": "MERCHANT", "amazon_status": "SHIPPED",
             "channel_status": "Shipped", "created_at": OLD - timedelta(hours=1), "last_updated_at": OLD,
             "order_total": Decimal("45.50"), "import_status": "imported", "commerce_order_id": 990001,
             "commerce_increment_id": "000990001", "imported_at": OLD, "imported_fingerprint": "f" * 64},
            {**order, "amazon_order_id": PENDING_FBA, "fulfilled_by": "AMAZON", "amazon_status": "PENDING",
             "channel_status": "Pending", "created_at": OLD, "last_updated_at": OLD, "order_total": None,
             "buyer_email": None, "import_status": "staged", "import_attempts": 0, "last_attempt_at": None,
             "commerce_order_id": None, "commerce_increment_id": None, "imported_at": None,
             "imported_fingerprint": None},
        ],
        "channel_order_item": [
            {**item, "amazon_order_id": SHIPPED, "order_item_id": "30000000000001", "sku": "MUG-001", "asin": "B01",
             "quantity_ordered": 2, "quantity_confirmed": 2, "unit_price": Decimal("12.50"),
             "item_subtotal": Decimal("25.00"), "proceeds_total": Decimal("25.00"), "commerce_order_item_id": 77001},
            {**item, "amazon_order_id": SHIPPED, "order_item_id": "30000000000002", "sku": "TEE-002", "asin": "B02",
             "quantity_ordered": 1, "quantity_confirmed": 1, "unit_price": Decimal("20.50"),
             "item_subtotal": Decimal("20.50"), "proceeds_total": Decimal("20.50"), "commerce_order_item_id": 77002},
        ],
        "channel_order_link": [
            {"commerce_order_id": 990001, "amazon_order_id": SHIPPED, "commerce_increment_id": "000990001",
             "linked_at": OLD},
        ],
        "channel_sync_state": [
            {"job": "amazon_order_sync", "high_water_mark": OLD, "updated_at": OLD},
            {"job": "amazon_tracking_push", "high_water_mark": OLD, "updated_at": OLD},
        ],
        "channel_shipment_push": [
            {"amazon_order_id": SHIPPED, "package_reference_id": "99000000000001", "commerce_order_id": 990001,
             "commerce_shipment_id": 9900, "commerce_track_id": 1, "carrier_code": "UPS", "carrier_name": None,
             "shipping_method": "UPS Ground", "tracking_number": "1ZLEGACY", "ship_date": OLD,
             "items": '[["30000000000001", 2], ["30000000000002", 1]]', "status": "confirmed", "attempts": 1,
             "last_error": None, "created_at": OLD, "first_attempt_at": OLD, "last_attempt_at": OLD,
             "confirmed_at": OLD},
        ],
        "channel_order_completion": [
            {"amazon_order_id": SHIPPED, "commerce_order_id": 990001, "status": "completed", "attempts": 1,
             "last_error": None, "first_attempt_at": OLD, "last_attempt_at": OLD, "completed_at": OLD},
        ],
        "channel_order_rejection": [
            {"rejection_key": "id:111-3000009-0000001", "amazon_order_id": "111-3000009-0000001",
             "reason": "malformed order: orderItems: must be a list", "landing_source": "page-00001.ndjson:3",
             "times_seen": 2, "first_seen_at": OLD, "last_seen_at": OLD},
        ],
    }  # fmt: skip


def insert_legacy_rows(engine) -> None:
    """Insert :func:`legacy_rows` as that release bound them: on SQLite text timestamps and decimals, else naive UTC."""

    def stored(value):
        if isinstance(value, Decimal) and engine.dialect.name == "sqlite":
            return str(value)
        if not isinstance(value, datetime):
            return value
        utc = value.astimezone(UTC).replace(tzinfo=None)
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else utc

    with engine.begin() as conn:
        for table, rows in legacy_rows().items():
            columns = list(rows[0])
            insert = text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})")
            conn.execute(insert, [{c: stored(row[c]) for c in columns} for row in rows])


def _key(table) -> str:
    """The table's primary key, without the columns revision 0004 added to it (a legacy table lacks them)."""
    return ", ".join(c.name for c in table.primary_key if c.name != "account")


def snapshot(engine, like: dict[str, list[dict]] | None = None) -> dict[str, list[dict]]:
    """Every row of every channel table, as the database returns it, in primary-key order.

    With ``like`` (an earlier snapshot), only the columns it has: later revisions add columns.
    """
    with engine.connect() as conn:
        tables = {
            table.name: [
                dict(row) for row in conn.execute(text(f"SELECT * FROM {table.name} ORDER BY {_key(table)}")).mappings()
            ]
            for table in metadata.sorted_tables
        }
    if like is None:
        return tables
    return {
        name: [{c: row[c] for c in (like[name][0] if like[name] else row)} for row in rows]
        for name, rows in tables.items()
    }


def channel_db_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHANNEL_DB, *args], capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)


def pending_changes(engine) -> list:
    """What autogenerate would put in a new revision: the differences between the database and ``tables.py``."""
    with engine.connect() as conn:
        options = {"compare_type": True, "compare_server_default": True, "version_table": VERSION_TABLE}
        context = MigrationContext.configure(conn, opts=options)
        return compare_metadata(context, metadata)


@pytest.mark.parametrize(
    "sync_env", [None, "mariadb", "postgres"], indirect=True, ids=["sqlite", "mariadb", "postgres"]
)
def test_a_channel_db_of_the_last_release_is_upgraded_in_place_and_the_dags_run_on_it(sync_env, commerce):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    from include.tasks import order_sync, tracking_push

    url = sync_env.channel_url
    engine = create_engine(url)
    v1_schema(engine)
    insert_legacy_rows(engine)
    before = snapshot(engine)
    assert all(before.values()), {table: len(rows) for table, rows in before.items()}

    # The DAGs refuse a database older than the code, naming the command.
    for plan in (lambda: order_sync.plan_run({}, None, None), lambda: tracking_push.plan_run({}, None)):
        with pytest.raises(AirflowFailException, match="created before schema migrations.*scripts/channel-db upgrade"):
            plan()
    assert snapshot(engine) == before

    current = channel_db_command("current", "--url", url)
    assert current.returncode == 1 and "legacy" in current.stdout, current
    upgraded = channel_db_command("upgrade", "--url", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from legacy to {db.head_revision()}" in upgraded.stdout
    current = channel_db_command("current", "--url", url)
    assert current.returncode == 0 and "current" in current.stdout, current
    again = channel_db_command("upgrade", "--url", url)
    assert again.returncode == 0 and "already at" in again.stdout, again

    # Every row survives, byte for byte, and reads through the new code as the old one read it.
    assert snapshot(engine, like=before) == before
    assert [row["buyer_data_purged_at"] for row in snapshot(engine)["channel_order"]] == [None, None]
    assert pending_changes(engine) == []
    assert db.high_water_mark(engine, "amazon_order_sync") == OLD
    with engine.connect() as conn:  # rows from before accounts belong to the account `default`
        for table in ("channel_order", "channel_shipment_push", "channel_sync_state"):
            assert set(conn.execute(text(f"SELECT DISTINCT account FROM {table}")).scalars()) == {"default"}, table
    [legacy_push] = db.shipment_pushes(engine, [SHIPPED])
    assert (legacy_push.ship_date, legacy_push.status) == (OLD, "confirmed")
    assert [(q.amazon_order_id, q.import_status, q.first_seen_at) for q in db.quarantine(engine)] == [
        ("111-3000009-0000001", "rejected", OLD)
    ]
    # A rejection recorded before rejections had an account is listed under every account.
    for account in ("default", "eu"):
        assert [q.amazon_order_id for q in db.quarantine(engine, account=account)] == ["111-3000009-0000001"]

    # The sync and the push run on it: a new order is imported, shipped in Commerce and confirmed to Amazon.
    put_orders(sync_env, mfn(NEW_ORDER, ao.line("MUG-001", unit="12.50")))
    sync(sync_env)
    ship(commerce, NEW_ORDER, [("ups", "UPS Ground", "1Z0000000000000042")])
    summary, _ = push(sync_env)
    assert summary["packages"]["confirmed"] == 1, summary
    assert [c["orderId"] for c in confirmations(sync_env)] == [NEW_ORDER]

    after = snapshot(engine, like=before)
    legacy_keys = {SHIPPED, PENDING_FBA, 990001, "id:111-3000009-0000001"}
    for table, rows in before.items():
        if table != "channel_sync_state":
            assert [r for r in after[table] if next(iter(r.values())) in legacy_keys] == rows, table
    assert db.high_water_mark(engine, "amazon_order_sync") > OLD
    assert db.high_water_mark(engine, "amazon_tracking_push") > OLD
    engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "mariadb", "postgres"])
def test_the_head_revision_matches_the_table_definitions(request, tmp_path, dialect):
    """Autogenerate finds nothing to add: the revisions create exactly what ``tables.py`` defines."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'channel.db'}"
    else:
        url = request.getfixturevalue(f"{dialect}_channel_url")
    engine = fresh_channel_engine(url)
    assert db.schema_state(engine).status == "current"
    assert pending_changes(engine) == []
    engine.dispose()


def test_a_release_older_still_gets_the_tables_it_lacked(tmp_path):
    """A database from before the rejection and completion tables is recognised; only those two are added."""
    engine = create_engine(f"sqlite:///{tmp_path / 'channel.db'}")
    v1_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE channel_order_rejection"))
        conn.execute(text("DROP TABLE channel_order_completion"))
    with engine.begin() as conn:
        for table in ("channel_order", "channel_sync_state"):
            conn.execute(metadata.tables[table].insert(), legacy_rows()[table])
    assert db.schema_state(engine).status == "legacy"
    before, after = db.upgrade(engine)
    assert (before.revision, after.revision, after.status) == (None, db.head_revision(), "current")
    assert after.tables == frozenset(metadata.tables)
    assert pending_changes(engine) == []
    assert db.high_water_mark(engine, "amazon_order_sync") == OLD
    engine.dispose()


def test_the_dags_create_an_empty_database_and_refuse_one_they_do_not_know(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'channel.db'}")
    assert db.schema_state(engine).status == "empty"
    assert db.require_current(engine).status == "current"
    assert db.require_current(engine).status == "current"
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    state = db.schema_state(engine)
    assert state.status == "unknown"
    with pytest.raises(db.SchemaNotCurrent, match="9999, which this code does not know"):
        db.require_current(engine)
    with pytest.raises(db.SchemaNotCurrent, match="cannot be upgraded"):
        db.upgrade(engine)
    engine.dispose()


def test_tasks_starting_together_on_an_empty_database_all_find_it_current(tmp_path):
    """The sync, the push and the retention DAG may start at once on a new deployment: one creates the tables, the
    others wait for its upgrade instead of calling a half-created database legacy."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'channel.db'}"
    engines = [create_engine(url, connect_args={"timeout": 30}) for _ in range(4)]
    with ThreadPoolExecutor(len(engines)) as pool:
        states = list(pool.map(lambda engine: db.require_current(engine).status, engines))
    assert states == ["current"] * len(engines)
    for engine in engines:
        engine.dispose()
