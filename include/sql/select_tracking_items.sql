-- The Amazon order items of the given orders with their Commerce order item (once known) and confirmed quantity.
SELECT amazon_order_id, order_item_id, sku, quantity_ordered, quantity_confirmed, commerce_order_item_id
FROM channel_order_item
WHERE amazon_order_id IN :ids
ORDER BY amazon_order_id, order_item_id
