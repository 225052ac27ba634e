-- The SKUs of every order kept out of Commerce (failed, settings-skipped, or a failed update of an imported one)
-- of one seller account (:account; :any_account = 1: of every account): the orders page searches kept-out orders
-- by SKU. SKUs only: no buyer data.
SELECT i.amazon_order_id, i.sku
FROM channel_order_item i
JOIN channel_order o ON o.amazon_order_id = i.amazon_order_id
WHERE o.import_error IS NOT NULL
  AND o.import_status IN ('failed', 'skipped', 'imported')
  AND i.sku IS NOT NULL
  AND (:any_account = 1 OR o.account = :account)
ORDER BY i.amazon_order_id, i.order_item_id
