-- How many units of an Amazon order item Amazon has confirmed as shipped through our packages.
UPDATE channel_order_item
SET quantity_confirmed = :quantity_confirmed
WHERE amazon_order_id = :amazon_order_id
  AND order_item_id = :order_item_id
