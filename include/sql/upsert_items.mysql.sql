-- Stage Amazon order items, keyed by (amazon_order_id, order_item_id): a newer order version (its lastUpdatedTime,
-- carried as order_last_updated_at) replaces the item's Amazon data; an older or equal one never does.
-- quantity_confirmed and commerce_order_item_id (tracking push state) are never touched here.
-- MariaDB/MySQL: executemany becomes multi-row INSERTs; order_last_updated_at (read by every condition) is assigned LAST.
INSERT INTO channel_order_item (amazon_order_id, order_item_id, sku, asin, title, quantity_ordered, quantity_shipped, currency, unit_price, item_subtotal, item_tax, item_discount, shipping_price, shipping_tax, shipping_discount, proceeds_total, order_last_updated_at)
VALUES (:amazon_order_id, :order_item_id, :sku, :asin, :title, :quantity_ordered, :quantity_shipped, :currency, :unit_price, :item_subtotal, :item_tax, :item_discount, :shipping_price, :shipping_tax, :shipping_discount, :proceeds_total, :order_last_updated_at)
ON DUPLICATE KEY UPDATE
    sku = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(sku), sku),
    asin = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(asin), asin),
    title = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(title), title),
    quantity_ordered = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(quantity_ordered), quantity_ordered),
    quantity_shipped = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(quantity_shipped), quantity_shipped),
    currency = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(currency), currency),
    unit_price = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(unit_price), unit_price),
    item_subtotal = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(item_subtotal), item_subtotal),
    item_tax = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(item_tax), item_tax),
    item_discount = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(item_discount), item_discount),
    shipping_price = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(shipping_price), shipping_price),
    shipping_tax = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(shipping_tax), shipping_tax),
    shipping_discount = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(shipping_discount), shipping_discount),
    proceeds_total = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(proceeds_total), proceeds_total),
    order_last_updated_at = IF(VALUES(order_last_updated_at) > order_last_updated_at, VALUES(order_last_updated_at), order_last_updated_at)
