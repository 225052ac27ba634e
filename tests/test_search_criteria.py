"""Unit tests: Magento searchCriteria encoding, error messages and retry backoff (no server)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest

from include.clients.commerce.errors import (
    CommerceAuthError,
    CommerceClientError,
    CommerceError,
    CommerceNotFound,
    CommerceUnavailable,
    format_magento_message,
)
from include.clients.commerce.search_criteria import Filter, SearchCriteria, encode_value

P = "searchCriteria"


def test_where_makes_and_ed_groups_with_one_filter_each():
    params = SearchCriteria().where("ext_order_id", "114-1").where("store_id", 2, "neq").to_params()
    assert params == [
        (f"{P}[filter_groups][0][filters][0][field]", "ext_order_id"),
        (f"{P}[filter_groups][0][filters][0][value]", "114-1"),
        (f"{P}[filter_groups][0][filters][0][condition_type]", "eq"),
        (f"{P}[filter_groups][1][filters][0][field]", "store_id"),
        (f"{P}[filter_groups][1][filters][0][value]", "2"),
        (f"{P}[filter_groups][1][filters][0][condition_type]", "neq"),
    ]


def test_where_any_puts_or_ed_filters_in_one_group_then_sort_and_page():
    criteria = (
        SearchCriteria()
        .where_any(Filter("email", "a@example.com"), Filter("email", "b@example.com", "like"))
        .sort("created_at", "desc")
        .sort("entity_id")
        .page(50, 3)
    )
    assert dict(criteria.to_params()) == {
        f"{P}[filter_groups][0][filters][0][field]": "email",
        f"{P}[filter_groups][0][filters][0][value]": "a@example.com",
        f"{P}[filter_groups][0][filters][0][condition_type]": "eq",
        f"{P}[filter_groups][0][filters][1][field]": "email",
        f"{P}[filter_groups][0][filters][1][value]": "b@example.com",
        f"{P}[filter_groups][0][filters][1][condition_type]": "like",
        f"{P}[sortOrders][0][field]": "created_at",
        f"{P}[sortOrders][0][direction]": "DESC",
        f"{P}[sortOrders][1][field]": "entity_id",
        f"{P}[sortOrders][1][direction]": "ASC",
        f"{P}[pageSize]": "50",
        f"{P}[currentPage]": "3",
    }


def test_empty_criteria_still_sends_the_required_argument():
    assert SearchCriteria().to_params() == [(f"{P}[currentPage]", "1")]


def test_hostile_values_stay_values_after_url_encoding():
    hostile = "x&searchCriteria[pageSize]=1' OR 1=1 --%"
    request = httpx.Request(
        "GET", "http://shop/rest/V1/orders", params=SearchCriteria().where("ext_order_id", hostile).to_params()
    )
    decoded = parse_qsl(request.url.query.decode())
    assert decoded[1] == (f"{P}[filter_groups][0][filters][0][value]", hostile)
    assert len(decoded) == 3 and not any(k == f"{P}[pageSize]" for k, _ in decoded)


@pytest.mark.parametrize(
    ("value", "condition", "expected"),
    [
        (["A", "B", 3], "in", "A,B,3"),
        (("x",), "nin", "x"),
        ({"b", "a"}, "in", "a,b"),
        ("single", "in", "single"),
        (True, "eq", "1"),
        (False, "eq", "0"),
        (None, "null", ""),
        (Decimal("12.50"), "gteq", "12.50"),
        (datetime(2026, 3, 1, 12, 0, 5, tzinfo=timezone(timedelta(hours=2))), "from", "2026-03-01 10:00:05"),
        (datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC), "to", "2026-03-01 12:00:05"),
        (datetime(2026, 3, 1, 12, 0, 5), "lt", "2026-03-01 12:00:05"),
        (date(2026, 3, 1), "gt", "2026-03-01"),
        ("%mug%", "like", "%mug%"),
    ],
)
def test_values_are_rendered_as_magento_expects(value, condition, expected):
    assert encode_value(value, condition) == expected


@pytest.mark.parametrize(
    ("field", "value", "condition"),
    [
        ("email", "a", "contains"),  # unknown condition type
        ("email]", "a", "eq"),  # a field cannot carry brackets into the query structure
        ("", "a", "eq"),
        ("sku", ["a,b"], "in"),  # Magento splits 'in' values on commas
        ("sku", ["a", "b"], "eq"),  # a list where one value is expected
        ("sku", object(), "eq"),
    ],
)
def test_invalid_filters_are_rejected_before_sending(field, value, condition):
    with pytest.raises(ValueError):
        Filter(field, value, condition)


def test_between_page_sort_validation_and_copy():
    criteria = SearchCriteria().between("created_at", "2026-01-01 00:00:00", "2026-01-02 00:00:00")
    assert [g[0].condition_type for g in criteria.filter_groups] == ["from", "to"]
    assert len(SearchCriteria().between("created_at", end="2026-01-02").filter_groups) == 1
    with pytest.raises(ValueError):
        SearchCriteria().page(0)
    with pytest.raises(ValueError):
        SearchCriteria().sort("entity_id", "UP")
    with pytest.raises(ValueError):
        SearchCriteria().where_any()
    with pytest.raises(TypeError):
        SearchCriteria().where_any(("email", "a"))  # type: ignore[arg-type]
    clone = criteria.copy().where("store_id", 1)
    assert len(clone.filter_groups) == 3 and len(criteria.filter_groups) == 2


# ---------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    ("message", "parameters", "expected"),
    [
        ('The product that was requested doesn\'t exist. Verify the product and try again.', None,
         "The product that was requested doesn't exist. Verify the product and try again."),
        ('Product with SKU "%1" not found.', ["LMP-006"], 'Product with SKU "LMP-006" not found.'),
        ('"%fieldName" is required. Enter and try again.', {"fieldName": "email"}, '"email" is required. Enter and try again.'),
        ("The consumer isn't authorized to access %resources.", {"resources": "Magento_Sales::sales"},
         "The consumer isn't authorized to access Magento_Sales::sales."),
        ("%1 of %10 and %2", [str(i) for i in range(1, 11)], "1 of 10 and 2"),  # longest placeholder wins, like strtr
        ("%1 stays %1, %3 unknown", ["x"], "x stays x, %3 unknown"),
        ('Invalid value of "%value" provided for the %fieldName field.', [{"fieldName": "qty", "value": "-1"}],
         'Invalid value of "-1" provided for the qty field.'),
        ("%1 then %2", ["%2", "b"], "%2 then b"),  # substituted text is not substituted again
    ],
)  # fmt: skip
def test_magento_placeholders_are_substituted(message, parameters, expected):
    assert format_magento_message(message, parameters) == expected


def test_errors_map_statuses_and_keep_the_magento_message():
    body = {"message": 'Product with SKU "%1" not found.', "parameters": ["LMP-006"]}
    error = CommerceError.from_response(400, body, method="PUT", path="/V1/orders/create")
    assert type(error) is CommerceClientError
    assert error.message == 'Product with SKU "LMP-006" not found.'
    assert error.template == 'Product with SKU "%1" not found.' and error.parameters == ["LMP-006"]
    assert str(error) == 'Product with SKU "LMP-006" not found. (HTTP 400, PUT /V1/orders/create)'
    assert isinstance(CommerceError.from_response(401, {"message": "x"}), CommerceAuthError)
    assert isinstance(CommerceError.from_response(404, {"message": "x"}), CommerceNotFound)
    assert isinstance(CommerceError.from_response(429, {"message": "x"}), CommerceUnavailable)
    assert isinstance(CommerceError.from_response(503, "<html>busy</html>"), CommerceUnavailable)


def test_error_lists_and_foreign_error_bodies():
    body = {
        "message": "One or more input exceptions have occurred.",
        "errors": [
            {"message": '"%fieldName" is required. Enter and try again.', "parameters": {"fieldName": "firstname"}},
            {"message": '"%fieldName" is required. Enter and try again.', "parameters": {"fieldName": "lastname"}},
        ],
    }
    error = CommerceError.from_response(400, body)
    assert error.message == (
        'One or more input exceptions have occurred.: "firstname" is required. Enter and try again.; '
        '"lastname" is required. Enter and try again.'
    )
    gateway = {"errors": [{"code": "ServiceUnavailable", "message": "Service temporarily unavailable."}]}
    assert CommerceError.from_response(503, gateway).message == "Service temporarily unavailable."
    assert CommerceError.from_response(502, None).message == "Commerce answered HTTP 502"
