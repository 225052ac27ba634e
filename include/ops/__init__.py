"""Operator tools: run notes and the command line (python -m include.ops.report ...); orders_page.py: what the
"Amazon orders" page of the UI reads (plugins/amazon_orders.py)."""
