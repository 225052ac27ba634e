"""The settings' store map checked against Commerce's store answers, and the marketplace table."""

from __future__ import annotations

import pytest

from include.domain.commerce_stores import StoreSetupError, commerce_stores, resolve_stores
from include.domain.marketplaces import MARKETPLACES, REGIONS, marketplace
from include.domain.settings import SettingsError, parse_settings

US, CA, MX, UK = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A1F83G8C2ARO7P"

#: Commerce's answers as the sandbox seeds them (storeViews, websites, storeConfigs), admin scope included.
VIEWS = [
    {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0},
    {"id": 1, "code": "default", "name": "Default Store View", "website_id": 1, "store_group_id": 1},
    {"id": 2, "code": "amazon_ca", "name": "Amazon Ca", "website_id": 2, "store_group_id": 2},
    {"id": 3, "code": "amazon_mx", "name": "Amazon Mx", "website_id": 3, "store_group_id": 3},
    {"id": 4, "code": "amazon_customers", "name": "Amazon Customers", "website_id": 1, "store_group_id": 1},
]
WEBSITES = [
    {"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0},
    {"id": 1, "code": "base", "name": "Main Website", "default_group_id": 1},
    {"id": 2, "code": "ca", "name": "Canada", "default_group_id": 2},
    {"id": 3, "code": "mx", "name": "Mexico", "default_group_id": 3},
]
CONFIGS = [
    {"id": i, "code": c, "website_id": w, "base_currency_code": cur}
    for i, c, w, cur in ((1, "default", 1, "USD"), (2, "amazon_ca", 2, "CAD"), (3, "amazon_mx", 3, "MXN"),
                         (4, "amazon_customers", 1, "USD"))
]  # fmt: skip
STORES = commerce_stores(VIEWS, WEBSITES, CONFIGS)


def test_every_region_and_the_required_marketplaces_are_listed():
    countries = {m.country: m for m in MARKETPLACES.values()}
    for country in ("US", "CA", "MX", "BR", "UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "TR", "JP", "AU"):
        assert country in countries, country
    assert {m.region for m in MARKETPLACES.values()} == set(REGIONS)
    assert (marketplace(UK).currency, marketplace(UK).region) == ("GBP", "EU")
    assert (countries["JP"].currency, countries["JP"].region) == ("JPY", "FE")
    assert (countries["BR"].currency, countries["TR"].currency, countries["SE"].currency) == ("BRL", "TRY", "SEK")
    assert marketplace("A1PA6795UKMFR9").currency == "EUR" and marketplace("NOPE") is None


def test_the_default_settings_resolve_against_the_seeded_stores():
    setup = resolve_stores(parse_settings({"customer_creation": "create"}), STORES)
    us = setup.order_store(US)
    assert (us.store_id, us.website_id, us.code, us.currency) == (1, 1, "default", "USD")
    assert (setup.order_store(CA).store_id, setup.order_store(CA).currency) == (2, "CAD")
    assert setup.order_store(UK) is None
    assert setup.customer_store(1).code == "amazon_customers" and setup.customer_store(2).code == "amazon_ca"
    assert "A2EUQ1WTGCTBG2 (CA) -> store view amazon_ca (id 2, website ca, CAD)" in setup.describe()
    assert "admin" not in STORES  # the admin scope is never a target


def test_a_missing_store_view_fails_with_a_clear_message():
    settings = parse_settings({"store_by_marketplace": {US: "default", UK: "amazon_uk"}})
    with pytest.raises(StoreSetupError) as err:
        resolve_stores(settings, STORES)
    assert isinstance(err.value, SettingsError)  # a settings error: the task fails at once, no retries
    assert str(err.value) == (
        "amazon_order_settings does not fit the stores in Commerce: store_by_marketplace maps "
        "A1F83G8C2ARO7P (UK) to store view 'amazon_uk', which Commerce does not have "
        "(store views: amazon_ca, amazon_customers, amazon_mx, default)"
    )


def test_a_currency_mismatch_fails_with_a_clear_message():
    settings = parse_settings({"store_by_marketplace": {US: "default", CA: "default", MX: "amazon_mx"}})
    with pytest.raises(StoreSetupError) as err:
        resolve_stores(settings, STORES)
    assert err.value.problems == [
        "A2EUQ1WTGCTBG2 (CA) sells in CAD but store view 'default' (website 'base') has base currency USD: "
        "map it to a store view of a website whose base currency is CAD"
    ]


def test_customer_creation_needs_one_customer_store_view_per_website():
    settings = parse_settings(
        {"customer_creation": "create", "customer_stores": ["amazon_customers", "default", "gone"]}
    )
    with pytest.raises(StoreSetupError) as err:
        resolve_stores(settings, STORES)
    assert err.value.problems == [
        "customer_stores names store view 'gone', which Commerce does not have",
        "customer_stores names more than one store view of website 'base': amazon_customers, default",
        "customer_creation is 'create' but customer_stores has no store view of website 'ca': "
        "add that website's Amazon customer store view (e-mails disabled, see README)",
        "customer_creation is 'create' but customer_stores has no store view of website 'mx': "
        "add that website's Amazon customer store view (e-mails disabled, see README)",
    ]
    # guest orders need no customer store view
    guest = resolve_stores(parse_settings({"customer_stores": ["gone"]}), STORES)
    assert guest.customer_store(1) is None
