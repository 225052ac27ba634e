-- Move a job's high-water mark forward; an older value never moves it back.
INSERT INTO channel_sync_state (job, account, high_water_mark, updated_at)
VALUES (:job, :account, :mark, :now)
ON DUPLICATE KEY UPDATE
    high_water_mark = IF(high_water_mark IS NULL OR VALUES(high_water_mark) > high_water_mark, VALUES(high_water_mark), high_water_mark),
    updated_at = VALUES(updated_at)
