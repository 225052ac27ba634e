-- orders_to_import.sql restricted to the given Amazon order ids (manual re-sync of chosen orders).
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, last_updated_at,
       import_status, import_attempts, import_error, sync_fingerprint, commerce_order_id, commerce_increment_id, payload
FROM channel_order
WHERE fulfilled_by = :fulfilled_by
  AND amazon_status IN :statuses
  AND import_status IN ('importable', 'failed', 'skipped')
  AND commerce_order_id IS NULL
  AND amazon_order_id IN :ids
ORDER BY created_at, amazon_order_id
LIMIT :limit
