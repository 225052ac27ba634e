-- Imported orders whose Amazon data relevant to Commerce (cancellation, buyer name or e-mail: the sync
-- fingerprint) changed since they were imported or last updated in Commerce.
-- With all_orders = 0, only the orders in :only_ids (manual runs for chosen orders).
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, last_updated_at,
       import_status, import_attempts, import_error, sync_fingerprint, commerce_order_id, commerce_increment_id, payload
FROM channel_order
WHERE account = :account
  AND import_status = 'imported'
  AND commerce_order_id IS NOT NULL
  AND (imported_fingerprint IS NULL OR imported_fingerprint <> sync_fingerprint)
  AND fulfilled_by IN :fulfilled_by
  AND (:all_orders = 1 OR amazon_order_id IN :only_ids)
ORDER BY last_updated_at, amazon_order_id
LIMIT :limit
