-- A package seen for the first time (pending, or skipped with its reason). An existing row is left alone: its
-- content is compared and updated separately (update_shipment_push_content.sql).
INSERT INTO channel_shipment_push (amazon_order_id, package_reference_id, account, commerce_order_id, commerce_shipment_id,
    commerce_track_id, carrier_code, carrier_name, shipping_method, tracking_number, ship_date, items, status,
    attempts, last_error, created_at)
VALUES (:amazon_order_id, :package_reference_id, :account, :commerce_order_id, :commerce_shipment_id, :commerce_track_id,
    :carrier_code, :carrier_name, :shipping_method, :tracking_number, :ship_date, :items, :status, 0, :last_error,
    :now)
ON CONFLICT (amazon_order_id, package_reference_id) DO NOTHING
