-- The package changed in Commerce (tracking number edited, a tracking number added to its shipment...): store the
-- new content and send it again (status pending: re-sending the same packageReferenceId edits it on Amazon).
UPDATE channel_shipment_push
SET carrier_code = :carrier_code,
    carrier_name = :carrier_name,
    shipping_method = :shipping_method,
    tracking_number = :tracking_number,
    ship_date = :ship_date,
    items = :items,
    status = :status,
    last_error = :last_error
WHERE amazon_order_id = :amazon_order_id
  AND package_reference_id = :package_reference_id
