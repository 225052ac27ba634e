-- A cancelled order with failed import attempts was checked in Commerce and nothing was there to cancel.
UPDATE channel_order
SET import_status = 'canceled',
    import_error = NULL,
    last_attempt_at = :now
WHERE amazon_order_id = :amazon_order_id
  AND commerce_order_id IS NULL
  AND amazon_status = 'CANCELLED'
