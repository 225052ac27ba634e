-- Remove an order's buyer data: the buyer columns go, the payload becomes its redacted remains (encrypted like
-- every payload). Only the version that was read: a newer one staged meanwhile waits for the next purge.
UPDATE channel_order
SET payload = :payload, buyer_name = NULL, buyer_email = NULL, buyer_data_purged_at = :now
WHERE amazon_order_id = :amazon_order_id
  AND last_updated_at = :last_updated_at
  AND buyer_data_purged_at IS NULL
