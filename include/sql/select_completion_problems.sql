-- Fully confirmed orders whose Commerce order could not be closed yet (failed: retried) or had nothing to close.
SELECT amazon_order_id, commerce_order_id, status, attempts, last_error, last_attempt_at
FROM channel_order_completion
WHERE status IN ('failed', 'skipped')
ORDER BY last_attempt_at DESC, amazon_order_id
LIMIT :limit
