-- One channel order as an operator looks it up (python -m include.ops.report order <id>).
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, created_at, last_updated_at,
       currency, order_total, item_count, import_status, import_error, import_attempts, commerce_order_id,
       commerce_increment_id, imported_at, buyer_data_purged_at, buyer_name, buyer_email, payload
FROM channel_order
WHERE amazon_order_id = :amazon_order_id
