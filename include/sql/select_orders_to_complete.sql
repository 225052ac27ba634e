-- Merchant-fulfilled orders whose every item is confirmed on Amazon and whose Commerce order is not closed yet
-- (never attempted, or failed earlier).
-- With all_orders = 0, only the orders in :only_ids (manual runs for chosen orders).
SELECT o.amazon_order_id, o.commerce_order_id, o.commerce_increment_id
FROM channel_order o
WHERE o.account = :account
  AND o.fulfilled_by = 'MERCHANT'
  AND o.commerce_order_id IS NOT NULL
  AND (:all_orders = 1 OR o.amazon_order_id IN :only_ids)
  AND EXISTS (
      SELECT 1 FROM channel_shipment_push p
      WHERE p.amazon_order_id = o.amazon_order_id AND p.status = 'confirmed')
  AND NOT EXISTS (
      SELECT 1 FROM channel_order_item i
      WHERE i.amazon_order_id = o.amazon_order_id AND i.quantity_confirmed < i.quantity_ordered)
  AND NOT EXISTS (
      SELECT 1 FROM channel_order_completion c
      WHERE c.amazon_order_id = o.amazon_order_id AND c.status IN ('completed', 'skipped'))
ORDER BY o.amazon_order_id
LIMIT :limit
