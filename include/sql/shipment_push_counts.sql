-- Packages per push status (the tracking run summary's channel totals).
SELECT status, COUNT(*) AS packages
FROM channel_shipment_push
GROUP BY status
