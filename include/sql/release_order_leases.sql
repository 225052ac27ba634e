-- The owner is done with its channel orders (their outcomes are recorded): free them for the next task.
UPDATE channel_order
SET lease_owner = NULL,
    lease_expires_at = NULL
WHERE lease_owner = :owner
