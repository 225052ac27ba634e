"""Magento's tables (the columns the sandbox uses) and the database handle.

Table and column names follow Magento 2.4's ``db_schema.xml``. Two deliberate
simplification: product ``name`` and ``price`` are flat columns of
``catalog_product_entity`` (Magento keeps them in EAV attribute tables).
Store configuration lives in ``core_config_data`` as in Magento (base currency
per website, display currency and "Disable Email Communications" per store
view), seeded from :mod:`sandbox.catalog`. Uniqueness rules are
real UNIQUE constraints: ``sales_order (increment_id, store_id)``,
``customer_entity (email, website_id)``, ``catalog_product_entity (sku)`` and
``(increment_id, store_id)`` on invoices, shipments and credit memos.
Increment ids come from per-store sequence tables (``sequence_order_1``...),
as in Magento.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from sandbox.catalog import EMAILS_DISABLED, PRODUCTS, STORES, UNKNOWN_SKUS, WEBSITES

metadata = MetaData()


def _money() -> Numeric:
    return Numeric(20, 4, asdecimal=False)


def _columns(
    strings: list[str] = (), ints: list[str] = (), decimals: list[str] = (), texts: list[str] = ()
) -> list[Column]:
    cols: list[Column] = [Column(name, String(255)) for name in strings]
    cols += [Column(name, Integer) for name in ints]
    cols += [Column(name, _money()) for name in decimals]
    cols += [Column(name, Text) for name in texts]
    return cols


def _timestamps() -> list[Column]:
    return [Column("created_at", DateTime, nullable=False), Column("updated_at", DateTime, nullable=False)]


# --- stores and catalogue -------------------------------------------------------------------------

store_website = Table(
    "store_website",
    metadata,
    Column("website_id", SmallInteger, primary_key=True, autoincrement=False),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(64)),
    Column("default_group_id", SmallInteger, nullable=False, default=0),
    Column("is_default", SmallInteger, nullable=False, default=0),
)

store_group = Table(
    "store_group",
    metadata,
    Column("group_id", SmallInteger, primary_key=True, autoincrement=False),
    Column("website_id", SmallInteger, ForeignKey("store_website.website_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("root_category_id", Integer, nullable=False, default=0),
    Column("default_store_id", SmallInteger, nullable=False, default=0),
    Column("code", String(32), unique=True),
)

store = Table(
    "store",
    metadata,
    Column("store_id", SmallInteger, primary_key=True, autoincrement=False),
    Column("code", String(32), nullable=False, unique=True),
    Column("website_id", SmallInteger, ForeignKey("store_website.website_id", ondelete="CASCADE"), nullable=False),
    Column("group_id", SmallInteger, nullable=False, default=0),
    Column("name", String(255), nullable=False),
    Column("sort_order", SmallInteger, nullable=False, default=0),
    Column("is_active", SmallInteger, nullable=False, default=1),
)

#: Magento's configuration values by scope (``default`` 0, ``websites`` id, ``stores`` id) and path.
core_config_data = Table(
    "core_config_data",
    metadata,
    Column("config_id", Integer, primary_key=True),
    Column("scope", String(8), nullable=False, default="default"),
    Column("scope_id", Integer, nullable=False, default=0),
    Column("path", String(255), nullable=False),
    Column("value", Text),
    UniqueConstraint("scope", "scope_id", "path", name="CORE_CONFIG_DATA_SCOPE_SCOPE_ID_PATH"),
)

catalog_product_entity = Table(
    "catalog_product_entity",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column("attribute_set_id", SmallInteger, nullable=False, default=4),
    Column("type_id", String(32), nullable=False, default="simple"),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),  # simplified: Magento keeps name in EAV (varchar)
    Column("price", _money(), nullable=False),  # simplified: Magento keeps price in EAV (decimal)
    *_timestamps(),
)

# --- customers ------------------------------------------------------------------------------------

CUSTOMER_STRINGS = ["prefix", "firstname", "middlename", "lastname", "suffix", "taxvat", "created_in", "confirmation"]
CUSTOMER_INTS = ["group_id", "store_id", "gender", "default_billing", "default_shipping", "disable_auto_group_change"]

customer_entity = Table(
    "customer_entity",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column("website_id", SmallInteger, ForeignKey("store_website.website_id", ondelete="SET NULL")),
    # Magento's MySQL collation compares e-mails case-insensitively; NOCASE gives SQLite the same rule.
    Column("email", String(255).with_variant(String(255, collation="NOCASE"), "sqlite")),
    Column("is_active", SmallInteger, nullable=False, default=1),
    Column("dob", String(10)),
    Column("password_hash", String(128)),
    *_columns(CUSTOMER_STRINGS, CUSTOMER_INTS),
    *_timestamps(),
    UniqueConstraint("email", "website_id", name="CUSTOMER_ENTITY_EMAIL_WEBSITE_ID"),
)

ADDRESS_STRINGS = ["city", "company", "country_id", "fax", "firstname", "lastname", "middlename", "postcode", "prefix"]
ADDRESS_STRINGS += ["region", "region_code", "suffix", "telephone", "vat_id"]

customer_address_entity = Table(
    "customer_address_entity",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("customer_entity.entity_id", ondelete="CASCADE"), index=True),
    Column("is_active", SmallInteger, nullable=False, default=1),
    Column("street", Text),
    Column("region_id", Integer),
    *_columns(ADDRESS_STRINGS),
    *_timestamps(),
)

# --- orders ---------------------------------------------------------------------------------------

ORDER_STRINGS = [
    "state", "status", "store_name", "customer_email", "customer_firstname", "customer_lastname", "customer_middlename",
    "customer_prefix", "customer_suffix", "customer_taxvat", "customer_dob", "customer_note", "ext_customer_id",
    "base_currency_code", "global_currency_code", "order_currency_code", "store_currency_code", "shipping_description",
    "discount_description", "coupon_code", "remote_ip", "x_forwarded_for", "protect_code", "applied_rule_ids",
    "original_increment_id", "hold_before_state", "hold_before_status", "shipping_method",
]  # fmt: skip
ORDER_INTS = [
    "customer_is_guest", "customer_group_id", "customer_gender", "customer_note_notify", "is_virtual", "email_sent",
    "send_email", "total_item_count", "quote_id", "quote_address_id", "can_ship_partially", "can_ship_partially_item",
    "edit_increment", "forced_shipment_with_invoice", "billing_address_id", "shipping_address_id",
]  # fmt: skip
ORDER_DECIMALS = [
    "grand_total", "base_grand_total", "subtotal", "base_subtotal", "subtotal_incl_tax", "base_subtotal_incl_tax",
    "tax_amount", "base_tax_amount", "shipping_amount", "base_shipping_amount", "shipping_tax_amount",
    "base_shipping_tax_amount", "shipping_incl_tax", "base_shipping_incl_tax", "discount_amount", "base_discount_amount",
    "shipping_discount_amount", "base_shipping_discount_amount", "discount_tax_compensation_amount",
    "base_discount_tax_compensation_amount", "base_to_global_rate", "base_to_order_rate", "store_to_base_rate",
    "store_to_order_rate", "total_qty_ordered", "weight",
    "total_invoiced", "base_total_invoiced", "total_paid", "base_total_paid", "total_due", "base_total_due",
    "total_refunded", "base_total_refunded", "total_offline_refunded", "base_total_offline_refunded",
    "total_online_refunded", "base_total_online_refunded", "total_canceled", "base_total_canceled",
    "subtotal_invoiced", "base_subtotal_invoiced", "tax_invoiced", "base_tax_invoiced", "shipping_invoiced",
    "base_shipping_invoiced", "discount_invoiced", "base_discount_invoiced",
    "subtotal_refunded", "base_subtotal_refunded", "tax_refunded", "base_tax_refunded", "shipping_refunded",
    "base_shipping_refunded", "shipping_tax_refunded", "base_shipping_tax_refunded", "discount_refunded",
    "base_discount_refunded", "subtotal_canceled", "base_subtotal_canceled", "tax_canceled", "base_tax_canceled",
    "shipping_canceled", "base_shipping_canceled", "discount_canceled", "base_discount_canceled",
    "adjustment_positive", "base_adjustment_positive", "adjustment_negative", "base_adjustment_negative",
]  # fmt: skip

sales_order = Table(
    "sales_order",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column("increment_id", String(32)),
    Column("store_id", SmallInteger, ForeignKey("store.store_id", ondelete="SET NULL")),
    Column("customer_id", Integer, ForeignKey("customer_entity.entity_id", ondelete="SET NULL"), index=True),
    Column("ext_order_id", String(32), index=True),  # indexed, NOT unique: idempotency is the client's job
    Column("gift_message_id", Integer),  # gift_message; not in the REST interface (extension_attributes.gift_message)
    *_columns(ORDER_STRINGS, ORDER_INTS, ORDER_DECIMALS),
    *_timestamps(),
    UniqueConstraint("increment_id", "store_id", name="SALES_ORDER_INCREMENT_ID_STORE_ID"),
    Index("SALES_ORDER_STATUS", "status"),
    Index("SALES_ORDER_STATE", "state"),
    Index("SALES_ORDER_CREATED_AT", "created_at"),
    Index("SALES_ORDER_UPDATED_AT", "updated_at"),
    Index("SALES_ORDER_CUSTOMER_EMAIL", "customer_email"),
)

#: Magento_GiftMessage's table: the gift messages of orders and order items (``gift_message_id`` on each).
gift_message = Table(
    "gift_message",
    metadata,
    Column("gift_message_id", Integer, primary_key=True),
    Column("customer_id", Integer),
    Column("sender", String(255)),
    Column("recipient", String(255)),
    Column("message", Text),
)

ITEM_STRINGS = ["name", "description", "product_type", "ext_order_item_id", "additional_data", "applied_rule_ids"]
ITEM_INTS = ["parent_item_id", "quote_item_id", "store_id", "product_id", "is_virtual", "free_shipping"]
ITEM_INTS += ["is_qty_decimal", "no_discount", "locked_do_invoice", "locked_do_ship"]
ITEM_DECIMALS = [
    "qty_ordered", "qty_invoiced", "qty_shipped", "qty_refunded", "qty_canceled", "qty_backordered", "qty_returned",
    "price", "base_price", "original_price", "base_original_price", "price_incl_tax", "base_price_incl_tax",
    "row_total", "base_row_total", "row_total_incl_tax", "base_row_total_incl_tax", "tax_amount", "base_tax_amount",
    "tax_percent", "tax_invoiced", "base_tax_invoiced", "tax_refunded", "base_tax_refunded", "tax_canceled",
    "discount_amount", "base_discount_amount", "discount_percent", "discount_invoiced", "base_discount_invoiced",
    "discount_refunded", "base_discount_refunded", "row_invoiced", "base_row_invoiced", "amount_refunded",
    "base_amount_refunded", "weight", "row_weight", "base_cost", "discount_tax_compensation_amount",
    "base_discount_tax_compensation_amount",
]  # fmt: skip

sales_order_item = Table(
    "sales_order_item",
    metadata,
    Column("item_id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("sales_order.entity_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sku", String(255), nullable=False),
    Column("gift_message_id", Integer),
    *_columns(ITEM_STRINGS, ITEM_INTS, ITEM_DECIMALS),
    *_timestamps(),
)

ORDER_ADDRESS_STRINGS = [*ADDRESS_STRINGS, "address_type", "email"]

sales_order_address = Table(
    "sales_order_address",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("sales_order.entity_id", ondelete="CASCADE"), index=True),
    Column("street", Text),
    *_columns(ORDER_ADDRESS_STRINGS, ["customer_address_id", "quote_address_id", "region_id", "customer_id"]),
)

PAYMENT_STRINGS = ["method", "account_status", "cc_last4", "cc_type", "cc_owner", "cc_exp_month", "cc_exp_year"]
PAYMENT_STRINGS += ["po_number", "last_trans_id", "cc_trans_id", "additional_data"]
PAYMENT_DECIMALS = [
    "amount_ordered", "base_amount_ordered", "amount_paid", "base_amount_paid", "amount_refunded",
    "base_amount_refunded", "amount_canceled", "base_amount_canceled", "amount_authorized", "base_amount_authorized",
    "shipping_amount", "base_shipping_amount", "shipping_captured", "base_shipping_captured", "shipping_refunded",
    "base_shipping_refunded",
]  # fmt: skip

sales_order_payment = Table(
    "sales_order_payment",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("sales_order.entity_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("additional_information", Text),  # JSON, as Magento stores it
    *_columns(PAYMENT_STRINGS, [], PAYMENT_DECIMALS),
)

sales_order_status_history = Table(
    "sales_order_status_history",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("sales_order.entity_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("is_customer_notified", Integer),
    Column("is_visible_on_front", SmallInteger, nullable=False, default=0),
    Column("comment", Text),
    Column("status", String(32)),
    Column("entity_name", String(32)),
    Column("created_at", DateTime, nullable=False),
)

# --- sales documents ------------------------------------------------------------------------------

DOC_TOTALS = [
    "grand_total", "base_grand_total", "subtotal", "base_subtotal", "subtotal_incl_tax", "base_subtotal_incl_tax",
    "tax_amount", "base_tax_amount", "shipping_amount", "base_shipping_amount", "shipping_tax_amount",
    "base_shipping_tax_amount", "shipping_incl_tax", "base_shipping_incl_tax", "discount_amount",
    "base_discount_amount",
]  # fmt: skip


def _document(name: str, extra: list[Column]) -> Table:
    """A sales document header table (invoice, shipment, credit memo)."""
    return Table(
        name,
        metadata,
        Column("entity_id", Integer, primary_key=True),
        Column("store_id", SmallInteger, ForeignKey("store.store_id", ondelete="SET NULL")),
        Column(
            "order_id", Integer, ForeignKey("sales_order.entity_id", ondelete="CASCADE"), nullable=False, index=True
        ),
        Column("increment_id", String(50)),
        Column("email_sent", SmallInteger),
        Column("send_email", SmallInteger),
        Column("billing_address_id", Integer),
        Column("shipping_address_id", Integer),
        *extra,
        *_timestamps(),
        UniqueConstraint("increment_id", "store_id", name=f"{name.upper()}_INCREMENT_ID_STORE_ID"),
        Index(f"{name.upper()}_CREATED_AT", "created_at"),
        Index(f"{name.upper()}_UPDATED_AT", "updated_at"),
    )


def _document_items(name: str, parent: str, extra: list[Column]) -> Table:
    return Table(
        name,
        metadata,
        Column("entity_id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey(f"{parent}.entity_id", ondelete="CASCADE"), nullable=False, index=True),
        Column("order_item_id", Integer),
        Column("product_id", Integer),
        Column("sku", String(255)),
        Column("name", String(255)),
        Column("qty", _money()),
        Column("price", _money()),
        Column("base_price", _money()),
        Column("row_total", _money()),
        Column("base_row_total", _money()),
        *extra,
    )


def _comments(name: str, parent: str) -> Table:
    return Table(
        name,
        metadata,
        Column("entity_id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey(f"{parent}.entity_id", ondelete="CASCADE"), nullable=False, index=True),
        Column("is_customer_notified", Integer),
        Column("is_visible_on_front", SmallInteger, nullable=False, default=0),
        Column("comment", Text),
        Column("created_at", DateTime, nullable=False),
    )


_ITEM_MONEY = ["tax_amount", "base_tax_amount", "discount_amount", "base_discount_amount"]

sales_invoice = _document(
    "sales_invoice",
    [Column("state", Integer), Column("total_qty", _money()), Column("can_void_flag", SmallInteger),
     Column("order_currency_code", String(3)), Column("base_currency_code", String(3)), *_columns(decimals=DOC_TOTALS)],
)  # fmt: skip
sales_invoice_item = _document_items("sales_invoice_item", "sales_invoice", _columns(decimals=_ITEM_MONEY))
sales_invoice_comment = _comments("sales_invoice_comment", "sales_invoice")

sales_shipment = _document(
    "sales_shipment",
    [Column("customer_id", Integer), Column("total_qty", _money()), Column("total_weight", _money()),
     Column("shipment_status", Integer)],
)  # fmt: skip
sales_shipment_item = _document_items(
    "sales_shipment_item", "sales_shipment", [Column("weight", _money()), Column("description", Text)]
)
sales_shipment_comment = _comments("sales_shipment_comment", "sales_shipment")

sales_shipment_track = Table(
    "sales_shipment_track",
    metadata,
    Column("entity_id", Integer, primary_key=True),
    Column(
        "parent_id", Integer, ForeignKey("sales_shipment.entity_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("order_id", Integer, nullable=False, index=True),
    Column("track_number", Text),
    Column("title", String(255)),
    Column("carrier_code", String(32)),
    Column("description", Text),
    Column("qty", _money()),
    Column("weight", _money()),
    *_timestamps(),
)

sales_creditmemo = _document(
    "sales_creditmemo",
    [Column("state", Integer), Column("creditmemo_status", Integer), Column("order_currency_code", String(3)),
     Column("base_currency_code", String(3)),
     *_columns(decimals=[*DOC_TOTALS, "adjustment_positive", "base_adjustment_positive", "adjustment_negative",
                         "base_adjustment_negative", "adjustment", "base_adjustment"])],
)  # fmt: skip
sales_creditmemo_item = _document_items("sales_creditmemo_item", "sales_creditmemo", _columns(decimals=_ITEM_MONEY))
sales_creditmemo_comment = _comments("sales_creditmemo_comment", "sales_creditmemo")

# --- increment id sequences (Magento: sequence_<entity>_<store_id>) --------------------------------

SEQUENCE_ENTITIES = ("order", "invoice", "shipment", "creditmemo")
SEQUENCE_STORE_IDS = sorted({0, *(store_id for store_id, _, _ in STORES.values())})

sequences: dict[tuple[str, int], Table] = {
    (entity, store_id): Table(
        f"sequence_{entity}_{store_id}",
        metadata,
        Column("sequence_value", Integer, primary_key=True, autoincrement=True),
    )
    for entity in SEQUENCE_ENTITIES
    for store_id in SEQUENCE_STORE_IDS
}

# --- sandbox-only: the e-mails Magento would have sent ---------------------------------------------

sandbox_notification = Table(
    "sandbox_notification",
    metadata,
    Column("notification_id", Integer, primary_key=True),
    Column("type", String(32), nullable=False),
    Column("email", String(255)),
    Column("store_id", SmallInteger),
    Column("order_id", Integer),
    Column("order_increment_id", String(32)),
    Column("entity_id", Integer),
    Column("created_at", DateTime, nullable=False),
)

#: Tables emptied by a reset (all of them; stores, their configuration and products are seeded again).
DATA_TABLES = list(metadata.sorted_tables)


def increment_prefix(store_id: int) -> str:
    """Magento's default sequence profile: no prefix for stores 0 and 1, the store id otherwise."""
    return "" if store_id in (0, 1) else str(store_id)


