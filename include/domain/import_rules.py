"""Which staged Amazon orders become Commerce orders (Adobe's Amazon fulfilment workflows).

An order is ready for Commerce in certain Amazon statuses of its fulfilment
channel: merchant-fulfilled orders once paid (UNSHIPPED, or first seen
PARTIALLY_SHIPPED or SHIPPED), FBA orders once Amazon shipped them. The settings
then decide whether ready orders are imported at all (``import_enabled``) and
whether FBA orders are (``fba_import``); orders they keep out are recorded as
skipped with the reason and come back when the settings allow.
"""

from __future__ import annotations

from include.domain.settings import OrderSettings

MFN_IMPORT_STATUSES = ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED")
AFN_IMPORT_STATUSES = ("SHIPPED",)
#: Amazon statuses in which an order of each fulfilment channel is ready for Commerce (staging marks it importable).
IMPORTABLE_STATUSES = {"MERCHANT": MFN_IMPORT_STATUSES, "AMAZON": AFN_IMPORT_STATUSES}


def skip_reason(fulfilled_by: str, settings: OrderSettings) -> str | None:
    """Why the settings keep this fulfilment channel's ready orders out of Commerce, or None when they import them."""
    if not settings.import_enabled:
        return "order import is disabled in amazon_order_settings"
    if fulfilled_by == "AMAZON" and not settings.fba_import:
        return "FBA import is disabled in amazon_order_settings"
    return None


def statuses_to_import(fulfilled_by: str, settings: OrderSettings) -> tuple[str, ...]:
    """The Amazon statuses of this channel's orders to import now: none while the settings keep the channel out."""
    if fulfilled_by not in IMPORTABLE_STATUSES:
        raise ValueError(f"fulfilled_by must be 'MERCHANT' or 'AMAZON', got {fulfilled_by!r}")
    return () if skip_reason(fulfilled_by, settings) else IMPORTABLE_STATUSES[fulfilled_by]
