-- Amazon's later changes were applied to the Commerce order: remember the fingerprint applied, clear any
-- earlier update failure, and mark it canceled when the change was a cancellation.
UPDATE channel_order
SET imported_fingerprint = COALESCE(:fingerprint, sync_fingerprint),
    import_status = CASE WHEN :canceled = 1 THEN 'canceled' ELSE import_status END,
    import_error = NULL,
    commerce_updated_at = :now,
    last_attempt_at = :now
WHERE amazon_order_id = :amazon_order_id
  AND commerce_order_id IS NOT NULL
