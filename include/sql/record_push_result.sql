-- The outcome of one confirmShipment call: confirmed, failed (retried next run) or refused (kept, not retried).
UPDATE channel_shipment_push
SET status = :status,
    attempts = attempts + 1,
    last_error = :last_error,
    first_attempt_at = COALESCE(first_attempt_at, :now),
    last_attempt_at = :now,
    confirmed_at = COALESCE(:confirmed_at, confirmed_at)
WHERE amazon_order_id = :amazon_order_id
  AND package_reference_id = :package_reference_id
