-- When each order imported since :since was created in Commerce (the orders-page chart buckets them per hour);
-- of one seller account (:account; :any_account = 1: of every account).
SELECT imported_at
FROM channel_order
WHERE imported_at >= :since
  AND (:any_account = 1 OR account = :account)
ORDER BY imported_at
