"""The lease of the running task (``include/channel_db/leases.py``): who claims, for how long."""

from __future__ import annotations

import os
import uuid

from include.channel_db.leases import Lease


def task_lease(seconds: int) -> Lease:
    """A lease owned by this task attempt: ``<host>:<pid>:<random>``, host as Airflow records it for the task.

    Readable by an operator (which worker holds a row), unique per attempt: a retry on the same
    worker is another owner, so it never takes over the leases of the attempt it replaces.
    """
    from airflow.utils.net import get_hostname

    suffix = f":{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return Lease(get_hostname()[: 200 - len(suffix)] + suffix, seconds)
