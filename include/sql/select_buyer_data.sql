-- The stored buyer data of the orders after :after_id, in id order (re-encryption under a new key, in batches).
SELECT amazon_order_id, buyer_name, buyer_email, payload
FROM channel_order
WHERE amazon_order_id > :after_id
ORDER BY amazon_order_id
LIMIT :limit
