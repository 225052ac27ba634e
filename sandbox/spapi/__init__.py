"""Local stand-in for the Amazon Selling Partner API (LWA, Orders v2026-01-01, Orders v0 confirmShipment).

Importing this package is cheap; the FastAPI app lives in :mod:`sandbox.spapi.app`.
"""
