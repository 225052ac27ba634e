-- Orders whose buyer data is due for removal (amazon_pii_retention): of one seller account (:account;
-- :any_account = 1: of every account), in a final Amazon status, last updated by Amazon before :cutoff (the
-- account's own pii_retention_days), not purged yet. The payload is read to keep what is not buyer data. Oldest first.
SELECT amazon_order_id, last_updated_at, payload
FROM channel_order
WHERE amazon_status IN :statuses
  AND last_updated_at < :cutoff
  AND buyer_data_purged_at IS NULL
  AND (:any_account = 1 OR account = :account)
ORDER BY last_updated_at, amazon_order_id
LIMIT :limit
