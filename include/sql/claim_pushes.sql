-- Claim the packages of these orders for one task until :lease_expires_at (before confirmShipment): those free,
-- whose lease expired, or already its own; one conditional UPDATE, as claim_orders.sql.
UPDATE channel_shipment_push
SET lease_owner = :owner,
    lease_expires_at = :lease_expires_at
WHERE amazon_order_id IN :ids
  AND (lease_owner IS NULL OR lease_owner = :owner OR lease_expires_at <= :now)
