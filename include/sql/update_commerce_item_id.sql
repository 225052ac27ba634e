-- Remember which Commerce order item an Amazon order item became (found through ext_order_item_id).
UPDATE channel_order_item
SET commerce_order_item_id = :commerce_order_item_id
WHERE amazon_order_id = :amazon_order_id
  AND order_item_id = :order_item_id
