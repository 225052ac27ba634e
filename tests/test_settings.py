"""Settings Variable parsing: defaults as Amazon Sales Channel, clear errors, typo protection."""

from __future__ import annotations

import json

import pytest

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
        "stores": {"us_store": {"store_id": 4, "website_id": 2, "currency": "USD"}},
        "landing_uri": "s3://landing-bucket/amazon",
        "landing_conn_id": "aws_default",
        "pii_retention_days": 14,
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
        ({"processing_status": "Processing!"}, ["'processing_status'", "'Processing!'", "Commerce code"]),
        ({"payment_method": ""}, ["'payment_method'", "''"]),
        ({"store_by_marketplace": {}}, ["'store_by_marketplace'", "non-empty object"]),
        ({"store_by_marketplace": ["default"]}, ["'store_by_marketplace'", "non-empty object"]),
        ({"store_by_marketplace": {"us": "default"}}, ["'store_by_marketplace.us'", "marketplace id"]),
        ({"store_by_marketplace": {"ATVPDKIKX0DER": 1}}, ["'store_by_marketplace.ATVPDKIKX0DER'", "store view code"]),
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


def test_store_map_must_name_defined_stores():
    with pytest.raises(SettingsError, match="'us_store' that 'stores' does not define"):
        parse_settings({"store_by_marketplace": {"ATVPDKIKX0DER": "us_store"}})


@pytest.mark.parametrize(
    "stores",
    [
        {},
        {"default": {"store_id": "1", "website_id": 1}},
        {"default": {"store_id": 1}},
        {"default": {"store_id": 1, "website_id": 1, "currency": "usd"}},
    ],
)
def test_stores_are_validated(stores):
    with pytest.raises(SettingsError, match="invalid 'stores"):
        parse_settings({"stores": stores})


@pytest.mark.parametrize("uri", ["/tmp/landing", "gs://bucket", 3])
def test_landing_uri_must_be_file_or_s3(uri):
    with pytest.raises(SettingsError, match="landing_uri"):
        parse_settings({"landing_uri": uri})
