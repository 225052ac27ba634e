"""The channel database on SQLite, MariaDB and PostgreSQL: schema, staged upserts, import state, marks, checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from include import channel_db as db
from include.channel_db.tables import TIMESTAMP_COLUMNS, metadata
from include.channel_db.types import UtcDateTime
from include.domain.import_rules import IMPORTABLE_STATUSES, statuses_to_import
from include.domain.retry_policy import RetryPolicy
from include.domain.settings import OrderSettings, parse_settings
from include.domain.staging import flatten
from tests.amazon_orders import line, order
from tests.conftest import CIPHER

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
SETTINGS = OrderSettings()
FBA_ON = parse_settings({"fba_import": True})


@pytest.fixture
def engine(channel_engine):
    """A fresh channel database on each supported dialect."""
    return channel_engine


def stage(engine, *orders, now=None):
    orders_df, items_df = flatten(orders)
    return db.upsert_staged(
        engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER, now=now or T0 + timedelta(hours=1)
    )


def row(engine, amazon_order_id, *columns):
    """Columns of a channel order as stored (timestamps read as aware UTC datetimes)."""
    query = text(f"SELECT {', '.join(columns)} FROM channel_order WHERE amazon_order_id = :id").columns(
        **{column: UtcDateTime for column in columns if column in TIMESTAMP_COLUMNS}
    )
    with engine.connect() as conn:
        return conn.execute(query, {"id": amazon_order_id}).one()


def to_import(engine, *, fulfilled_by, settings, **options):
    """The store's orders to import in the statuses the domain's rules give under ``settings``."""
    statuses = statuses_to_import(fulfilled_by, settings)
    return db.orders_to_import(engine, fulfilled_by=fulfilled_by, statuses=statuses, cipher=CIPHER, **options)


def test_upgrade_is_idempotent(engine):
    db.upgrade(engine)
    db.upgrade(engine)
    assert db.schema_state(engine).status == "current"
    with engine.connect() as conn:
        for table in metadata.tables:
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == 0


def test_sql_picks_the_dialect_file_then_the_default():
    assert "ON DUPLICATE KEY UPDATE" in db.sql("upsert_rejection", "mysql")
    assert "ON DUPLICATE KEY UPDATE" in db.sql("upsert_rejection", "mariadb")
    assert "ON CONFLICT" in db.sql("upsert_rejection", "postgresql")
    assert "ON CONFLICT" in db.sql("upsert_rejection", "sqlite")
    assert db.sql("record_failure", "mysql") == db.sql("record_failure")
    assert not db.sql("record_failure").startswith("--")
    with pytest.raises(FileNotFoundError, match="nope"):
        db.sql("nope", "sqlite")


def test_stage_new_then_newer_wins_older_never(engine):
    o1 = order(line("MUG-001", qty=2, unit="12.50"), status="PENDING", pending=True, last_updated=T0)
    result = stage(engine, o1)
    assert (result.orders, result.new, result.updated, result.unchanged, result.items) == (1, 1, 0, 0, 1)
    oid = o1["orderId"]
    assert row(engine, oid, "amazon_status", "channel_status", "import_status", "order_total") == (
        "PENDING", "Pending", "staged", None,
    )  # fmt: skip

    newer = order(line("MUG-001", qty=2, unit="12.50", item_id=o1["orderItems"][0]["orderItemId"]),
                  order_id=oid, status="UNSHIPPED", last_updated=T0 + timedelta(minutes=10))  # fmt: skip
    result = stage(engine, newer)
    assert (result.new, result.updated, result.unchanged) == (0, 1, 0)
    status, channel, import_status, total = row(
        engine, oid, "amazon_status", "channel_status", "import_status", "order_total"
    )
    assert (status, channel, import_status, Decimal(str(total))) == (
        "UNSHIPPED",
        "Unshipped",
        "importable",
        Decimal("25.00"),
    )

    older = order(order_id=oid, status="CANCELLED", last_updated=T0 + timedelta(minutes=5))
    same = order(order_id=oid, status="CANCELLED", last_updated=T0 + timedelta(minutes=10))
    result = stage(engine, older)
    assert (result.updated, result.unchanged) == (0, 1)
    stage(engine, same)
    assert row(engine, oid, "amazon_status", "import_status") == ("UNSHIPPED", "importable")
    with engine.connect() as conn:
        unit, stored = conn.execute(
            text("SELECT unit_price, order_last_updated_at FROM channel_order_item WHERE order_item_id = :id"),
            {"id": o1["orderItems"][0]["orderItemId"]},
        ).one()
    assert Decimal(str(unit)) == Decimal("12.50")
    assert UtcDateTime().process_result_value(stored, engine.dialect) == T0 + timedelta(minutes=10)


def test_last_seen_moves_even_when_data_is_unchanged(engine):
    o = order(last_updated=T0)
    stage(engine, o, now=T0 + timedelta(hours=1))
    stage(engine, o, now=T0 + timedelta(hours=2))
    first, last = row(engine, o["orderId"], "first_seen_at", "last_seen_at")
    assert (first, last) == (T0 + timedelta(hours=1), T0 + timedelta(hours=2))


def test_duplicate_versions_in_one_batch_keep_the_newest(engine):
    o_old = order(order_id="111-0000001-0000001", status="PENDING", pending=True, last_updated=T0)
    o_new = order(order_id="111-0000001-0000001", status="UNSHIPPED", last_updated=T0 + timedelta(minutes=3))
    result = stage(engine, o_new, o_old)
    assert result.orders == 1
    assert row(engine, "111-0000001-0000001", "amazon_status")[0] == "UNSHIPPED"


def test_restaging_preserves_import_state(engine):
    o = order(last_updated=T0)
    stage(engine, o)
    db.record_imported(engine, o["orderId"], 501, "000000501")
    newer = {
        **o,
        "lastUpdatedTime": "2026-03-01T11:00:00Z",
        "fulfillment": {**o["fulfillment"], "fulfillmentStatus": "SHIPPED"},
    }
    stage(engine, newer)
    assert row(engine, o["orderId"], "import_status", "commerce_order_id", "commerce_increment_id", "amazon_status") == (
        "imported", 501, "000000501", "SHIPPED",
    )  # fmt: skip
    assert to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS) == []


def test_import_status_rules(engine):
    mfn_pending = order(status="PENDING", pending=True)
    mfn_unshipped = order(status="UNSHIPPED")
    mfn_partial = order(status="PARTIALLY_SHIPPED")
    mfn_shipped = order(status="SHIPPED")
    mfn_cancelled = order(status="CANCELLED")
    afn_pending = order(status="PENDING", fulfilled_by="AMAZON", pending=True)
    afn_unshipped = order(status="UNSHIPPED", fulfilled_by="AMAZON")
    afn_shipped = order(status="SHIPPED", fulfilled_by="AMAZON", buyer_email=None)
    stage(
        engine,
        mfn_pending,
        mfn_unshipped,
        mfn_partial,
        mfn_shipped,
        mfn_cancelled,
        afn_pending,
        afn_unshipped,
        afn_shipped,
    )
    pairs = [(mfn_pending, "staged"), (mfn_unshipped, "importable"), (mfn_partial, "importable"),
             (mfn_shipped, "importable"), (mfn_cancelled, "canceled"), (afn_pending, "staged"),
             (afn_unshipped, "staged"), (afn_shipped, "importable")]  # fmt: skip
    for o, status in pairs:
        assert row(engine, o["orderId"], "import_status")[0] == status, o["fulfillment"]

    mfn = to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS)
    assert {o.amazon_order_id for o in mfn} == {
        mfn_unshipped["orderId"],
        mfn_partial["orderId"],
        mfn_shipped["orderId"],
    }
    first = next(o for o in mfn if o.amazon_order_id == mfn_unshipped["orderId"])
    assert first.payload == mfn_unshipped and first.fulfilled_by == "MERCHANT" and first.import_attempts == 0
    assert first.last_updated_at == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    assert to_import(engine, fulfilled_by="AMAZON", settings=SETTINGS) == []  # FBA import off by default
    afn = to_import(engine, fulfilled_by="AMAZON", settings=FBA_ON)
    assert [o.amazon_order_id for o in afn] == [afn_shipped["orderId"]]
    assert to_import(engine, fulfilled_by="MERCHANT", settings=parse_settings({"import_enabled": False})) == []
    assert len(to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS, limit=2)) == 2
    only = to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS, only_ids=[mfn_shipped["orderId"], "nope"])
    assert [o.amazon_order_id for o in only] == [mfn_shipped["orderId"]]
    assert to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS, only_ids=[]) == []
    with pytest.raises(ValueError, match="fulfilled_by"):
        db.orders_to_import(engine, fulfilled_by="FBA", statuses=["SHIPPED"], cipher=CIPHER)
    assert db.orders_to_import(engine, fulfilled_by="MERCHANT", statuses=[], cipher=CIPHER) == []


def test_pending_becomes_importable_when_unshipped(engine):
    o = order(status="PENDING", pending=True, last_updated=T0)
    stage(engine, o)
    assert to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS) == []
    stage(engine, {**order(order_id=o["orderId"], last_updated=T0 + timedelta(minutes=4))})
    assert [c.amazon_order_id for c in to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS)] == [o["orderId"]]


def test_failure_recording_retry_and_quarantine(engine):
    o = order(last_updated=T0)
    stage(engine, o, now=T0 + timedelta(minutes=30))
    oid = o["orderId"]
    db.record_failure(engine, oid, "unknown SKU LMP-006", now=T0 + timedelta(hours=1))
    db.record_failure(engine, oid, "unknown SKU LMP-006", now=T0 + timedelta(hours=2))
    status, attempts, first_failed, last_attempt = row(
        engine, oid, "import_status", "import_attempts", "first_failed_at", "last_attempt_at"
    )
    assert (status, attempts) == ("failed", 2)
    assert first_failed == T0 + timedelta(hours=1)
    assert last_attempt == T0 + timedelta(hours=2)

    retry = to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS)
    assert [(c.amazon_order_id, c.import_status, c.import_attempts, c.import_error) for c in retry] == [
        (oid, "failed", 2, "unknown SKU LMP-006")
    ]
    # restaging a newer version keeps it failed (with its reason) and retriable
    stage(engine, order(order_id=oid, last_updated=T0 + timedelta(hours=3)), now=T0 + timedelta(hours=3))
    assert row(engine, oid, "import_status", "import_error") == ("failed", "unknown SKU LMP-006")

    [q] = db.quarantine(engine)
    assert (q.amazon_order_id, q.reason, q.attempts, q.import_status, q.fulfilled_by) == (
        oid,
        "unknown SKU LMP-006",
        2,
        "failed",
        "MERCHANT",
    )
    assert q.first_seen_at == T0 + timedelta(minutes=30) and q.last_seen_at == T0 + timedelta(hours=3)
    assert q.first_failed_at == T0 + timedelta(hours=1)
    assert q.to_dict()["first_failed_at"] == "2026-03-01T11:00:00Z"

    db.record_imported(engine, oid, 77, None, now=T0 + timedelta(hours=4))
    assert row(engine, oid, "import_status", "import_error", "import_attempts") == ("imported", None, 3)
    assert db.quarantine(engine) == []


def test_record_failures_is_one_batched_statement(engine):
    orders = [order(last_updated=T0) for _ in range(5)]
    stage(engine, *orders)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    db.record_failures(engine, [(o["orderId"], f"reason {i}") for i, o in enumerate(orders)])
    assert len(statements) == 2  # one look-up of the attempts so far, one batched update
    assert sorted(q.reason for q in db.quarantine(engine)) == [f"reason {i}" for i in range(5)]


def test_cancelled_failed_order_leaves_quarantine(engine):
    o = order(last_updated=T0)
    stage(engine, o)
    db.record_failure(engine, o["orderId"], "unknown SKU MUG-001")
    stage(engine, order(order_id=o["orderId"], status="CANCELLED", last_updated=T0 + timedelta(hours=1)))
    assert row(engine, o["orderId"], "import_status")[0] == "canceled"
    assert db.quarantine(engine) == []
    assert to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS) == []


def test_skipped_orders_are_reported_and_come_back_when_enabled(engine):
    afn = order(status="SHIPPED", fulfilled_by="AMAZON", buyer_email=None)
    stage(engine, afn)
    assert (
        db.record_skipped(engine, fulfilled_by="AMAZON", reason="FBA import is disabled in amazon_order_settings") == 1
    )
    [q] = db.quarantine(engine)
    assert (q.import_status, q.reason) == ("skipped", "FBA import is disabled in amazon_order_settings")
    assert db.run_check(engine, "dq_importable_orders_accounted") == {
        "no_unhandled_importable_order": True, "every_kept_out_order_has_a_reason": True,
        "every_imported_order_has_a_commerce_order": True,
    }  # fmt: skip
    assert [c.amazon_order_id for c in to_import(engine, fulfilled_by="AMAZON", settings=FBA_ON)] == [afn["orderId"]]


def test_orders_needing_update_follow_cancellation_and_buyer_changes(engine):
    a, b, c = (order(last_updated=T0) for _ in range(3))
    stage(engine, a, b, c)
    for i, o in enumerate((a, b, c)):
        db.record_imported(engine, o["orderId"], 100 + i, None)
    assert db.orders_needing_update(engine, cipher=CIPHER) == []

    later = T0 + timedelta(hours=1)
    a2 = order(order_id=a["orderId"], status="CANCELLED", last_updated=later)
    b2 = order(order_id=b["orderId"], buyer_email="new.address@marketplace.amazon.com", last_updated=later)
    c2 = order(order_id=c["orderId"], status="SHIPPED", last_updated=later)  # shipping is not a Commerce update
    stage(engine, a2, b2, c2)
    needing = {o.amazon_order_id: o for o in db.orders_needing_update(engine, cipher=CIPHER)}
    assert set(needing) == {a["orderId"], b["orderId"]}
    assert needing[a["orderId"]].amazon_status == "CANCELLED" and needing[a["orderId"]].commerce_order_id == 100
    assert [o.amazon_order_id for o in db.orders_needing_update(engine, cipher=CIPHER, only_ids=[b["orderId"]])] == [
        b["orderId"]
    ]
    assert db.orders_needing_update(engine, cipher=CIPHER, fulfilled_by="AMAZON") == []

    db.record_failure(engine, b["orderId"], "Commerce refused: 503")
    assert row(engine, b["orderId"], "import_status")[0] == "imported"  # the order exists; only its update failed
    assert [q.amazon_order_id for q in db.quarantine(engine)] == [b["orderId"]]

    db.record_updated(engine, a["orderId"], fingerprint=needing[a["orderId"]].fingerprint, canceled=True)
    db.record_updated(engine, b["orderId"])
    assert db.orders_needing_update(engine, cipher=CIPHER) == []
    assert row(engine, a["orderId"], "import_status")[0] == "canceled"
    assert db.quarantine(engine) == []


def test_record_imported_unknown_order(engine):
    with pytest.raises(LookupError, match="not staged"):
        db.record_imported(engine, "111-9999999-9999999", 1, None)


def test_high_water_mark_only_moves_forward(engine):
    assert db.high_water_mark(engine, "amazon_order_sync") is None
    assert db.set_high_water_mark(engine, "amazon_order_sync", T0) == T0
    assert db.set_high_water_mark(engine, "amazon_order_sync", T0 - timedelta(hours=1)) == T0
    later = T0 + timedelta(minutes=15, microseconds=123456)
    assert db.set_high_water_mark(engine, "amazon_order_sync", later) == later
    assert db.high_water_mark(engine, "amazon_order_sync") == later
    assert db.high_water_mark(engine, "amazon_tracking_push") is None
    with pytest.raises(ValueError, match="naive"):
        db.set_high_water_mark(engine, "amazon_order_sync", datetime(2026, 3, 2))


def test_timestamps_in_other_zones_compare_correctly(engine):
    from zoneinfo import ZoneInfo

    o = order(last_updated=T0)
    stage(engine, o)
    # 11:30+02:00 is 09:30 UTC: older than the stored 10:00 UTC, so it must not win
    stale = order(
        order_id=o["orderId"],
        status="CANCELLED",
        last_updated=datetime(2026, 3, 1, 11, 30, tzinfo=ZoneInfo("Europe/Paris")),
    )
    stale["lastUpdatedTime"] = "2026-03-01T11:30:00+02:00"
    stage(engine, stale)
    assert row(engine, o["orderId"], "amazon_status")[0] == "UNSHIPPED"


def test_outcome_counts(engine):
    stage(engine, order(), order(), order(status="PENDING", pending=True), order(status="SHIPPED", fulfilled_by="AMAZON"),
          now=T0)  # fmt: skip
    [first, second] = to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS)
    db.record_imported(engine, first.amazon_order_id, 1, None, now=T0 + timedelta(hours=1))
    db.record_failure(engine, second.amazon_order_id, "unknown SKU", now=T0 + timedelta(hours=1))
    assert db.outcome_counts(engine) == {
        "MERCHANT": {"failed": 1, "imported": 1, "staged": 1},
        "AMAZON": {"importable": 1},
    }
    assert db.outcome_counts(engine, since=T0 + timedelta(minutes=30)) == {"MERCHANT": {"failed": 1, "imported": 1}}


def test_data_quality_checks(engine):
    a, b = order(), order()
    stage(engine, a, b)
    dup, accounted = db.DQ_CHECKS
    assert not all(db.run_check(engine, accounted).values())  # two importable orders nobody handled yet
    db.record_imported(engine, a["orderId"], 10, None)
    db.record_failure(engine, b["orderId"], "unknown SKU")
    assert all(db.run_check(engine, dup).values())
    assert all(db.run_check(engine, accounted).values())
    # the SQL is what SQLCheckOperator runs: one row, all values truthy
    with engine.connect() as conn:
        assert all(conn.execute(text(db.dq_check_sql(dup))).one())

    # an Amazon order linked to a second Commerce order (e.g. found twice by ext_order_id) fails check 1
    db.record_imported(engine, a["orderId"], 11, None)
    assert db.run_check(engine, dup) == {
        "no_amazon_order_with_two_commerce_orders": False,
        "no_commerce_order_shared": True,
    }
    with engine.connect() as conn:
        assert not all(conn.execute(text(db.dq_check_sql(dup))).one())
    # one Commerce order claimed by two Amazon orders also fails it
    db.record_imported(engine, b["orderId"], 11, None)
    assert db.run_check(engine, dup)["no_commerce_order_shared"] is False
    # a failed order without a reason fails check 2
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE channel_order SET import_status = 'failed', import_error = NULL WHERE amazon_order_id = :id"),
            {"id": b["orderId"]},
        )
    assert db.run_check(engine, accounted)["every_kept_out_order_has_a_reason"] is False


def test_thousand_order_stage_is_batched(engine):
    orders = [order(line("MUG-001"), line("TEE-002", qty=2, unit="19.75"), last_updated=T0) for _ in range(1000)]
    statements = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    result = stage(engine, *orders)
    assert (result.orders, result.new, result.items) == (1000, 1000, 2000)
    # select versions (1) + orders (1) + items (2 batches of 1000) + status refresh (1): O(1), not O(orders)
    assert len(statements) <= 6, len(statements)
    assert result.statements == len(statements)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT COUNT(*) FROM channel_order WHERE import_status = 'importable'")).scalar() == 1000
        )
        assert conn.execute(text("SELECT COUNT(*) FROM channel_order_item")).scalar() == 2000
    statements.clear()
    result = stage(engine, *orders)
    assert (result.new, result.updated, result.unchanged) == (0, 0, 1000)
    assert len(statements) <= 6


def test_empty_stage_does_nothing(engine):
    orders_df, items_df = flatten([])
    assert db.upsert_staged(engine, orders_df, items_df, importable=IMPORTABLE_STATUSES, cipher=CIPHER).to_dict() == {
        "orders": 0, "new": 0, "updated": 0, "unchanged": 0, "items": 0, "statements": 0,
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------- staging.flatten


def test_flatten_frames():
    from include.domain.staging import ITEM_COLUMNS, ORDER_COLUMNS, sync_fingerprint

    o = order(
        line("MUG-001", qty=2, unit="12.90", shipping="4.99", tax_rate="0.10", item_discount="2.58", shipped=1),
        line("TEE-002", unit="19.50"),
        order_id="111-0000000-0000100",
        status="PARTIALLY_SHIPPED",
    )
    orders_df, items_df = flatten([o])
    assert list(orders_df.columns) == ORDER_COLUMNS and list(items_df.columns) == ITEM_COLUMNS
    r = orders_df.iloc[0]
    assert (r.amazon_order_id, r.marketplace_id, r.fulfilled_by, r.amazon_status, r.channel_status) == (
        "111-0000000-0000100", "ATVPDKIKX0DER", "MERCHANT", "PARTIALLY_SHIPPED", "PartiallyShipped",
    )  # fmt: skip
    assert r.last_updated_at == datetime(2026, 3, 1, 10, 5, tzinfo=UTC) and str(orders_df["created_at"].dt.tz) == "UTC"
    assert (r.currency, r.order_total, r.item_count) == ("USD", Decimal(o["proceeds"]["grandTotal"]["amount"]), 2)
    assert (r.buyer_name, r.buyer_email, r.sync_fingerprint) == (
        "Ana Smith",
        "ana.smith.test@marketplace.amazon.com",
        sync_fingerprint(o),
    )
    import json

    assert json.loads(r.payload) == o
    first = items_df.iloc[0]
    assert (first.sku, first.quantity_ordered, first.quantity_shipped, first.unit_price, first.item_subtotal) == (
        "MUG-001", 2, 1, Decimal("12.90"), Decimal("25.80"),
    )  # fmt: skip
    assert (first.item_discount, first.item_tax, first.shipping_price, first.shipping_tax) == (
        Decimal("2.58"), Decimal("2.32"), Decimal("4.99"), Decimal("0.50"),
    )  # fmt: skip
    assert items_df.iloc[1].sku == "TEE-002"


def test_flatten_pending_order_without_money_and_fingerprint_rules():
    from include.domain.order_validation import InvalidOrder
    from include.domain.staging import sync_fingerprint

    pending = order(status="PENDING", pending=True)
    orders_df, items_df = flatten([pending])
    assert orders_df.iloc[0].order_total is None and orders_df.iloc[0].buyer_email is None
    assert items_df.iloc[0].unit_price is None and items_df.iloc[0].currency is None
    base = order(order_id="111-0000000-0000200")
    shipped = order(order_id="111-0000000-0000200", status="SHIPPED")
    cancelled = order(order_id="111-0000000-0000200", status="CANCELLED")
    renamed = order(order_id="111-0000000-0000200", buyer_name="Ana Smith-Jones")
    assert sync_fingerprint(base) == sync_fingerprint(shipped)
    assert len({sync_fingerprint(base), sync_fingerprint(cancelled), sync_fingerprint(renamed)}) == 3
    with pytest.raises(InvalidOrder, match="lastUpdatedTime: must be an ISO 8601 timestamp string"):
        flatten([{**base, "lastUpdatedTime": None}])
    with pytest.raises(InvalidOrder, match="orderId: Field required"):
        flatten([{"createdTime": "2026-03-01T00:00:00Z"}])


def test_batched():
    from include.domain.staging import batched

    assert list(batched(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(batched([], 3)) == []
    with pytest.raises(ValueError):
        list(batched([1], 0))


def test_order_ids_to_import_match_orders_to_import(engine):
    """The id-only planning query returns exactly the orders the importer would load, in the same order."""
    orders = [
        order(status=s, created=datetime(2026, 3, 1, 10, i, tzinfo=UTC))
        for i, s in enumerate(["UNSHIPPED", "PENDING", "SHIPPED", "CANCELLED"])
    ]
    orders.append(order(status="SHIPPED", fulfilled_by="AMAZON", buyer_email=None))
    stage(engine, *orders)
    for settings in (parse_settings({}), parse_settings({"fba_import": True})):
        for channel in ("MERCHANT", "AMAZON"):
            expected = [o.amazon_order_id for o in to_import(engine, fulfilled_by=channel, settings=settings)]
            statuses = statuses_to_import(channel, settings)
            assert db.order_ids_to_import(engine, fulfilled_by=channel, statuses=statuses) == expected
    assert len(db.order_ids_to_import(engine, fulfilled_by="MERCHANT", statuses=IMPORTABLE_STATUSES["MERCHANT"])) == 2


def test_cancelled_orders_with_failed_attempts_are_settled_once(engine):
    failed_then_cancelled = order(status="UNSHIPPED", created=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    cancelled_untried = order(status="CANCELLED", created=datetime(2026, 3, 1, 9, 5, tzinfo=UTC))
    stage(engine, failed_then_cancelled, cancelled_untried)
    db.record_failure(engine, failed_then_cancelled["orderId"], "Commerce unavailable: invoice (no response)")
    assert db.canceled_orders_to_settle(engine, cipher=CIPHER) == []  # not cancelled on Amazon yet

    cancelled = {**failed_then_cancelled, "lastUpdatedTime": "2026-03-01T11:00:00Z"}
    cancelled["fulfillment"] = {**cancelled["fulfillment"], "fulfillmentStatus": "CANCELLED"}
    stage(engine, cancelled)
    assert [o.amazon_order_id for o in db.canceled_orders_to_settle(engine, cipher=CIPHER)] == [
        failed_then_cancelled["orderId"]
    ]

    db.record_cancel_settled(engine, failed_then_cancelled["orderId"])
    assert db.canceled_orders_to_settle(engine, cipher=CIPHER) == []
    assert db.quarantine(engine) == []


def test_retry_policy_delays_failed_imports_gives_up_and_a_resync_by_id_forces(engine):
    """Attempts count, delays grow from the base, an order is skipped until due, waits after the last attempt,
    and an order named by id is taken whatever the policy says."""
    policy = RetryPolicy(max_attempts=3, base_minutes=10, max_delay_minutes=60)
    o = order(last_updated=T0)
    stage(engine, o)
    oid = o["orderId"]

    def due(at, **options):
        found = to_import(engine, fulfilled_by="MERCHANT", settings=SETTINGS, retry=policy, now=at, **options)
        return [c.amazon_order_id for c in found]

    def ids_due(at, **options):
        statuses = statuses_to_import("MERCHANT", SETTINGS)
        return db.order_ids_to_import(engine, fulfilled_by="MERCHANT", statuses=statuses, retry=policy, now=at,
                                      **options)  # fmt: skip

    assert due(T0) == [oid]  # importable: never delayed
    failed_at = T0 + timedelta(hours=1)
    db.record_failure(engine, oid, "unknown SKU", now=failed_at, retry=policy)
    assert row(engine, oid, "import_attempts", "next_attempt_at") == (1, failed_at + timedelta(minutes=10))
    assert due(failed_at + timedelta(minutes=9)) == [] == ids_due(failed_at + timedelta(minutes=9))
    assert due(failed_at + timedelta(minutes=10)) == [oid] == ids_due(failed_at + timedelta(minutes=10))

    second = failed_at + timedelta(minutes=10)
    db.record_failure(engine, oid, "unknown SKU", now=second, retry=policy)
    assert row(engine, oid, "import_attempts", "next_attempt_at") == (2, second + timedelta(minutes=20))
    assert due(second + timedelta(minutes=19)) == []
    third = second + timedelta(minutes=20)
    assert due(third) == [oid]
    db.record_failure(engine, oid, "unknown SKU", now=third, retry=policy)
    assert row(engine, oid, "import_attempts", "next_attempt_at") == (3, None)  # the last attempt: waits
    assert due(third + timedelta(days=30)) == [] == ids_due(third + timedelta(days=30))
    [kept] = db.quarantine(engine)
    assert (kept.attempts, kept.next_attempt_at, kept.first_failed_at) == (3, None, failed_at)
    assert policy.next_try(kept.attempts, kept.next_attempt_at, third) == "waits for operator"

    assert due(third, only_ids=[oid]) == [oid] == ids_due(third, only_ids=[oid])  # a re-sync by id forces it
    db.record_imported(engine, oid, 42, None, now=third + timedelta(minutes=1))
    assert row(engine, oid, "import_status", "next_attempt_at") == ("imported", None)


def test_a_failed_update_of_an_imported_order_is_not_delayed(engine):
    o = order(last_updated=T0)
    stage(engine, o)
    db.record_imported(engine, o["orderId"], 7, None, now=T0 + timedelta(hours=1))
    db.record_failure(engine, o["orderId"], "Commerce unavailable", now=T0 + timedelta(hours=2))
    assert row(engine, o["orderId"], "import_status", "next_attempt_at") == ("imported", None)
