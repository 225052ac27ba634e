-- The items of every confirmed package of the given orders (summed per Amazon order item by the caller).
SELECT amazon_order_id, items
FROM channel_shipment_push
WHERE status = 'confirmed'
  AND amazon_order_id IN :ids
