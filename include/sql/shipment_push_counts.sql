-- Packages per push status (the tracking run summary's channel totals).
SELECT status, COUNT(*) AS packages
FROM channel_shipment_push
WHERE :any_account = 1 OR account = :account
GROUP BY status
