"""Operator tools: run notes and the command line (python -m include.ops.report ...)."""
