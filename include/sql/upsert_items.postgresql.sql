-- Stage Amazon order items, keyed by (amazon_order_id, order_item_id): a newer order version (its lastUpdatedTime,
-- carried as order_last_updated_at) replaces the item's Amazon data; an older or equal one never does.
-- quantity_confirmed and commerce_order_item_id (tracking push state) are never touched here.
-- PostgreSQL: the whole batch travels as one JSON array (:rows) in a single statement and round trip.
INSERT INTO channel_order_item (amazon_order_id, order_item_id, sku, asin, title, quantity_ordered, quantity_shipped, currency, unit_price, item_subtotal, item_tax, item_discount, shipping_price, shipping_tax, shipping_discount, proceeds_total, order_last_updated_at)
SELECT r.amazon_order_id, r.order_item_id, r.sku, r.asin, r.title, r.quantity_ordered, r.quantity_shipped, r.currency, r.unit_price, r.item_subtotal, r.item_tax, r.item_discount, r.shipping_price, r.shipping_tax, r.shipping_discount, r.proceeds_total, r.order_last_updated_at
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(amazon_order_id varchar, order_item_id varchar, sku varchar, asin varchar, title varchar, quantity_ordered integer, quantity_shipped integer, currency varchar, unit_price numeric, item_subtotal numeric, item_tax numeric, item_discount numeric, shipping_price numeric, shipping_tax numeric, shipping_discount numeric, proceeds_total numeric, order_last_updated_at timestamp)
ON CONFLICT (amazon_order_id, order_item_id) DO UPDATE SET
    sku = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.sku ELSE channel_order_item.sku END,
    asin = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.asin ELSE channel_order_item.asin END,
    title = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.title ELSE channel_order_item.title END,
    quantity_ordered = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.quantity_ordered ELSE channel_order_item.quantity_ordered END,
    quantity_shipped = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.quantity_shipped ELSE channel_order_item.quantity_shipped END,
    currency = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.currency ELSE channel_order_item.currency END,
    unit_price = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.unit_price ELSE channel_order_item.unit_price END,
    item_subtotal = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.item_subtotal ELSE channel_order_item.item_subtotal END,
    item_tax = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.item_tax ELSE channel_order_item.item_tax END,
    item_discount = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.item_discount ELSE channel_order_item.item_discount END,
    shipping_price = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.shipping_price ELSE channel_order_item.shipping_price END,
    shipping_tax = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.shipping_tax ELSE channel_order_item.shipping_tax END,
    shipping_discount = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.shipping_discount ELSE channel_order_item.shipping_discount END,
    proceeds_total = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.proceeds_total ELSE channel_order_item.proceeds_total END,
    order_last_updated_at = CASE WHEN excluded.order_last_updated_at > channel_order_item.order_last_updated_at THEN excluded.order_last_updated_at ELSE channel_order_item.order_last_updated_at END
