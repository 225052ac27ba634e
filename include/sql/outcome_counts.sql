-- Orders per fulfilment channel and import status, among orders staged or attempted since :since.
SELECT fulfilled_by, import_status, COUNT(*) AS orders
FROM channel_order
WHERE (last_seen_at >= :since OR last_attempt_at >= :since)
  AND (:any_account = 1 OR account = :account)
GROUP BY fulfilled_by, import_status
ORDER BY fulfilled_by, import_status
