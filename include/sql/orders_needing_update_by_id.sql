-- orders_needing_update.sql restricted to the given Amazon order ids.
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, last_updated_at,
       import_status, import_attempts, import_error, sync_fingerprint, commerce_order_id, commerce_increment_id, payload
FROM channel_order
WHERE import_status = 'imported'
  AND commerce_order_id IS NOT NULL
  AND (imported_fingerprint IS NULL OR imported_fingerprint <> sync_fingerprint)
  AND fulfilled_by IN :fulfilled_by
  AND amazon_order_id IN :ids
ORDER BY last_updated_at, amazon_order_id
LIMIT :limit
