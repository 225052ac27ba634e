"""Commerce shipments → Amazon packages: ids, carriers, item mapping, splits, windows (pure functions)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from include.domain import tracking as t
from include.domain.windows import WindowError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------------------------------------- ids


def test_package_reference_id_scheme():
    assert t.package_reference_id(12, 34) == "120000000034"
    assert t.package_reference_id(1, 1) == "10000000001"
    assert t.parse_package_reference_id("120000000034") == (12, 34)
    # Magento's largest ids (int(10) unsigned) still fit and round-trip.
    biggest = 4_294_967_295
    ref = t.package_reference_id(biggest, biggest)
    assert t.parse_package_reference_id(ref) == (biggest, biggest)
    assert ref.isdigit() and not ref.startswith("0") and len(ref) == 20


def test_package_reference_ids_never_collide():
    rng = random.Random(5)
    pairs = {(rng.randint(1, 10**6), rng.randint(1, 10**9)) for _ in range(20_000)}
    pairs |= {(s, k) for s in range(1, 60) for k in range(1, 60)}  # small ids, where naive concatenation collides
    refs = {t.package_reference_id(s, k) for s, k in pairs}
    assert len(refs) == len(pairs)
    assert t.package_reference_id(1, 23) != t.package_reference_id(12, 3)


@pytest.mark.parametrize("shipment, track", [(0, 1), (1, 0), (-1, 5), (1, 10**10)])
def test_package_reference_id_rejects_out_of_range(shipment, track):
    with pytest.raises(t.PackageError):
        t.package_reference_id(shipment, track)


@pytest.mark.parametrize("ref", ["", "abc", "0123", "99", "-5"])
def test_parse_package_reference_id_rejects_foreign_ids(ref):
    with pytest.raises(t.PackageError):
        t.parse_package_reference_id(ref)


def test_reference_ids_validate_against_the_v0_spec(specs_dir):
    spec = json.loads((specs_dir / "sp-api" / "ordersV0.json").read_text())
    assert "positive numeric" in spec["definitions"]["PackageReferenceId"]["description"]
    assert t.package_reference_id(7, 9).isdigit()


# ----------------------------------------------------------------------------------------------------------- carriers


@pytest.mark.parametrize(
    "code, title, expected",
    [
        ("fedex", "Federal Express", t.Carrier("FedEx")),
        ("ups", "United Parcel Service", t.Carrier("UPS")),
        ("usps", "United States Postal Service", t.Carrier("USPS")),
        ("dhl", "DHL", t.Carrier("DHL")),
        ("FEDEX", "", t.Carrier("FedEx")),
        ("canada_post", "Canada Post", t.Carrier("Canada Post")),
        ("custom", "Purolator", t.Carrier("Purolator")),
        ("custom", "Canada Post", t.Carrier("Canada Post")),
        ("custom", "Acme Couriers", t.Carrier("Other", "Acme Couriers")),
        ("bluedart_x", "", t.Carrier("Other", "bluedart_x")),
        (None, None, t.Carrier("Other", "Unknown carrier")),
    ],
)
def test_amazon_carrier(code, title, expected):
    assert t.amazon_carrier(code, title) == expected


def test_carrier_code_descriptions_match_the_v0_spec(specs_dir):
    detail = json.loads((specs_dir / "sp-api" / "ordersV0.json").read_text())["definitions"]["PackageDetail"]
    assert "Other" in detail["properties"]["carrierName"]["description"]
    assert {"carrierCode", "trackingNumber", "shipDate", "orderItems", "packageReferenceId"} <= set(detail["required"])


@pytest.mark.parametrize(
    "track, expected",
    [
        ({"carrier_code": "ups", "title": "UPS Ground"}, "UPS Ground"),
        ({"carrier_code": "ups", "title": "United Parcel Service"}, None),
        ({"carrier_code": "fedex", "title": "FedEx"}, None),
        ({"carrier_code": "ups", "title": "UPS", "description": "Next Day Air"}, "Next Day Air"),
        ({"carrier_code": "custom", "title": "Acme Couriers"}, None),
        ({"carrier_code": "usps", "title": ""}, None),
    ],
)
def test_shipping_method(track, expected):
    carrier = t.amazon_carrier(track.get("carrier_code"), track.get("title"))
    assert t.shipping_method(track, carrier) == expected


# ----------------------------------------------------------------------------------------------------------- packages


def shipment(items, tracks, *, entity_id=5, order_id=9, created_at="2026-03-02 10:15:00"):
    return {
        "entity_id": entity_id,
        "order_id": order_id,
        "created_at": created_at,
        "items": [{"order_item_id": i, "qty": q, "sku": f"SKU-{i}"} for i, q in items],
        "tracks": [
            {"entity_id": tid, "track_number": num, "carrier_code": code, "title": title}
            for tid, num, code, title in tracks
        ],
    }


LINKS = {101: "AMZ-1", 102: "AMZ-2"}


def build(ship):
    return t.packages_for_shipment(
        ship, amazon_order_id="111-0000001-0000001", marketplace_id="MKT", amazon_item_for=LINKS
    )


def test_one_package_per_tracking_number_with_amazon_items():
    [package] = build(shipment([(101, 2.0), (102, 1.0)], [(7, "1Z999", "ups", "UPS Ground")]))
    assert package.package_reference_id == "50000000007"
    assert package.items == (("AMZ-1", 2), ("AMZ-2", 1))
    assert package.ship_date == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert package.skip_reason is None
    assert package.package_detail() == {
        "packageReferenceId": "50000000007",
        "carrierCode": "UPS",
        "trackingNumber": "1Z999",
        "shipDate": "2026-03-02T10:15:00Z",
        "orderItems": [{"orderItemId": "AMZ-1", "quantity": 2}, {"orderItemId": "AMZ-2", "quantity": 1}],
        "shippingMethod": "UPS Ground",
    }


def test_other_carrier_sends_its_name():
    [package] = build(shipment([(101, 1)], [(8, "AC-1", "custom", "Acme Couriers")]))
    detail = package.package_detail()
    assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Acme Couriers")
    assert "shippingMethod" not in detail


def test_two_tracking_numbers_split_the_units():
    first, second = build(shipment([(101, 3.0), (102, 1.0)], [(11, "A", "usps", ""), (12, "B", "dhl", "")]))
    assert first.items == (("AMZ-1", 2),)
    assert second.items == (("AMZ-1", 1), ("AMZ-2", 1))
    assert (first.carrier_code, second.carrier_code) == ("USPS", "DHL")
    assert first.package_reference_id != second.package_reference_id


def test_more_tracking_numbers_than_units_skips_the_extra_one():
    first, second = build(shipment([(101, 1)], [(11, "A", "ups", ""), (12, "B", "ups", "")]))
    assert first.items == (("AMZ-1", 1),) and first.skip_reason is None
    assert second.items == () and "no unit is left" in second.skip_reason


def test_unmapped_item_is_skipped_with_a_reason():
    packages = build(shipment([(101, 1), (555, 1)], [(11, "A", "ups", "")]))
    assert [p.skip_reason for p in packages] == [
        "Commerce order item 555 (SKU SKU-555) has no Amazon order item to confirm"
    ]


def test_shipment_without_tracking_has_no_package():
    assert build(shipment([(101, 1)], [])) == []
    assert build(shipment([(101, 1)], [(3, "  ", "ups", "")])) == []


def test_package_content_changes_with_the_tracking_number():
    a = build(shipment([(101, 1)], [(11, "A", "ups", "")]))[0]
    b = build(shipment([(101, 1)], [(11, "B", "ups", "")]))[0]
    assert a.content() != b.content() and a.package_reference_id == b.package_reference_id
    assert t.items_from_json(a.items_json()) == a.items


@pytest.mark.parametrize(
    "items, parts, expected",
    [
        ([("x", 4)], 2, [[("x", 2)], [("x", 2)]]),
        ([("x", 3)], 2, [[("x", 2)], [("x", 1)]]),
        ([("x", 1), ("y", 1), ("z", 1)], 3, [[("x", 1)], [("y", 1)], [("z", 1)]]),
        ([("x", 1)], 3, [[("x", 1)], [], []]),
        ([("x", 2), ("y", 2)], 1, [[("x", 2), ("y", 2)]]),
    ],
)
def test_split_units(items, parts, expected):
    assert t.split_units(items, parts) == expected


def test_split_units_keeps_every_unit_once():
    rng = random.Random(3)
    for _ in range(200):
        items = [(f"i{n}", rng.randint(1, 5)) for n in range(rng.randint(1, 4))]
        parts = rng.randint(1, 6)
        shares = t.split_units(items, parts)
        total: dict[str, int] = {}
        for share in shares:
            for item_id, qty in share:
                total[item_id] = total.get(item_id, 0) + qty
        assert total == dict(items)
        sizes = [sum(q for _, q in share) for share in shares]
        assert max(sizes) - min(sizes) <= 1


def test_map_commerce_items_by_ext_order_item_id_then_unique_sku():
    commerce = [
        {"item_id": 1, "sku": "MUG-001", "ext_order_item_id": "A1"},
        {"item_id": 2, "sku": "TEE-002", "ext_order_item_id": None},
        {"item_id": 3, "sku": "CAP-001"},
        {"item_id": 4, "sku": "CAP-001"},
        {"item_id": 5, "sku": "PARENT", "parent_item_id": 9, "ext_order_item_id": "A9"},
    ]
    amazon = {"A1": "MUG-001", "A2": "TEE-002", "A3": "CAP-001", "A9": "PARENT"}
    assert t.map_commerce_items(commerce, amazon) == {"A1": 1, "A2": 2}


# ----------------------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "status, permanent",
    [(400, True), (404, True), (422, True), (401, False), (403, False), (408, False), (429, False), (500, False),
     (503, False), (None, False)],
)  # fmt: skip
def test_permanent_refusals(status, permanent):
    assert t.is_permanent_refusal(status) is permanent


# ----------------------------------------------------------------------------------------------------------- window

OVERLAP = timedelta(minutes=10)


def test_window_from_the_high_water_mark_to_now():
    window = t.shipment_window(now=NOW, overlap=OVERLAP, high_water_mark=NOW - timedelta(minutes=30))
    assert (window.start, window.end) == (NOW - timedelta(minutes=40), NOW)


def test_first_window_starts_at_the_oldest_imported_order():
    oldest = NOW - timedelta(days=5)
    window = t.shipment_window(now=NOW, overlap=OVERLAP, high_water_mark=None, oldest_order=oldest)
    assert window.start == oldest - OVERLAP
    assert t.shipment_window(now=NOW, overlap=OVERLAP, high_water_mark=None).start == NOW - t.FIRST_RUN_LOOKBACK


def test_backfill_interval_reaches_back_before_the_mark():
    window = t.shipment_window(
        now=NOW, overlap=OVERLAP, high_water_mark=NOW - timedelta(minutes=5),
        data_interval_start=NOW - timedelta(days=2),
    )  # fmt: skip
    assert window.start == NOW - timedelta(days=2) - OVERLAP and window.end == NOW


def test_explicit_window_wins():
    window = t.shipment_window(
        now=NOW, overlap=OVERLAP, high_water_mark=NOW, since="2026-03-01T00:00:00Z", until="2026-03-01T06:00:00+02:00"
    )
    assert (window.start, window.end) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 4, tzinfo=UTC))
    assert t.shipment_window(now=NOW, overlap=OVERLAP, high_water_mark=None, since="2026-03-01T00:00:00Z").end == NOW


@pytest.mark.parametrize(
    "since, until, message",
    [
        (None, "2026-03-01T00:00:00Z", "without shipments_since"),
        ("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z", "before shipments_since"),
        ("yesterday", None, "not an ISO 8601"),
        ("2026-03-01T00:00:00", None, "no timezone"),
    ],
)
def test_window_errors(since, until, message):
    with pytest.raises(WindowError, match=message):
        t.shipment_window(now=NOW, overlap=OVERLAP, high_water_mark=None, since=since, until=until)


def test_naive_times_are_rejected():
    with pytest.raises(WindowError):
        t.shipment_window(now=NOW.replace(tzinfo=None), overlap=OVERLAP, high_water_mark=None)


def test_parse_commerce_time():
    assert t.parse_commerce_time("2026-03-02 10:15:00") == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert t.parse_commerce_time("2026-03-02T10:15:00Z") == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    with pytest.raises(t.PackageError):
        t.parse_commerce_time("soon")


def test_completion_comment_names_every_package():
    text = t.completion_comment("111-0000001-0000001", [("UPS", "1Z1"), ("Acme Couriers", "AC-9")])
    assert text.startswith(t.COMMENT_PREFIX)
    assert "2 packages" in text and "UPS 1Z1" in text and "Acme Couriers AC-9" in text
