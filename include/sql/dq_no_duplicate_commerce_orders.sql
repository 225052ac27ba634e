-- Data-quality check (SQLCheckOperator: every value of the single row must be truthy).
-- 1. No Amazon order is linked to two Commerce orders. 2. No Commerce order is claimed by two Amazon orders.
SELECT
    (SELECT COUNT(*) FROM (
        SELECT amazon_order_id FROM channel_order_link GROUP BY amazon_order_id HAVING COUNT(*) > 1
    ) AS dup_amazon) = 0 AS no_amazon_order_with_two_commerce_orders,
    (SELECT COUNT(*) FROM (
        SELECT commerce_order_id FROM channel_order WHERE commerce_order_id IS NOT NULL
        GROUP BY commerce_order_id HAVING COUNT(*) > 1
    ) AS dup_commerce) = 0 AS no_commerce_order_shared
