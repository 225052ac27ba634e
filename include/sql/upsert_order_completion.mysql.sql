-- The outcome of closing a fully confirmed order in Commerce: completed, failed (retried) or skipped (nothing to do).
INSERT INTO channel_order_completion (amazon_order_id, commerce_order_id, status, attempts, last_error,
    first_attempt_at, last_attempt_at, completed_at)
VALUES (:amazon_order_id, :commerce_order_id, :status, 1, :last_error, :now, :now, :completed_at)
ON DUPLICATE KEY UPDATE
    commerce_order_id = VALUES(commerce_order_id),
    status = VALUES(status),
    attempts = attempts + 1,
    last_error = VALUES(last_error),
    last_attempt_at = VALUES(last_attempt_at),
    completed_at = COALESCE(VALUES(completed_at), completed_at)
