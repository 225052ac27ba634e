-- Data-quality check (SQLCheckOperator: every value of the single row must be truthy).
-- After the import groups ran, every order that was ready for Commerce has either a Commerce order or a recorded
-- reason: none is left 'importable', none is failed/skipped without a reason, none is 'imported' without an id.
SELECT
    (SELECT COUNT(*) FROM channel_order WHERE import_status = 'importable') = 0 AS no_unhandled_importable_order,
    (SELECT COUNT(*) FROM channel_order
      WHERE import_status IN ('failed', 'skipped') AND (import_error IS NULL OR import_error = '')) = 0 AS every_kept_out_order_has_a_reason,
    (SELECT COUNT(*) FROM channel_order
      WHERE import_status = 'imported' AND commerce_order_id IS NULL) = 0 AS every_imported_order_has_a_commerce_order
