-- Settings keep these ready orders out of Commerce (import disabled, FBA import disabled): say why.
-- They become importable again as soon as the settings allow (orders_to_import includes 'skipped').
UPDATE channel_order
SET import_status = 'skipped',
    import_error = :reason,
    last_attempt_at = :now
WHERE account = :account
  AND fulfilled_by = :fulfilled_by
  AND import_status IN ('importable', 'skipped')
  AND commerce_order_id IS NULL
