"""``python -m include.ops.order_change_subscription``: the SQS destination and ORDER_CHANGE subscription of accounts.

For each account with an ``order_change_queue`` (include/accounts.yaml), idempotently:

1. (``--create-queue``) the SQS queue, through the ``aws_default`` connection, with a policy that lets
   Amazon's notification service send to it (production: needs sqs:CreateQueue; skip it when the queue exists);
2. the destination for the queue's ARN (Notifications API ``getDestinations`` / ``createDestination``,
   grantless: an LWA token of the application with the notifications scope);
3. the seller's ORDER_CHANGE subscription to that destination (``getSubscription`` / ``createSubscription``,
   the seller's token). A subscription to another destination is replaced (``deleteSubscriptionById``).

Re-running finds what exists and changes nothing. It prints one line per account, no secrets.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from include.adapters.accounts import Account, load_accounts
from include.adapters.hooks.outside_tasks import export_connections
from include.domain.order_notifications import queue_arn

NOTIFICATION_TYPE = "ORDER_CHANGE"
#: Amazon's account that publishes SP-API notifications to SQS (the Notifications API use-case guide).
AMAZON_NOTIFICATIONS_ACCOUNT = "437568002678"


@dataclass(frozen=True)
class SubscriptionState:
    """What the command found or made for one account."""

    account: str
    queue_arn: str
    destination_id: str
    subscription_id: str
    created: tuple[str, ...]

    def describe(self) -> str:
        made = ", ".join(self.created) if self.created else "nothing (all existed)"
        return (
            f"account {self.account}: queue {self.queue_arn} → destination {self.destination_id} → "
            f"{NOTIFICATION_TYPE} subscription {self.subscription_id}; created: {made}"
        )


def ensure_queue(queue_url: str, conn_id: str) -> bool:
    """Create the queue (idempotent: CreateQueue returns the existing one) with Amazon's send permission."""
    from include.adapters.order_queue import sqs_client

    client = sqs_client(conn_id)
    arn = queue_arn(queue_url)
    name = arn.rsplit(":", 1)[1]
    existed = True
    try:
        client.get_queue_url(QueueName=name)
    except client.exceptions.QueueDoesNotExist:
        existed = False
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AmazonSellingPartnerNotifications",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{AMAZON_NOTIFICATIONS_ACCOUNT}:root"},
            "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
            "Resource": arn,
        }],
    }  # fmt: skip
    client.create_queue(QueueName=name, Attributes={"Policy": json.dumps(policy)})
    return not existed


def ensure_subscription(
    account: Account, *, create_queue: bool = False, aws_conn_id: str | None = None
) -> SubscriptionState:
    """The account's destination and ORDER_CHANGE subscription, created where missing."""
    from include.adapters.hooks.amazon_sp_api import SpApiHook
    from include.adapters.order_queue import AWS_CONN_ID
    from include.clients.amazon.client import NOTIFICATIONS_SCOPE

    if not account.order_change_queue:
        raise ValueError(f"account {account.name} has no order_change_queue in the accounts file")
    arn = queue_arn(account.order_change_queue)
    created: list[str] = []
    if create_queue and ensure_queue(account.order_change_queue, aws_conn_id or AWS_CONN_ID):
        created.append("queue")
    hook = SpApiHook(account.conn_id)
    with hook.get_client(grantless_scope=NOTIFICATIONS_SCOPE) as app_client:
        destination = next(
            (d for d in app_client.get_destinations() if (d.get("resource") or {}).get("sqs", {}).get("arn") == arn),
            None,
        )
        if destination is None:
            destination = app_client.create_destination(f"amazon-commerce-sync {account.name}", arn)
            created.append("destination")
    with hook.get_client() as seller_client:
        subscription = seller_client.get_subscription(NOTIFICATION_TYPE)
        if subscription is not None and subscription.get("destinationId") != destination["destinationId"]:
            seller_client.delete_subscription(NOTIFICATION_TYPE, subscription["subscriptionId"])
            subscription = None
            created.append("subscription replaced")
        if subscription is None:
            subscription = seller_client.create_subscription(NOTIFICATION_TYPE, destination["destinationId"])
            created.append("subscription")
    return SubscriptionState(
        account.name, arn, destination["destinationId"], subscription["subscriptionId"], tuple(created)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m include.ops.order_change_subscription", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--account", help="only this account (default: every account with an order_change_queue)")
    parser.add_argument("--create-queue", action="store_true", help="also create the SQS queue (idempotent)")
    args = parser.parse_args(argv)
    accounts = [a for a in load_accounts() if a.order_change_queue and args.account in (None, a.name)]
    if not accounts:
        print("no account with an order_change_queue" + (f" named {args.account}" if args.account else ""))
        return 1
    from include.adapters.order_queue import AWS_CONN_ID

    # Outside a task the hooks see only AIRFLOW_CONN_* variables: hand them the metadata DB's connections.
    export_connections(AWS_CONN_ID, *dict.fromkeys(a.conn_id for a in accounts))
    failed = 0
    for account in accounts:
        try:
            print(ensure_subscription(account, create_queue=args.create_queue).describe(), flush=True)
        except Exception as exc:  # one account's failure is reported and the others go on
            failed += 1
            print(f"account {account.name}: failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
