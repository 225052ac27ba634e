-- Orders staged with a valid version are no longer rejected.
DELETE FROM channel_order_rejection WHERE amazon_order_id IN :ids
