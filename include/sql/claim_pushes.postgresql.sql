-- claim_pushes.sql on PostgreSQL: packages locked by a concurrent claim are skipped (SKIP LOCKED), not waited for.
UPDATE channel_shipment_push
SET lease_owner = :owner,
    lease_expires_at = :lease_expires_at
WHERE (amazon_order_id, package_reference_id) IN (
    SELECT amazon_order_id, package_reference_id
    FROM channel_shipment_push
    WHERE amazon_order_id IN :ids
      AND (lease_owner IS NULL OR lease_owner = :owner OR lease_expires_at <= :now)
    FOR UPDATE SKIP LOCKED
)
