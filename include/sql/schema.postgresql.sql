-- Channel database schema (PostgreSQL). Idempotent: safe to run on every start.
-- Timestamps are UTC in TIMESTAMP WITHOUT TIME ZONE columns: the pipeline always binds UTC values.

CREATE TABLE IF NOT EXISTS channel_order (
    amazon_order_id       VARCHAR(50)   NOT NULL PRIMARY KEY,
    marketplace_id        VARCHAR(32)   NOT NULL,
    fulfilled_by          VARCHAR(16)   NOT NULL,
    amazon_status         VARCHAR(32)   NOT NULL,
    channel_status        VARCHAR(32)   NOT NULL,
    created_at            TIMESTAMP(6)  NOT NULL,
    last_updated_at       TIMESTAMP(6)  NOT NULL,
    currency              VARCHAR(3),
    order_total           NUMERIC(14, 2),
    item_count            INTEGER       NOT NULL DEFAULT 0,
    buyer_name            VARCHAR(255),
    buyer_email           VARCHAR(255),
    sync_fingerprint      VARCHAR(64)   NOT NULL,
    payload               TEXT          NOT NULL,
    first_seen_at         TIMESTAMP(6)  NOT NULL,
    last_seen_at          TIMESTAMP(6)  NOT NULL,
    import_status         VARCHAR(16)   NOT NULL DEFAULT 'staged',
    import_error          TEXT,
    import_attempts       INTEGER       NOT NULL DEFAULT 0,
    first_failed_at       TIMESTAMP(6),
    last_attempt_at       TIMESTAMP(6),
    commerce_order_id     BIGINT,
    commerce_increment_id VARCHAR(50),
    imported_at           TIMESTAMP(6),
    imported_fingerprint  VARCHAR(64),
    commerce_updated_at   TIMESTAMP(6)
);
CREATE INDEX IF NOT EXISTS ix_channel_order_import ON channel_order (import_status, fulfilled_by);
CREATE INDEX IF NOT EXISTS ix_channel_order_updated ON channel_order (last_updated_at);
CREATE INDEX IF NOT EXISTS ix_channel_order_commerce ON channel_order (commerce_order_id);

CREATE TABLE IF NOT EXISTS channel_order_item (
    amazon_order_id        VARCHAR(50)  NOT NULL,
    order_item_id          VARCHAR(50)  NOT NULL,
    sku                    VARCHAR(64),
    asin                   VARCHAR(16),
    title                  VARCHAR(500),
    quantity_ordered       INTEGER      NOT NULL,
    quantity_shipped       INTEGER      NOT NULL DEFAULT 0,
    quantity_confirmed     INTEGER      NOT NULL DEFAULT 0,
    currency               VARCHAR(3),
    unit_price             NUMERIC(14, 2),
    item_subtotal          NUMERIC(14, 2),
    item_tax               NUMERIC(14, 2),
    item_discount          NUMERIC(14, 2),
    shipping_price         NUMERIC(14, 2),
    shipping_tax           NUMERIC(14, 2),
    shipping_discount      NUMERIC(14, 2),
    proceeds_total         NUMERIC(14, 2),
    order_last_updated_at  TIMESTAMP(6) NOT NULL,
    commerce_order_item_id BIGINT,
    PRIMARY KEY (amazon_order_id, order_item_id)
);
CREATE INDEX IF NOT EXISTS ix_channel_order_item_sku ON channel_order_item (sku);

CREATE TABLE IF NOT EXISTS channel_order_link (
    commerce_order_id     BIGINT       NOT NULL PRIMARY KEY,
    amazon_order_id       VARCHAR(50)  NOT NULL,
    commerce_increment_id VARCHAR(50),
    linked_at             TIMESTAMP(6) NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_channel_order_link_amazon ON channel_order_link (amazon_order_id);

CREATE TABLE IF NOT EXISTS channel_sync_state (
    job             VARCHAR(64)  NOT NULL PRIMARY KEY,
    high_water_mark TIMESTAMP(6),
    updated_at      TIMESTAMP(6) NOT NULL
);

-- One row per Amazon package (one Commerce tracking number) of amazon_tracking_push. status: pending (to send),
-- confirmed, failed (transient error: retried next run), refused (Amazon said no for good: kept with its reason),
-- skipped (cannot be built, e.g. an unmapped item). items: JSON [["<Amazon orderItemId>", quantity], ...].
CREATE TABLE IF NOT EXISTS channel_shipment_push (
    amazon_order_id      VARCHAR(50)  NOT NULL,
    package_reference_id VARCHAR(40)  NOT NULL,
    commerce_order_id    BIGINT,
    commerce_shipment_id BIGINT       NOT NULL,
    commerce_track_id    BIGINT       NOT NULL,
    carrier_code         VARCHAR(64),
    carrier_name         VARCHAR(255),
    shipping_method      VARCHAR(255),
    tracking_number      VARCHAR(255),
    ship_date            TIMESTAMP(6),
    items                TEXT         NOT NULL,
    status               VARCHAR(16)  NOT NULL DEFAULT 'pending',
    attempts             INTEGER      NOT NULL DEFAULT 0,
    last_error           TEXT,
    created_at           TIMESTAMP(6) NOT NULL,
    first_attempt_at     TIMESTAMP(6),
    last_attempt_at      TIMESTAMP(6),
    confirmed_at         TIMESTAMP(6),
    PRIMARY KEY (amazon_order_id, package_reference_id)
);
CREATE INDEX IF NOT EXISTS ix_channel_shipment_push_status ON channel_shipment_push (status);
CREATE INDEX IF NOT EXISTS ix_channel_shipment_push_shipment ON channel_shipment_push (commerce_shipment_id, commerce_track_id);

-- One row per merchant-fulfilled order whose items are all confirmed on Amazon: closing it in Commerce
-- (complete, with a status-history comment). status: completed | failed (retried) | skipped (nothing to close).
CREATE TABLE IF NOT EXISTS channel_order_completion (
    amazon_order_id      VARCHAR(50)  NOT NULL PRIMARY KEY,
    commerce_order_id    BIGINT       NOT NULL,
    status               VARCHAR(16)  NOT NULL,
    attempts             INTEGER      NOT NULL DEFAULT 0,
    last_error           TEXT,
    first_attempt_at     TIMESTAMP(6) NOT NULL,
    last_attempt_at      TIMESTAMP(6) NOT NULL,
    completed_at         TIMESTAMP(6)
);
CREATE INDEX IF NOT EXISTS ix_channel_order_completion_status ON channel_order_completion (status);

-- Landed orders set aside at staging (malformed, or refused by this database), one row per order (or per raw
-- record when it has no usable orderId): the reason (field names, never values), the landing page file and line
-- holding the raw version for replay. Deleted once a valid version of the order is staged.
CREATE TABLE IF NOT EXISTS channel_order_rejection (
    rejection_key    VARCHAR(64)  NOT NULL PRIMARY KEY,
    amazon_order_id  VARCHAR(50),
    reason           TEXT         NOT NULL,
    landing_source   TEXT,
    times_seen       INTEGER      NOT NULL DEFAULT 1,
    first_seen_at    TIMESTAMP(6) NOT NULL,
    last_seen_at     TIMESTAMP(6) NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_channel_order_rejection_order ON channel_order_rejection (amazon_order_id);
