-- Stage Amazon orders: insert new ones, update known ones only when Amazon's lastUpdatedTime is newer
-- (an older or equal version never overwrites). Import-state columns are never touched here.
-- last_seen_at always moves to this staging time.
-- MariaDB/MySQL: executemany is rewritten by the driver into multi-row INSERTs. Assignments run left to right and
-- later ones see earlier results, so last_updated_at (the column every condition reads) is assigned LAST.
INSERT INTO channel_order (amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, created_at, currency, order_total, item_count, buyer_name, buyer_email, sync_fingerprint, payload, last_updated_at, last_seen_at, first_seen_at)
VALUES (:amazon_order_id, :marketplace_id, :fulfilled_by, :amazon_status, :channel_status, :created_at, :currency, :order_total, :item_count, :buyer_name, :buyer_email, :sync_fingerprint, :payload, :last_updated_at, :seen_at, :seen_at)
ON DUPLICATE KEY UPDATE
    marketplace_id = IF(VALUES(last_updated_at) > last_updated_at, VALUES(marketplace_id), marketplace_id),
    fulfilled_by = IF(VALUES(last_updated_at) > last_updated_at, VALUES(fulfilled_by), fulfilled_by),
    amazon_status = IF(VALUES(last_updated_at) > last_updated_at, VALUES(amazon_status), amazon_status),
    channel_status = IF(VALUES(last_updated_at) > last_updated_at, VALUES(channel_status), channel_status),
    created_at = IF(VALUES(last_updated_at) > last_updated_at, VALUES(created_at), created_at),
    currency = IF(VALUES(last_updated_at) > last_updated_at, VALUES(currency), currency),
    order_total = IF(VALUES(last_updated_at) > last_updated_at, VALUES(order_total), order_total),
    item_count = IF(VALUES(last_updated_at) > last_updated_at, VALUES(item_count), item_count),
    buyer_name = IF(VALUES(last_updated_at) > last_updated_at, VALUES(buyer_name), buyer_name),
    buyer_email = IF(VALUES(last_updated_at) > last_updated_at, VALUES(buyer_email), buyer_email),
    sync_fingerprint = IF(VALUES(last_updated_at) > last_updated_at, VALUES(sync_fingerprint), sync_fingerprint),
    payload = IF(VALUES(last_updated_at) > last_updated_at, VALUES(payload), payload),
    last_seen_at = VALUES(last_seen_at),
    last_updated_at = IF(VALUES(last_updated_at) > last_updated_at, VALUES(last_updated_at), last_updated_at)
