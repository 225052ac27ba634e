-- claim_orders.sql on PostgreSQL: rows locked by a concurrent claim are skipped (SKIP LOCKED) instead of waited
-- for; the rows FOR UPDATE locks are re-checked against their latest committed version before they are taken.
UPDATE channel_order
SET lease_owner = :owner,
    lease_expires_at = :lease_expires_at
WHERE amazon_order_id IN (
    SELECT amazon_order_id
    FROM channel_order
    WHERE amazon_order_id IN :ids
      AND (lease_owner IS NULL OR lease_owner = :owner OR lease_expires_at <= :now)
    FOR UPDATE SKIP LOCKED
)
