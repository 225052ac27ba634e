-- Move a job's high-water mark forward; an older value never moves it back.
INSERT INTO channel_sync_state (job, account, high_water_mark, updated_at)
VALUES (:job, :account, :mark, :now)
ON CONFLICT (job, account) DO UPDATE SET
    high_water_mark = CASE
        WHEN channel_sync_state.high_water_mark IS NULL OR excluded.high_water_mark > channel_sync_state.high_water_mark
        THEN excluded.high_water_mark ELSE channel_sync_state.high_water_mark END,
    updated_at = excluded.updated_at
