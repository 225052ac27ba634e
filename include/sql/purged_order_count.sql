-- How many channel orders have had their buyer data removed, and when last.
SELECT COUNT(*) AS purged, MAX(buyer_data_purged_at) AS buyer_data_purged_at
FROM channel_order
WHERE buyer_data_purged_at IS NOT NULL
