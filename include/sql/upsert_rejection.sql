-- Record a landed order set aside at staging; seen again, it keeps its first sighting and counts the repeat.
INSERT INTO channel_order_rejection (rejection_key, amazon_order_id, reason, landing_source, account, times_seen,
                                     first_seen_at, last_seen_at)
VALUES (:rejection_key, :amazon_order_id, :reason, :landing_source, :account, 1, :now, :now)
ON CONFLICT (rejection_key) DO UPDATE SET
    amazon_order_id = excluded.amazon_order_id,
    reason = excluded.reason,
    landing_source = excluded.landing_source,
    account = excluded.account,
    times_seen = channel_order_rejection.times_seen + 1,
    last_seen_at = excluded.last_seen_at
