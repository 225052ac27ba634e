"""The landing store through ObjectStoragePath: the same code on file:// and on s3:// (moto's S3 server)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import pytest

from include.adapters.landing import LandingManifest, default_landing_uri, read_orders, safe_run_key, write_pages
from tests.amazon_orders import order
from tests.conftest import CIPHER, free_port

RUN_ID = "scheduled__2026-03-01T10:00:00+00:00"


def pages(count: int, per_page: int) -> list[list[dict]]:
    return [[order(order_id=f"111-{p:07d}-{i:07d}") for i in range(per_page)] for p in range(count)]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server on a free local port, with a bucket and an Airflow AWS connection pointing at it."""
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    conn_id = f"aws_landing_{uuid.uuid4().hex[:8]}"  # unique: ObjectStoragePath caches filesystems per connection
    env_name = f"AIRFLOW_CONN_{conn_id.upper()}"
    os.environ[env_name] = json.dumps(
        {
            "conn_type": "aws",
            "login": "testing-key-id",
            "password": "testing-secret",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }
    )
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing-key-id", aws_secret_access_key="testing-secret",
    )  # fmt: skip
    client.create_bucket(Bucket="acs-landing")
    yield conn_id, client
    os.environ.pop(env_name, None)
    server.stop()


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    """(base_uri, conn_id, list_keys) for each backend."""
    if request.param == "file":
        base = (tmp_path / "landing").as_uri()
        yield (
            base,
            None,
            lambda: sorted(str(p.relative_to(tmp_path / "landing")) for p in (tmp_path / "landing").rglob("*.ndjson")),
        )
        return
    conn_id, client = request.getfixturevalue("s3_server")
    prefix = f"raw/{uuid.uuid4().hex[:8]}"

    def keys():
        listing = client.list_objects_v2(Bucket="acs-landing", Prefix=prefix + "/")
        return sorted(obj["Key"][len(prefix) + 1 :] for obj in listing.get("Contents", []))

    yield f"s3://acs-landing/{prefix}", conn_id, keys


def test_write_and_read_back(store):
    base, conn_id, keys = store
    written = pages(3, 4)
    manifest = write_pages(base, RUN_ID, iter(written), conn_id=conn_id, cipher=CIPHER)
    key = "scheduled__2026-03-01T10_00_00_00_00"
    assert (manifest.pages, manifest.orders, manifest.run_key, manifest.conn_id) == (3, 12, key, conn_id)
    assert keys() == [f"{key}/page-00001.ndjson", f"{key}/page-00002.ndjson", f"{key}/page-00003.ndjson"]
    assert manifest.bytes > 0 and len(manifest.files) == 3
    expected = [o for page in written for o in page]
    assert list(read_orders(manifest, cipher=CIPHER)) == expected
    # the manifest crosses XCom as JSON
    as_json = json.loads(json.dumps(manifest.to_dict()))
    assert LandingManifest.from_dict(as_json) == manifest
    assert list(read_orders(as_json, cipher=CIPHER)) == expected
    assert list(read_orders(manifest.uri, conn_id=conn_id, cipher=CIPHER)) == expected
    assert list(read_orders(manifest.files[1], conn_id=conn_id, cipher=CIPHER)) == written[1]


def test_empty_pages_write_no_files(store):
    base, conn_id, keys = store
    manifest = write_pages(base, "manual__empty", [[], []], conn_id=conn_id, cipher=CIPHER)
    assert (manifest.pages, manifest.orders, manifest.files) == (2, 0, [])
    assert keys() == []
    assert list(read_orders(manifest, cipher=CIPHER)) == []


def test_a_retry_replaces_the_pages_of_the_earlier_attempt(store):
    base, conn_id, keys = store
    write_pages(base, "run-1", pages(3, 2), conn_id=conn_id, cipher=CIPHER)
    retry = write_pages(base, "run-1", pages(1, 2), conn_id=conn_id, cipher=CIPHER)
    assert keys() == ["run-1/page-00001.ndjson"]
    assert len(list(read_orders(retry.uri, conn_id=conn_id, cipher=CIPHER))) == 2


def test_pages_are_streamed_not_collected(tmp_path):
    """write_pages consumes the page iterator lazily: a page is written before the next is produced."""
    base = (tmp_path / "landing").as_uri()
    seen_files = []

    def producer():
        for index in range(3):
            seen_files.append(
                len(list((tmp_path / "landing").rglob("*.ndjson"))) if (tmp_path / "landing").exists() else 0
            )
            yield [order(order_id=f"111-0000000-{index:07d}")]

    write_pages(base, "lazy", producer(), cipher=CIPHER)
    assert seen_files == [0, 1, 2]


def test_run_keys_and_default_uri():
    assert safe_run_key("manual__2026-03-01T10:00:00.123+00:00") == "manual__2026-03-01T10_00_00.123_00_00"
    with pytest.raises(ValueError):
        safe_run_key("///")
    assert default_landing_uri().startswith("file:///") and default_landing_uri().endswith("/.local/landing")


def test_pages_hold_one_token_per_order_and_are_rewritten_in_place(store):
    """Encrypted lines (no order in clear), a page from before encryption still reads, rotation and redaction in place."""
    from cryptography.fernet import Fernet, InvalidToken

    from include.adapters.landing import landed_pages, rewrite_page
    from include.domain.buyer_data import BuyerDataCipher, redact_order
    from sandbox.credentials import PII_SANDBOX_KEY

    base, conn_id, keys = store
    written = pages(2, 3)
    write_pages(base, RUN_ID, written, conn_id=conn_id, cipher=CIPHER)
    [first, second] = list(landed_pages(base, conn_id))
    raw = first.read_bytes()
    assert b"orderId" not in raw and b"Ana Smith" not in raw
    assert [line[:6] for line in raw.splitlines()] == [b"gAAAAA"] * 3
    legacy = "".join(json.dumps(o) + "\n" for o in written[1]).encode()  # written before encryption existed
    second.write_bytes(legacy)
    assert list(read_orders(str(second), conn_id=conn_id, cipher=CIPHER)) == written[1]

    rotated_key = Fernet.generate_key().decode()
    rotated = BuyerDataCipher([rotated_key, PII_SANDBOX_KEY])
    assert all(rewrite_page(page, rotated, lambda orders: None, rotate=True) for page in (first, second))
    with pytest.raises(InvalidToken):  # the pages are no longer readable with a key that is not in the list
        list(read_orders(str(first), conn_id=conn_id, cipher=BuyerDataCipher([Fernet.generate_key()])))
    assert list(read_orders(str(first), conn_id=conn_id, cipher=BuyerDataCipher([rotated_key]))) == written[0]
    assert b"Ana Smith" not in second.read_bytes()
    assert list(read_orders(base + f"/{keys()[0].split('/')[0]}", conn_id=conn_id, cipher=rotated)) == [
        o for page in written for o in page
    ]

    stamp = datetime(2026, 3, 2, tzinfo=UTC)
    assert rewrite_page(first, rotated, lambda orders: [redact_order(o, stamp) for o in orders])
    assert not rewrite_page(first, rotated, lambda orders: None)  # nothing to change: not written
    redacted = list(read_orders(str(first), conn_id=conn_id, cipher=rotated))
    assert [o["orderId"] for o in redacted] == [o["orderId"] for o in written[0]]
    assert not any("buyer" in o or "recipient" in o for o in redacted)
