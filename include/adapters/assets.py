"""Assets the DAGs produce and consume: one per seller account."""

from airflow.sdk import Asset

from include.adapters.accounts import DEFAULT_ACCOUNT, Account


def orders_synced(account: Account) -> Asset:
    """Updated by an account's order-sync run that imported or updated merchant-fulfilled orders (its
    `announce_changes` task; skipped otherwise); the event extra carries the run's counts. Starts that account's
    tracking push, and no other account's."""
    if account.name == DEFAULT_ACCOUNT.name:
        return Asset(name="amazon_orders_synced", uri="x-amazon-commerce://orders/synced", group="amazon")
    return Asset(
        name=f"amazon_orders_synced_{account.name}",
        uri=f"x-amazon-commerce://orders/synced/{account.name}",
        group="amazon",
    )


#: The default account's asset (the name a one-account deployment has always had).
ORDERS_SYNCED = orders_synced(DEFAULT_ACCOUNT)
