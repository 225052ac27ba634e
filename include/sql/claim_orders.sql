-- Claim channel orders for one task until :lease_expires_at (include/channel_db/leases.py): those free, whose
-- lease expired (a crashed worker's), or already its own. One conditional UPDATE: of two tasks claiming the same
-- order at once the database lets one change the row; the other re-reads it once the first commits, finds it
-- taken and leaves it. PostgreSQL: claim_orders.postgresql.sql (skips rows another claim holds, without waiting).
UPDATE channel_order
SET lease_owner = :owner,
    lease_expires_at = :lease_expires_at
WHERE amazon_order_id IN :ids
  AND (lease_owner IS NULL OR lease_owner = :owner OR lease_expires_at <= :now)
