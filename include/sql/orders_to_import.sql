-- Orders ready for a Commerce order: importable, or failed/skipped earlier (retried when due), with no Commerce order yet,
-- in the given fulfilment channel and Amazon statuses; oldest first.
-- With all_orders = 0, only the orders in :only_ids (manual runs for chosen orders).
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, channel_status, last_updated_at,
       import_status, import_attempts, import_error, sync_fingerprint, commerce_order_id, commerce_increment_id, payload
FROM channel_order
WHERE account = :account
  AND fulfilled_by = :fulfilled_by
  AND amazon_status IN :statuses
  AND import_status IN ('importable', 'failed', 'skipped')
  AND commerce_order_id IS NULL
  AND (:all_orders = 1 OR amazon_order_id IN :only_ids)
  -- Retry policy (include/domain/retry_policy.py): a failed order waits until next_attempt_at and, after
  -- :max_attempts failed attempts, for an operator. Orders named in :only_ids (a re-sync by id) are always tried.
  AND (:all_orders = 0 OR import_status <> 'failed'
       OR (import_attempts < :max_attempts AND (next_attempt_at IS NULL OR next_attempt_at <= :now)))
ORDER BY created_at, amazon_order_id
LIMIT :limit
