-- Remember every Commerce order seen for an Amazon order (the data-quality check reads these links).
INSERT IGNORE INTO channel_order_link (commerce_order_id, amazon_order_id, commerce_increment_id, linked_at)
VALUES (:commerce_order_id, :amazon_order_id, :increment_id, :now)
