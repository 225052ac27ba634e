-- Store an order's buyer data again (re-encrypted under the first key): the values only, nothing else moves.
UPDATE channel_order
SET buyer_name = :buyer_name, buyer_email = :buyer_email, payload = :payload
WHERE amazon_order_id = :amazon_order_id
