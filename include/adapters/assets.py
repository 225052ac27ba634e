"""Assets the DAGs produce and consume: one per seller account."""

from airflow.sdk import Asset, AssetWatcher

from include.adapters.accounts import DEFAULT_ACCOUNT, Account


def orders_synced(account: Account) -> Asset:
    """Updated by an account's order-sync run that imported or updated merchant-fulfilled orders (its
    `announce_changes` task; skipped otherwise); the event extra carries the run's counts. Starts that account's
    tracking push, and no other account's."""
    return Asset(
        name=account.named("amazon_orders_synced"), uri=account.uri("x-amazon-commerce://orders/synced"), group="amazon"
    )


#: The default account's asset (the name a one-account deployment has always had).
ORDERS_SYNCED = orders_synced(DEFAULT_ACCOUNT)

#: The watcher's long poll (seconds) and its pause after an empty poll: a message wakes the DAG within ~1 s.
WATCH_WAIT_S = 10
WATCH_PAUSE_S = 1


def order_changes(account: Account) -> Asset:
    """The account's ORDER_CHANGE queue as an asset, watched by the Amazon provider's SQS trigger in the triggerer.

    The watcher is a wake-up only: it peeks (at most one message, ``VisibilityTimeout=0`` so the message stays
    visible, never deleted) and each sighting is an asset event that starts the account's event DAG, whose run
    receives the messages itself and deletes them once their orders are staged. Message bodies therefore never
    reach the metadata database (asset event extras), and a crashed run's messages reappear in the queue.
    """
    from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger

    from include.adapters.order_queue import AWS_CONN_ID

    if not account.order_change_queue:
        raise ValueError(f"account {account.name} has no order_change_queue")
    trigger = SqsSensorTrigger(
        sqs_queue=account.order_change_queue,
        aws_conn_id=AWS_CONN_ID,
        max_messages=1,
        wait_time_seconds=WATCH_WAIT_S,
        visibility_timeout=0,
        delete_message_on_reception=False,
        waiter_delay=WATCH_PAUSE_S,
    )
    return Asset(
        name=account.named("amazon_order_changes"),
        uri=account.uri("x-amazon-commerce://orders/changes"),
        group="amazon",
        watchers=[AssetWatcher(name=account.named("order_change_queue"), trigger=trigger)],
    )
