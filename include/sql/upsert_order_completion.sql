-- The outcome of closing a fully confirmed order in Commerce: completed, failed (retried) or skipped (nothing to do).
INSERT INTO channel_order_completion (amazon_order_id, commerce_order_id, status, attempts, last_error,
    first_attempt_at, last_attempt_at, completed_at)
VALUES (:amazon_order_id, :commerce_order_id, :status, 1, :last_error, :now, :now, :completed_at)
ON CONFLICT (amazon_order_id) DO UPDATE SET
    commerce_order_id = excluded.commerce_order_id,
    status = excluded.status,
    attempts = channel_order_completion.attempts + 1,
    last_error = excluded.last_error,
    last_attempt_at = excluded.last_attempt_at,
    completed_at = COALESCE(excluded.completed_at, channel_order_completion.completed_at)
