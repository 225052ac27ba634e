-- When each order imported since :since was created in Commerce (the orders-page chart buckets them per hour).
SELECT imported_at
FROM channel_order
WHERE imported_at >= :since
ORDER BY imported_at
