-- A package of a held Commerce order: not sent to Amazon (no attempt counted); the reason says why. It stays among
-- the packages to send and goes out on the first run after the order is released.
UPDATE channel_shipment_push
SET status = 'held',
    last_error = :last_error,
    last_attempt_at = :now
WHERE amazon_order_id = :amazon_order_id
  AND package_reference_id = :package_reference_id
