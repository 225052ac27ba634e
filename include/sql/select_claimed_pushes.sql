-- Of the packages of these orders, those the owner holds now (after claim_pushes).
SELECT amazon_order_id, package_reference_id
FROM channel_shipment_push
WHERE lease_owner = :owner
  AND amazon_order_id IN :ids
