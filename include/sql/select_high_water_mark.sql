-- The high-water mark of a job and seller account (the end of the last window it finished).
SELECT high_water_mark FROM channel_sync_state WHERE job = :job AND account = :account
