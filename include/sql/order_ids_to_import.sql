-- The ids of the orders orders_to_import.sql returns (same filter and order), without their payloads:
-- planning the import chunks must not load a whole window into memory.
SELECT amazon_order_id
FROM channel_order
WHERE fulfilled_by = :fulfilled_by
  AND amazon_status IN :statuses
  AND import_status IN ('importable', 'failed', 'skipped')
  AND commerce_order_id IS NULL
  AND (:all_orders = 1 OR amazon_order_id IN :only_ids)
ORDER BY created_at, amazon_order_id
LIMIT :limit