class Database:
    """The engine plus the write discipline: one writer at a time on SQLite, transactions elsewhere."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.is_mysql = self.url.get_backend_name() in ("mysql", "mariadb")
        self._write_lock = threading.RLock()
        self.engine = _make_engine(url)
        self._clock_offset = 0.0

    # The sandbox clock: real UTC time plus an offset tests can move (PUT /_sandbox/clock).
    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._clock_offset, UTC).replace(tzinfo=None, microsecond=0)

    def set_clock_offset(self, seconds: float) -> None:
        self._clock_offset = float(seconds)

    @property
    def clock_offset(self) -> float:
        return self._clock_offset

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        if self.url.database in (None, "", ":memory:"):
            with self._write_lock, self.engine.connect() as conn, conn.begin():
                yield conn
        else:
            with self.engine.connect() as conn, conn.begin():
                yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction; serialised on SQLite (one writer), row locks and constraints elsewhere."""
        if self.is_sqlite:
            with self._write_lock, self.engine.connect() as conn:
                conn.execution_options(sandbox_immediate=True)
                with conn.begin():
                    yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    def create_schema(self) -> None:
        metadata.create_all(self.engine)
        with self.write() as conn:
            _seed_stores(conn)
            if conn.execute(text("SELECT COUNT(*) FROM catalog_product_entity")).scalar() == 0:
                _seed_products(conn, self.now())

    def reset(self) -> None:
        """Empty every table; reseed the stores (stores added since are gone), their configuration and products."""
        if self.is_mysql:
            with self.engine.begin() as conn:
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
                for table in DATA_TABLES:
                    conn.exec_driver_sql(f"TRUNCATE TABLE `{table.name}`")
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
            with self.write() as conn:
                _seed_stores(conn)
                _seed_products(conn, self.now())
            return
        if self.url.get_backend_name() == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in DATA_TABLES)
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
                _seed_stores(conn)
                _seed_products(conn, self.now())
            return
        with self.write() as conn:
            for table in reversed(DATA_TABLES):
                conn.execute(delete(table))
            _seed_stores(conn)
            _seed_products(conn, self.now())


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, pool_size=20, max_overflow=20, pool_pre_ping=True, pool_recycle=3600, hide_parameters=True
        )
    database = parsed.database
    if database in (None, "", ":memory:"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=StaticPool, hide_parameters=True
        )
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=20,
            hide_parameters=True,  # SQL errors never echo buyer data into logs
        )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (BEGIN IMMEDIATE for writes)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001
        immediate = conn.get_execution_options().get("sandbox_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _seed_stores(conn: Connection) -> None:
    """Magento's admin website, group and store (id 0), the websites and store views of :mod:`sandbox.catalog`
    (one store group per website) and their configuration: base currency per website, display currency and
    "Disable Email Communications" per store view.

    Each table is filled only while empty (a database made before a table existed gets its rows).
    """
    if not conn.execute(text("SELECT COUNT(*) FROM store_website")).scalar():
        websites = [{"website_id": 0, "code": "admin", "name": "Admin", "default_group_id": 0, "is_default": 0}]
        websites += [
            {"website_id": w, "code": code, "name": name, "default_group_id": w, "is_default": int(w == 1)}
            for w, (code, name, _) in WEBSITES.items()
        ]
        conn.execute(insert(store_website), websites)
    if not conn.execute(text("SELECT COUNT(*) FROM store_group")).scalar():
        groups = [{"group_id": 0, "website_id": 0, "name": "Default", "root_category_id": 0, "default_store_id": 0,
                   "code": "default"}]  # fmt: skip
        groups += [
            {"group_id": w, "website_id": w, "name": "Main Website Store" if w == 1 else f"{name} Store",
             "root_category_id": 2, "code": "main_website_store" if w == 1 else f"{code}_store",
             "default_store_id": min(sid for sid, wid, _ in STORES.values() if wid == w)}
            for w, (code, name, _) in WEBSITES.items()
        ]  # fmt: skip
        conn.execute(insert(store_group), groups)
    if not conn.execute(text("SELECT COUNT(*) FROM store")).scalar():
        stores = [{"store_id": 0, "code": "admin", "website_id": 0, "group_id": 0, "name": "Admin", "sort_order": 0}]
        stores += [
            {"store_id": sid, "code": code, "website_id": wid, "group_id": wid,
             "name": "Default Store View" if code == "default" else code.replace("_", " ").title(), "sort_order": sid}
            for code, (sid, wid, _) in STORES.items()
        ]  # fmt: skip
        conn.execute(insert(store), stores)
    if not conn.execute(text("SELECT COUNT(*) FROM core_config_data")).scalar():
        config = [{"scope": "default", "scope_id": 0, "path": "currency/options/base", "value": "USD"}]
        config += [
            {"scope": "websites", "scope_id": w, "path": "currency/options/base", "value": currency}
            for w, (_, _, currency) in WEBSITES.items()
        ]
        for code, (sid, _, currency) in STORES.items():
            config.append({"scope": "stores", "scope_id": sid, "path": "currency/options/default", "value": currency})
            if code in EMAILS_DISABLED:
                config.append({"scope": "stores", "scope_id": sid, "path": "system/smtp/disable", "value": "1"})
        conn.execute(insert(core_config_data), config)


def _seed_products(conn: Connection, now: datetime) -> None:
    rows = [
        {"sku": p.sku, "name": p.name, "price": float(p.price), "created_at": now, "updated_at": now}
        for p in PRODUCTS
        if p.sku not in UNKNOWN_SKUS
    ]
    conn.execute(insert(catalog_product_entity), rows)


def is_retryable(exc: BaseException) -> bool:
    """MySQL/MariaDB deadlock (1213) or lock wait timeout (1205): the transaction may simply be retried."""
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.orig, "args", [None])[0]
    return code in (1205, 1213)
