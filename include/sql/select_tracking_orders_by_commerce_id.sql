-- Channel orders behind the given Commerce orders (the tracking push keeps the merchant-fulfilled ones).
SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, import_status, commerce_order_id, created_at
FROM channel_order
WHERE commerce_order_id IN :ids
  AND account = :account
