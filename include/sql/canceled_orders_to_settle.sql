-- Orders Amazon cancelled after an import attempt failed: Commerce may hold an order we never linked
-- (created, then the invoice failed). Each is looked up once by ext_order_id and canceled there if found;
-- record_cancel_settled.sql then clears import_error so that it is not looked at again; a failed look-up
-- (import_status 'failed') is retried on the next run.
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, last_updated_at,
       import_status, import_attempts, import_error, sync_fingerprint, commerce_order_id, commerce_increment_id, payload
FROM channel_order
WHERE account = :account
  AND amazon_status = 'CANCELLED'
  AND import_status IN ('canceled', 'failed')
  AND commerce_order_id IS NULL
  AND import_attempts > 0
  AND import_error IS NOT NULL
  AND fulfilled_by IN :fulfilled_by
ORDER BY last_updated_at, amazon_order_id
LIMIT :limit
