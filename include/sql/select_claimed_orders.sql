-- Of these channel orders, those the owner holds now (after claim_orders).
SELECT amazon_order_id
FROM channel_order
WHERE lease_owner = :owner
  AND amazon_order_id IN :ids
