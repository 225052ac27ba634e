-- Orders whose buyer data is due for removal (amazon_pii_retention): in a final Amazon status, last updated by
-- Amazon before :cutoff, not purged yet. The payload is read to keep what is not buyer data. Oldest first.
SELECT amazon_order_id, last_updated_at, payload
FROM channel_order
WHERE amazon_status IN :statuses
  AND last_updated_at < :cutoff
  AND buyer_data_purged_at IS NULL
ORDER BY last_updated_at, amazon_order_id
LIMIT :limit
