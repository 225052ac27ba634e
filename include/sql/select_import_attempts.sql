-- Failed attempts so far of these orders, and whether they are imported (record_failure computes each failed
-- import's next try from them; updates of imported orders are not delayed).
SELECT amazon_order_id, import_attempts, commerce_order_id
FROM channel_order
WHERE amazon_order_id IN :ids
