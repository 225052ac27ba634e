"""Domain rules: plain Python, no Airflow, no I/O (mapping, validation, windows, settings, tracking packages, staging frames, run plans, import rules)."""
