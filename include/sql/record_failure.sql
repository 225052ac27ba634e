-- An import or update attempt failed: keep the order out with a readable reason, count the attempt, keep the
-- first failure time. An order that already has a Commerce order stays 'imported' (its update is retried).
UPDATE channel_order
SET import_status = CASE WHEN commerce_order_id IS NULL THEN 'failed' ELSE import_status END,
    import_error = :reason,
    import_attempts = import_attempts + 1,
    first_failed_at = COALESCE(first_failed_at, :now),
    last_attempt_at = :now
WHERE amazon_order_id = :amazon_order_id
