"""Settings Variable parsing: defaults as Amazon Sales Channel, clear errors, typo protection."""

from __future__ import annotations

import json

import pytest

from include.domain.retry_policy import RetryPolicy
from include.domain.settings import DEFAULT_STORE_BY_MARKETPLACE, OrderSettings, SettingsError, parse_settings


@pytest.mark.parametrize("raw", [None, "", "  ", "{}", {}])
def test_empty_gives_amazon_sales_channel_defaults(raw):
    s = parse_settings(raw)
    assert s == OrderSettings()
    assert s.import_enabled is True
    assert s.customer_creation == "guest"
    assert s.order_number_source == "commerce"
    assert s.processing_status == "processing"
    assert s.fba_import is False
    assert s.store_by_marketplace == DEFAULT_STORE_BY_MARKETPLACE
    assert (s.chunk_size, s.commerce_concurrency, s.overlap_minutes) == (100, 8, 10)
    assert s.payment_method == "amazonpayment"
    assert s.fba_placeholder_address is True
    assert s.shipping_method_for("ATVPDKIKX0DER", "STANDARD", prime=False) == "amazon_standard"
    assert s.shipping_method_for("A1VC38T7YXB528", None, prime=True) == "amazon_prime"
    assert s.retry_policy == RetryPolicy(max_attempts=8, base_minutes=15, max_delay_minutes=720)


def test_full_json_round_trip():
    raw = {
        "import_enabled": False,
        "customer_creation": "create",
        "order_number_source": "amazon",
        "processing_status": "amazon_processing",
        "fba_import": True,
        "store_by_marketplace": {"ATVPDKIKX0DER": "us_store"},
        "chunk_size": 25,
        "commerce_concurrency": 16,
        "overlap_minutes": 0,
        "payment_method": "amazon_channel",
        "customer_stores": ["us_customers"],
        "landing_uri": "s3://landing-bucket/amazon",
        "landing_conn_id": "aws_default",
        "fba_placeholder_address": False,
        "shipping_methods": {"*": {"*": "flatrate_flatrate"}, "A2EUQ1WTGCTBG2": {"PRIME_NEXT_DAY": "ups_next_day"}},
        "retry_max_attempts": 5,
        "retry_base_minutes": 30,
        "retry_max_delay_minutes": 240,
        "pii_retention_days": 14,
        "lease_seconds": 120,
    }
    s = parse_settings(json.dumps(raw))
    assert s.to_dict() == raw
    assert parse_settings(s.to_dict()) == s
    assert s.store_code_for("ATVPDKIKX0DER") == "us_store"
    assert s.store_code_for("A2EUQ1WTGCTBG2") is None  # giving the map replaces it


