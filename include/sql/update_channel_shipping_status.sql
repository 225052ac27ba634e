-- Channel status after confirmations: Shipped once every item is fully confirmed, PartiallyShipped while some units
-- are. Orders with nothing confirmed keep their status.
UPDATE channel_order
SET channel_status = CASE
        WHEN NOT EXISTS (
            SELECT 1 FROM channel_order_item i
            WHERE i.amazon_order_id = channel_order.amazon_order_id
              AND i.quantity_confirmed < i.quantity_ordered)
        THEN 'Shipped'
        ELSE 'PartiallyShipped'
    END
WHERE amazon_order_id IN :ids
  AND EXISTS (
      SELECT 1 FROM channel_order_item i
      WHERE i.amazon_order_id = channel_order.amazon_order_id
        AND i.quantity_confirmed > 0)
