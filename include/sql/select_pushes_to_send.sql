-- Packages to confirm on Amazon now: new ones, earlier transient failures and packages of orders that were on hold
-- (confirm_packages checks the hold again), grouped by order in shipment and
-- track order (an earlier package of an order is always sent before a later one).
-- With all_orders = 0, only the orders in :only_ids (manual runs for chosen orders); with resend_refused = 1, their
-- packages Amazon refused too (the resend_refused param: sent again once the order is fixed on Amazon).
SELECT p.amazon_order_id, p.package_reference_id, p.commerce_order_id, p.commerce_shipment_id, p.commerce_track_id,
       p.carrier_code, p.carrier_name, p.shipping_method, p.tracking_number, p.ship_date, p.items, p.status,
       p.attempts, p.last_error, o.marketplace_id
FROM channel_shipment_push p
JOIN channel_order o ON o.amazon_order_id = p.amazon_order_id
WHERE p.account = :account
  AND (p.status IN ('pending', 'failed', 'held') OR (:resend_refused = 1 AND :all_orders = 0 AND p.status = 'refused'))
  AND (:all_orders = 1 OR p.amazon_order_id IN :only_ids)
ORDER BY p.amazon_order_id, p.commerce_shipment_id, p.commerce_track_id
LIMIT :limit
