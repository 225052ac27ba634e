"""Task bodies: what each task of amazon_order_sync and amazon_tracking_push does (the DAG files wire them)."""
