-- Extend every package lease the owner holds.
UPDATE channel_shipment_push
SET lease_expires_at = :lease_expires_at
WHERE lease_owner = :owner
