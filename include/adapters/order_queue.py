"""The SQS queue of an account's ORDER_CHANGE notifications, through the Amazon provider's ``SqsHook``.

The connection is ``aws_default`` (``AWS_CONN_ID``; locally the sandbox's moto server, see
``airflow_settings.yaml``). The event DAG receives and deletes here itself; the
asset watcher (:func:`include.adapters.assets.order_changes`) only wakes it up
(README: Event-driven sync, "Why the run receives and deletes").
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: The Airflow connection of the queues (an ``aws`` connection; ``endpoint_url`` in its extra for a local SQS).
AWS_CONN_ID = "aws_default"
#: How long a received message stays hidden from other consumers: longer than a run takes to stage what it
#: received, so it reappears (and is received again) only if the run crashed before deleting it.
VISIBILITY_S = int(os.environ.get("ACS_ORDER_EVENTS_VISIBILITY_S", "900"))
#: Most distinct orders one run takes: getOrder at 0.5/s after a burst of 30 fetches 100 in about 2.5 minutes.
MAX_ORDERS_PER_RUN = 100
#: Most messages one run receives (duplicates and foreign messages count too).
MAX_MESSAGES_PER_RUN = 500


@dataclass(frozen=True)
class Message:
    """One received message: its id, body and the receipt handle that deletes it (valid while it is hidden)."""

    message_id: str
    body: str
    receipt_handle: str


def sqs_client(conn_id: str = AWS_CONN_ID):
    """A boto3 SQS client of the connection (endpoint, region and credentials from it)."""
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook

    return SqsHook(aws_conn_id=conn_id).get_conn()


def receive_batch(client, queue_url: str, *, max_messages: int = 10, wait_s: int = 1) -> list[Message]:
    """Up to ``max_messages`` (≤ 10) messages, hidden for :data:`VISIBILITY_S` from other consumers."""
    response = client.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        WaitTimeSeconds=wait_s,
        VisibilityTimeout=VISIBILITY_S,
    )
    return [Message(m["MessageId"], m.get("Body", ""), m["ReceiptHandle"]) for m in response.get("Messages", [])]


def delete_messages(client, queue_url: str, receipt_handles: list[str]) -> int:
    """Delete messages by receipt handle, 10 a call; returns how many SQS confirmed. Failures are logged (the
    message then reappears after its visibility timeout and is handled again, which is idempotent)."""
    deleted = 0
    for start in range(0, len(receipt_handles), 10):
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(receipt_handles[start : start + 10])]
        response = client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        deleted += len(response.get("Successful", []))
        for failure in response.get("Failed", []):
            log.warning("message not deleted (%s): it will be received again", failure.get("Code"))
    return deleted
