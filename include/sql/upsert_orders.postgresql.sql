-- Stage Amazon orders: insert new ones, update known ones only when Amazon's lastUpdatedTime is newer
-- (an older or equal version never overwrites). Import-state columns are never touched here.
-- last_seen_at always moves to this staging time.
-- PostgreSQL: the whole batch travels as one JSON array (:rows) in a single statement and round trip.
INSERT INTO channel_order (amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, created_at, currency, order_total, item_count, buyer_name, buyer_email, sync_fingerprint, payload, last_updated_at, last_seen_at, first_seen_at)
SELECT r.amazon_order_id, r.marketplace_id, r.fulfilled_by, r.amazon_status, r.channel_status, r.created_at, r.currency, r.order_total, r.item_count, r.buyer_name, r.buyer_email, r.sync_fingerprint, r.payload, r.last_updated_at, r.seen_at, r.seen_at
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(amazon_order_id varchar, marketplace_id varchar, fulfilled_by varchar, amazon_status varchar, channel_status varchar, created_at timestamp, currency varchar, order_total numeric, item_count integer, buyer_name varchar, buyer_email varchar, sync_fingerprint varchar, payload text, last_updated_at timestamp, seen_at timestamp)
ON CONFLICT (amazon_order_id) DO UPDATE SET
    marketplace_id = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.marketplace_id ELSE channel_order.marketplace_id END,
    fulfilled_by = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.fulfilled_by ELSE channel_order.fulfilled_by END,
    amazon_status = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.amazon_status ELSE channel_order.amazon_status END,
    channel_status = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.channel_status ELSE channel_order.channel_status END,
    created_at = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.created_at ELSE channel_order.created_at END,
    currency = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.currency ELSE channel_order.currency END,
    order_total = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.order_total ELSE channel_order.order_total END,
    item_count = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.item_count ELSE channel_order.item_count END,
    buyer_name = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.buyer_name ELSE channel_order.buyer_name END,
    buyer_email = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.buyer_email ELSE channel_order.buyer_email END,
    sync_fingerprint = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.sync_fingerprint ELSE channel_order.sync_fingerprint END,
    payload = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.payload ELSE channel_order.payload END,
    last_updated_at = CASE WHEN excluded.last_updated_at > channel_order.last_updated_at THEN excluded.last_updated_at ELSE channel_order.last_updated_at END,
    last_seen_at = excluded.last_seen_at
