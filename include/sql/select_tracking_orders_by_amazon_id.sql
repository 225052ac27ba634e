-- Channel orders with a Commerce order among the given Amazon order ids (manual tracking push of chosen orders).
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, import_status, commerce_order_id, created_at
FROM channel_order
WHERE amazon_order_id IN :ids
  AND account = :account
  AND commerce_order_id IS NOT NULL
