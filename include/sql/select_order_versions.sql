-- The stored Amazon lastUpdatedTime of the given orders (classifies a staging batch as new / updated / unchanged).
SELECT amazon_order_id, last_updated_at FROM channel_order WHERE amazon_order_id IN :ids
