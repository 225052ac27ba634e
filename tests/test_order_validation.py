"""The order model at the boundary (include/domain/order_validation.py): Amazon's own examples pass, nothing else crashes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from include.domain.order_validation import InvalidOrder, clean_text, validate_order
from include.domain.staging import flatten
from tests import amazon_orders as ao

SECRET = "Zelda Quux-Secret"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _worked_examples(specs_dir) -> list[dict]:
    """Every Order in the examples and x-amzn-api-sandbox sections of Amazon's Orders v2026-01-01 model."""
    found: list[dict] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("orderId"), str) and "orderItems" in node:
                found.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(json.loads((specs_dir / "sp-api" / "orders_2026-01-01.json").read_text()))
    return found


def test_amazon_worked_examples_are_valid_orders(specs_dir):
    examples = _worked_examples(specs_dir)
    assert len(examples) >= 8
    for example in examples:
        checked = validate_order(example)
        assert checked.orderId == example["orderId"]
    orders_df, items_df = flatten(examples)
    assert len(orders_df) == len({e["orderId"] for e in examples}) and len(items_df) >= len(examples)


def test_reasons_name_fields_not_values():
    order = ao.order(buyer_name=SECRET, buyer_email="zelda.secret@marketplace.amazon.com")
    order["buyer"]["buyerName"] = [SECRET]
    order["buyer"]["buyerEmail"] = SECRET * 20
    order["recipient"]["deliveryAddress"]["city"] = {"name": SECRET}
    with pytest.raises(InvalidOrder) as caught:
        validate_order(order)
    reason = caught.value.reason
    assert "buyer.buyerName: Input should be a valid string (got list)" in reason
    assert "buyer.buyerEmail: String should have at most 254 characters" in reason
    assert "recipient.deliveryAddress.city" in reason
    assert "Zelda" not in reason and "zelda" not in reason


def test_cancelled_orders_may_have_zero_quantities_others_not():
    cancelled = ao.order(ao.line(qty=1), status="CANCELLED")
    cancelled["orderItems"][0]["quantityOrdered"] = 0
    cancelled["orderItems"][0]["fulfillment"]["quantityUnfulfilled"] = 0
    validate_order(cancelled)
    unshipped = copy.deepcopy(cancelled)
    unshipped["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
    with pytest.raises(InvalidOrder, match=r"orderItems\[0\].quantityOrdered must be at least 1"):
        validate_order(unshipped)


def test_free_text_is_cleaned_for_display_columns():
    assert clean_text("Ana\x00 \x07Smith\ud800", 255) == "Ana Smith?"
    assert clean_text("N" * 5000, 255) == "N" * 255
    assert clean_text(" \x1b ", 10) is None and clean_text(None, 10) is None


@st.composite
def mutated_orders(draw) -> dict:
    """A valid order with one value somewhere replaced by arbitrary JSON (or removed)."""
    order = ao.order(ao.line("MUG-001", qty=2), ao.line("TEE-002"), buyer_name=SECRET)
    node: Any = order
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        if isinstance(node, dict) and draw(st.booleans()):
            node.pop(key)
        else:
            node[key] = draw(json_values)
        break
    return order


@settings(max_examples=300, deadline=None)
@given(order=mutated_orders())
def test_any_mutation_is_either_a_valid_order_or_a_named_problem(order):
    try:
        validate_order(order)
    except InvalidOrder as exc:
        assert exc.reason and SECRET not in exc.reason
        return
    orders_df, items_df = flatten([order])  # a valid order always flattens
    assert len(orders_df) == 1


@settings(max_examples=200, deadline=None)
@given(raw=json_values)
def test_arbitrary_json_never_crashes_staging(raw):
    rejected: list[InvalidOrder] = []
    orders_df, _ = flatten([raw], on_invalid=lambda _position, exc: rejected.append(exc))
    assert len(orders_df) + len(rejected) == 1


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("programs",), "PRIME", "programs: Input should be a valid list"),
        (("orderAliases",), [{"aliasId": 7}], "orderAliases[0].aliasId: Input should be a valid string"),
        (("associatedOrders",), {"orderId": "x"}, "associatedOrders: Input should be a valid list"),
        (
            ("buyer", "buyerPurchaseOrderNumber"),
            ["PO"],
            "buyer.buyerPurchaseOrderNumber: Input should be a valid string",
        ),
        (("tax",), {"taxRegistrations": "VAT"}, "tax.taxRegistrations: Input should be a valid list"),
        (("fulfillment", "shipByWindow"), "tomorrow", "fulfillment.shipByWindow: Input should be a valid dictionary"),
    ],
)
def test_fields_the_mapping_reads_are_type_checked(path, value, reason):
    """Order facts, business data and gift options are read by the mapping: a wrong type is a reason, not a crash."""
    order = ao.order()
    target = order
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidOrder) as caught:
        validate_order(order)
    assert reason in caught.value.reason


def test_gift_options_and_order_charges_are_type_checked():
    order = ao.order()
    order["orderItems"][0]["fulfillment"]["packing"] = {"giftOption": {"giftMessage": 5}}
    with pytest.raises(InvalidOrder, match=r"orderItems\[0\].fulfillment.packing.giftOption.giftMessage"):
        validate_order(order)
    order = ao.order()
    order["proceeds"]["breakdowns"] = [{"type": "DELIVERY_TIP", "subtotal": {"amount": "1.00", "currencyCode": "EUR"}}]
    with pytest.raises(InvalidOrder, match=r"amounts in more than one currency \(EUR, USD\)"):
        validate_order(order)
