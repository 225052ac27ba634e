-- Every recorded package of the given orders.
SELECT amazon_order_id, package_reference_id, commerce_order_id, commerce_shipment_id, commerce_track_id,
       carrier_code, carrier_name, shipping_method, tracking_number, ship_date, items, status, attempts, last_error,
       created_at, first_attempt_at, last_attempt_at, confirmed_at
FROM channel_shipment_push
WHERE amazon_order_id IN :ids
ORDER BY amazon_order_id, commerce_shipment_id, commerce_track_id
