-- select_orders_to_complete.sql restricted to the given Amazon order ids.
SELECT o.amazon_order_id, o.commerce_order_id, o.commerce_increment_id
FROM channel_order o
WHERE o.fulfilled_by = 'MERCHANT'
  AND o.commerce_order_id IS NOT NULL
  AND o.amazon_order_id IN :ids
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