def test_defaults_are_not_shared_between_instances():
    a, b = parse_settings(None), parse_settings(None)
    a.store_by_marketplace["X"] = "y"
    assert "X" not in b.store_by_marketplace


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        parse_settings(None).chunk_size = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ({"customer_creation": "always"}, ["'customer_creation'", "'always'", "'guest' or 'create'"]),
        ({"order_number_source": "magento"}, ["'order_number_source'", "'magento'", "'commerce' or 'amazon'"]),
        ({"import_enabled": "yes"}, ["'import_enabled'", "'yes'", "true or false"]),
        ({"fba_import": 1}, ["'fba_import'", "1", "true or false"]),
        ({"chunk_size": 0}, ["'chunk_size'", "0", "from 1 to 1000"]),
        ({"chunk_size": True}, ["'chunk_size'", "True", "integer"]),
        ({"chunk_size": "100"}, ["'chunk_size'", "'100'", "integer"]),
        ({"commerce_concurrency": 65}, ["'commerce_concurrency'", "65", "from 1 to 64"]),
        ({"overlap_minutes": -1}, ["'overlap_minutes'", "-1", "from 0 to 1440"]),
        ({"retry_max_attempts": 0}, ["'retry_max_attempts'", "0", "from 1 to 1000"]),
        ({"retry_base_minutes": -5}, ["'retry_base_minutes'", "-5", "from 0 to 10080"]),
        ({"retry_max_delay_minutes": "1h"}, ["'retry_max_delay_minutes'", "'1h'", "integer"]),
        ({"processing_status": "Processing!"}, ["'processing_status'", "'Processing!'", "Commerce code"]),
        ({"payment_method": ""}, ["'payment_method'", "''"]),
        ({"store_by_marketplace": {}}, ["'store_by_marketplace'", "non-empty object"]),
        ({"store_by_marketplace": ["default"]}, ["'store_by_marketplace'", "non-empty object"]),
        ({"store_by_marketplace": {"us": "default"}}, ["'store_by_marketplace.us'", "marketplace id"]),
        ({"store_by_marketplace": {"AXXXXXXXXXXXX": "default"}}, ["'store_by_marketplace.AXXXXXXXXXXXX'", "id"]),
        ({"customer_stores": []}, ["'customer_stores'", "non-empty list"]),
        ({"customer_stores": "amazon_customers"}, ["'customer_stores'", "list of distinct"]),
        ({"customer_stores": ["a", "a"]}, ["'customer_stores'", "distinct"]),
        ({"customer_stores": ["Amazon"]}, ["'customer_stores'", "store view codes"]),
        ({"store_by_marketplace": {"ATVPDKIKX0DER": 1}}, ["'store_by_marketplace.ATVPDKIKX0DER'", "store view code"]),
        ({"fba_placeholder_address": "on"}, ["'fba_placeholder_address'", "true or false"]),
        ({"shipping_methods": {}}, ["'shipping_methods'", 'marketplace id or "*"']),
        ({"shipping_methods": {"us": {"*": "flatrate_flatrate"}}}, ["'shipping_methods.us'", "marketplace id or '*'"]),
        ({"shipping_methods": {"*": {"standard": "flatrate_flatrate"}}}, ["'shipping_methods.*.standard'", "PRIME"]),
        ({"shipping_methods": {"*": {"*": "flatrate"}}}, ["'shipping_methods.*.*'", "'carrier_method'"]),
    ],
)
def test_invalid_values_name_key_value_and_allowed(raw, fragments):
    with pytest.raises(SettingsError) as err:
        parse_settings(raw)
    message = str(err.value)
    assert message.startswith("amazon_order_settings: ")
    for fragment in fragments:
        assert fragment in message


def test_unknown_keys_are_rejected_with_the_allowed_list():
    with pytest.raises(SettingsError, match=r"unknown key\(s\) 'fba_imports'.*allowed keys: import_enabled"):
        parse_settings({"fba_imports": True})


@pytest.mark.parametrize(
    ("raw", "match"), [("{not json", "not valid JSON"), ("[1, 2]", "expected a JSON object, got list"), (7, "got int")]
)
def test_malformed_input(raw, match):
    with pytest.raises(SettingsError, match=match):
        parse_settings(raw)


def test_load_settings_reads_the_airflow_variable(monkeypatch):
    from include.domain.settings import load_settings

    monkeypatch.setenv("AIRFLOW_VAR_AMAZON_ORDER_SETTINGS", json.dumps({"customer_creation": "create"}))
    assert load_settings().customer_creation == "create"


def test_the_retired_stores_key_says_what_replaced_it():
    """Ids and currencies of store views are looked up in Commerce now; an old Variable is told so."""
    old = {"stores": {"default": {"store_id": 1, "website_id": 1, "currency": "USD"}}, "customer_creation": "create"}
    with pytest.raises(SettingsError) as err:
        parse_settings(old)
    message = str(err.value)
    assert "'stores' is no longer a setting" in message
    assert "looked up in Commerce by store view code" in message and "delete 'stores'" in message


def test_default_customer_stores_are_the_seeded_amazon_store_views():
    assert parse_settings(None).customer_stores == ("amazon_customers", "amazon_ca", "amazon_mx")
    assert parse_settings({"customer_stores": ["a", "b"]}).to_dict()["customer_stores"] == ["a", "b"]


@pytest.mark.parametrize("uri", ["/tmp/landing", "gs://bucket", 3])
def test_landing_uri_must_be_file_or_s3(uri):
    with pytest.raises(SettingsError, match="landing_uri"):
        parse_settings({"landing_uri": uri})
