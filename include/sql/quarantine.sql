-- Every order currently kept out of Commerce, with its reason: failed imports (retried under the retry policy:
-- next_attempt_at, or an operator once the attempts reach the maximum), orders the
-- settings skip, imported orders whose Amazon changes could not be applied yet, and landed orders rejected at
-- staging (malformed, or refused by the database; import_status 'rejected'; those recorded before rejections had
-- an account are listed under every account). Oldest problem first.
SELECT * FROM (
    SELECT amazon_order_id, marketplace_id, fulfilled_by, amazon_status, import_status, import_error,
           import_attempts, first_seen_at, last_seen_at, first_failed_at, last_attempt_at, commerce_order_id,
           next_attempt_at
    FROM channel_order
    WHERE import_error IS NOT NULL
      AND import_status IN ('failed', 'skipped', 'imported')
      AND (:any_account = 1 OR account = :account)
    UNION ALL
    SELECT COALESCE(amazon_order_id, rejection_key), NULL, NULL, NULL, 'rejected', reason,
           times_seen, first_seen_at, last_seen_at, first_seen_at, last_seen_at, NULL, NULL
    FROM channel_order_rejection
    WHERE :any_account = 1 OR account = :account OR account IS NULL
) kept_out
ORDER BY COALESCE(first_failed_at, first_seen_at), amazon_order_id
