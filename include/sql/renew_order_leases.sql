-- Extend every channel order lease the owner holds (a long task renews its leases before they expire).
UPDATE channel_order
SET lease_expires_at = :lease_expires_at
WHERE lease_owner = :owner
