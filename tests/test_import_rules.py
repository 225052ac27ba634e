"""Which staged orders become Commerce orders under the settings (include/domain/import_rules.py)."""

from __future__ import annotations

import pytest

from include.domain.import_rules import IMPORTABLE_STATUSES, skip_reason, statuses_to_import
from include.domain.settings import parse_settings

DEFAULTS = parse_settings({})
FBA_ON = parse_settings({"fba_import": True})
IMPORT_OFF = parse_settings({"import_enabled": False, "fba_import": True})


def test_ready_statuses_follow_adobes_workflows():
    assert IMPORTABLE_STATUSES == {"MERCHANT": ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"), "AMAZON": ("SHIPPED",)}


def test_settings_decide_which_channels_import():
    assert statuses_to_import("MERCHANT", DEFAULTS) == IMPORTABLE_STATUSES["MERCHANT"]
    assert statuses_to_import("AMAZON", DEFAULTS) == ()  # FBA import is off by default
    assert statuses_to_import("AMAZON", FBA_ON) == ("SHIPPED",)
    assert statuses_to_import("MERCHANT", IMPORT_OFF) == statuses_to_import("AMAZON", IMPORT_OFF) == ()
    with pytest.raises(ValueError, match="fulfilled_by"):
        statuses_to_import("FBA", DEFAULTS)


def test_a_channel_kept_out_has_a_reason():
    assert skip_reason("MERCHANT", DEFAULTS) is None
    assert skip_reason("AMAZON", DEFAULTS) == "FBA import is disabled in amazon_order_settings"
    assert skip_reason("AMAZON", FBA_ON) is None
    assert skip_reason("MERCHANT", IMPORT_OFF) == skip_reason("AMAZON", IMPORT_OFF)
    assert skip_reason("MERCHANT", IMPORT_OFF) == "order import is disabled in amazon_order_settings"
