-- Record a landed order set aside at staging; seen again, it keeps its first sighting and counts the repeat.
INSERT INTO channel_order_rejection (rejection_key, amazon_order_id, reason, landing_source, account, times_seen,
                                     first_seen_at, last_seen_at)
VALUES (:rejection_key, :amazon_order_id, :reason, :landing_source, :account, 1, :now, :now)
ON DUPLICATE KEY UPDATE
    amazon_order_id = VALUES(amazon_order_id),
    reason = VALUES(reason),
    landing_source = VALUES(landing_source),
    account = VALUES(account),
    times_seen = times_seen + 1,
    last_seen_at = VALUES(last_seen_at)
