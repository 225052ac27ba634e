-- Packages that are not confirmed with a reason: failed (retried every run), refused by Amazon (kept), skipped
-- (could not be built) and held (the Commerce order is on hold: sent once released).
-- Most recent attempt first.
SELECT p.amazon_order_id, p.package_reference_id, p.commerce_shipment_id, p.commerce_track_id, p.carrier_code,
       p.tracking_number, p.status, p.attempts, p.last_error, p.first_attempt_at, p.last_attempt_at
FROM channel_shipment_push p
WHERE p.status IN ('failed', 'refused', 'skipped', 'held')
  AND (:any_account = 1 OR p.account = :account)
ORDER BY COALESCE(p.last_attempt_at, p.created_at) DESC, p.amazon_order_id, p.package_reference_id
LIMIT :limit
