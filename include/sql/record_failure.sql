-- An import or update attempt failed: keep the order out with a readable reason, count the attempt, keep the
-- first failure time. An order that already has a Commerce order stays 'imported' (its update is retried).
-- :next_attempt_at: when a failed import is tried next under the retry policy (NULL: waits for an operator once
-- the attempts reach the maximum); NULL for imported orders too, whose updates are not delayed.
UPDATE channel_order
SET import_status = CASE WHEN commerce_order_id IS NULL THEN 'failed' ELSE import_status END,
    import_error = :reason,
    import_attempts = import_attempts + 1,
    first_failed_at = COALESCE(first_failed_at, :now),
    last_attempt_at = :now,
    next_attempt_at = :next_attempt_at
WHERE amazon_order_id = :amazon_order_id
