-- When the oldest merchant-fulfilled order with a Commerce order was created on Amazon: no shipment of ours is older
-- (the tracking push's first window starts here).
SELECT MIN(created_at) AS created_at FROM channel_order
WHERE account = :account
  AND fulfilled_by = 'MERCHANT'
  AND commerce_order_id IS NOT NULL
