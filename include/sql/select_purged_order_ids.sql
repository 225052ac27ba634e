-- Which of these orders have had their buyer data purged (their landed versions are redacted too).
SELECT amazon_order_id FROM channel_order WHERE amazon_order_id IN :ids AND buyer_data_purged_at IS NOT NULL
