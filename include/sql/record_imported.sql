-- The Commerce order for this Amazon order exists (created now, or found through ext_order_id): link it,
-- clear any earlier failure reason, and remember which Amazon data it reflects (the fingerprint).
UPDATE channel_order
SET import_status = 'imported',
    commerce_order_id = :commerce_order_id,
    commerce_increment_id = :increment_id,
    imported_at = COALESCE(imported_at, :now),
    imported_fingerprint = COALESCE(:fingerprint, sync_fingerprint),
    import_error = NULL,
    next_attempt_at = NULL,
    import_attempts = import_attempts + 1,
    last_attempt_at = :now
WHERE amazon_order_id = :amazon_order_id
