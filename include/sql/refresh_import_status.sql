-- Derive import_status from Amazon's status for orders without a Commerce order (DESIGN.md §1):
--   MFN in :mfn_statuses / AFN in :afn_statuses (include/import_rules.py: IMPORTABLE_STATUSES) -> importable;
--   CANCELLED -> canceled (nothing to import, stop retrying); anything else (PENDING ...) -> staged.
-- failed and skipped orders keep their status and reason (they are retried) unless Amazon cancelled them.
UPDATE channel_order SET import_status = CASE
        WHEN amazon_status = 'CANCELLED' THEN 'canceled'
        WHEN import_status IN ('failed', 'skipped') THEN import_status
        WHEN fulfilled_by = 'MERCHANT' AND amazon_status IN :mfn_statuses THEN 'importable'
        WHEN fulfilled_by = 'AMAZON' AND amazon_status IN :afn_statuses THEN 'importable'
        ELSE 'staged'
    END
WHERE commerce_order_id IS NULL AND import_status IN ('staged', 'importable', 'failed', 'skipped')
