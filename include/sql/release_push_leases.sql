-- The owner is done with its packages (their outcomes are recorded): free them for the next task.
UPDATE channel_shipment_push
SET lease_owner = NULL,
    lease_expires_at = NULL
WHERE lease_owner = :owner
