"""SpApiClient and SpApiHook: input validation (pure) and real HTTP against the SP-API sandbox."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from include.clients.amazon.client import SpApiClient, _is_expired_token, format_timestamp
from include.clients.amazon.errors import SpApiError
from sandbox import credentials
from sandbox.catalog import MARKETPLACES

# --------------------------------------------------------------------------- pure unit tests


def offline_client(**kwargs) -> SpApiClient:
    """A client pointed at a closed port: validation errors must come before any network use."""
    return SpApiClient(
        "http://127.0.0.1:9",
        lwa_endpoint="http://127.0.0.1:9/auth/o2/token",
        client_id="id",
        client_secret="secret",
        refresh_token="refresh",
        max_retries=0,
        **kwargs,
    )


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_format_timestamp_is_utc_with_z():
    assert format_timestamp(NOW) == "2026-03-01T12:00:00Z"
    assert format_timestamp(datetime(2026, 3, 1, 13, 30, tzinfo=timezone(timedelta(hours=1, minutes=30)))) == (
        "2026-03-01T12:00:00Z"
    )
    assert format_timestamp(NOW.replace(microsecond=123456)) == "2026-03-01T12:00:00.123Z"
    assert format_timestamp("2026-03-01T12:00:00Z") == "2026-03-01T12:00:00Z"
    assert format_timestamp("2026-03-01T12:00:00.5Z") == "2026-03-01T12:00:00.5Z"


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 1, 12),
        "2026-03-01T12:00:00",
        "2026-03-01T12:00:00+00:00",
        "2026-03-01",
        "2026-13-01T00:00:00Z",
        17,
    ],
)
def test_format_timestamp_rejects_naive_or_non_utc(value):
    with pytest.raises(ValueError):
        format_timestamp(value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of created_after and last_updated_after"),
        ({"created_after": NOW, "last_updated_after": NOW}, "exactly one"),
        ({"created_after": NOW, "last_updated_before": NOW}, "last_updated_before cannot be combined"),
        ({"last_updated_after": NOW, "created_before": NOW}, "created_before cannot be combined"),
        (
            {"created_after": NOW, "created_before": NOW - timedelta(seconds=1)},
            "createdBefore must be equal to or after",
        ),
        ({"last_updated_after": datetime(2026, 3, 1)}, "timezone-aware"),
        ({"created_after": "2026-03-01 12:00"}, "UTC ISO 8601"),
        ({"created_after": NOW, "max_results_per_page": 0}, "between 1 and 100"),
        ({"created_after": NOW, "max_results_per_page": 101}, "between 1 and 100"),
        ({"created_after": NOW, "max_results_per_page": 10.0}, "integer"),
        ({"created_after": NOW, "max_results_per_page": True}, "integer"),
        ({"created_after": NOW, "fulfillment_statuses": ["SHIPPED", "DELIVERED"]}, "DELIVERED"),
        ({"created_after": NOW, "fulfilled_by": "SELLER"}, "fulfilledBy"),
        ({"created_after": NOW, "included_data": ["BUYER", "ADDRESS"]}, "ADDRESS"),
        ({"created_after": NOW, "fulfilled_by": []}, "must not be empty"),
        ({"created_after": NOW, "marketplace_ids": []}, "marketplace_ids"),
        ({"created_after": NOW, "marketplace_ids": [f"M{i}" for i in range(51)]}, "at most 50"),
    ],
)
def test_search_orders_validates_before_any_request(kwargs, message):
    kwargs = {"marketplace_ids": ["ATVPDKIKX0DER"], **kwargs}
    with offline_client() as client, pytest.raises(ValueError, match=message):
        client.search_orders(**kwargs)  # raises at call time, not at the first next()
    assert client.stats.requests == 0


def test_search_params_are_amazon_shaped():
    params = SpApiClient._search_params(
        marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
        created_after=None,
        created_before=None,
        last_updated_after=NOW,
        last_updated_before="2026-03-01T13:00:00Z",
        fulfillment_statuses=["UNSHIPPED", "SHIPPED", "UNSHIPPED"],
        fulfilled_by="MERCHANT",
        included_data=["BUYER", "RECIPIENT"],
        max_results_per_page=50,
    )
    assert params == {
        "marketplaceIds": "ATVPDKIKX0DER,A2EUQ1WTGCTBG2",
        "lastUpdatedAfter": "2026-03-01T12:00:00Z",
        "lastUpdatedBefore": "2026-03-01T13:00:00Z",
        "fulfillmentStatuses": "UNSHIPPED,SHIPPED",
        "fulfilledBy": "MERCHANT",
        "includedData": "BUYER,RECIPIENT",
        "maxResultsPerPage": 50,
    }


def test_confirm_shipment_validates_package_detail():
    with offline_client() as client:
        with pytest.raises(ValueError, match="trackingNumber, shipDate"):
            client.confirm_shipment(
                "111-1111111-1111111",
                marketplace_id="ATVPDKIKX0DER",
                package_detail={"packageReferenceId": "1", "carrierCode": "UPS", "orderItems": [{"orderItemId": "1"}]},
            )
        with pytest.raises(ValueError, match="marketplace_id"):
            client.confirm_shipment("111-1111111-1111111", marketplace_id="", package_detail={})
    assert client.stats.requests == 0


def test_client_requires_credentials_and_hides_them():
    with pytest.raises(ValueError, match="refresh_token"):
        SpApiClient("http://x", lwa_endpoint="http://x/t", client_id="a", client_secret="b", refresh_token="")
    with offline_client() as client:
        assert "secret" not in repr(client) and "refresh" not in repr(client)


def test_sp_api_error_parses_amazon_and_lwa_bodies():
    body = b'{"errors":[{"code":"InvalidInput","message":"Bad createdAfter","details":"use Z"}]}'
    err = SpApiError.from_response(400, body, operation="searchOrders", request_id="req-1")
    assert (err.status, err.code, err.message, err.details) == (400, "InvalidInput", "Bad createdAfter", "use Z")
    assert str(err) == "searchOrders HTTP 400 InvalidInput: Bad createdAfter (use Z) [request id req-1]"
    assert not err.retryable
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.status, copy.code, str(copy)) == (400, "InvalidInput", str(err))
    lwa = SpApiError.from_response(401, b'{"error":"invalid_client","error_description":"Client authentication failed"}',
                                   operation="lwaToken", request_id=None)  # fmt: skip
    assert (lwa.code, lwa.message) == ("invalid_client", "Client authentication failed")
    html = SpApiError.from_response(502, b"<html>bad gateway</html>", operation="getOrder", request_id=None)
    assert html.code == "HTTP502" and html.retryable


def test_expired_token_detection():
    expired = SpApiError(
        403, "Unauthorized", "Access to requested resource is denied.", "The access token you provided has expired."
    )
    revoked = SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                         "The access token you provided is revoked, malformed or invalid.")  # fmt: skip
    role = SpApiError(403, "Unauthorized", "Access to requested resource is denied.", "The application lacks the role.")
    assert _is_expired_token(expired) and _is_expired_token(revoked)
    assert not _is_expired_token(role)


def test_client_module_imports_without_airflow():
    code = "import sys, include.clients.amazon.client, include.clients.amazon; assert not any(m.startswith('airflow') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- against the SP-API sandbox

MARKETPLACE_IDS = list(MARKETPLACES)  # every marketplace the generator sells on


def make_client(sandbox, **kwargs) -> SpApiClient:
    options = {
        "lwa_endpoint": sandbox.spapi_url + "/auth/o2/token",
        "client_id": credentials.LWA_CLIENT_ID,
        "client_secret": credentials.LWA_CLIENT_SECRET,
        "refresh_token": credentials.LWA_REFRESH_TOKEN,
        "backoff_base": 0.05,
        "backoff_cap": 2.0,
        **kwargs,
    }
    return SpApiClient(sandbox.spapi_url, **options)


def generate(sandbox, count: int, seed: int = 7) -> dict:
    """Generate ``count`` orders over the last day, then pin the clock 10 min later so none is too recent."""
    summary = sandbox.spapi("POST", "/_sandbox/orders/generate", json={"count": count, "hours": 24, "seed": seed})
    summary.raise_for_status()
    now = sandbox.spapi("GET", "/_sandbox/clock").json()["now"]
    pinned = datetime.fromisoformat(now) + timedelta(minutes=10)
    sandbox.spapi("PUT", "/_sandbox/clock", json={"now": format_timestamp(pinned)}).raise_for_status()
    return {**summary.json(), "now": pinned}


def set_rate_limits(sandbox, mode: str, factor: float = 1.0) -> None:
    sandbox.spapi("PUT", "/_sandbox/rate-limits", json={"mode": mode, "factor": factor}).raise_for_status()


def set_faults(sandbox, *rules: dict) -> None:
    sandbox.spapi("PUT", "/_sandbox/faults", json={"seed": 1, "rules": list(rules)}).raise_for_status()


def sandbox_order_ids(sandbox) -> set[str]:
    return {row["orderId"] for row in sandbox.spapi("GET", "/_sandbox/orders").json()["orders"]}


def find_order(client: SpApiClient, now: datetime, **filters) -> dict:
    for page in client.search_orders(marketplace_ids=MARKETPLACE_IDS, created_after=now - timedelta(days=2), **filters):
        return page[0]
    raise AssertionError(f"no order matches {filters}")


def package_for(order: dict, ref: str = "1", tracking: str = "1Z999AA10123456784") -> dict:
    return {
        "packageReferenceId": ref,
        "carrierCode": "UPS",
        "shippingMethod": "Ground",
        "trackingNumber": tracking,
        "shipDate": datetime.now(UTC) - timedelta(hours=1),
        "orderItems": [
            {"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]} for i in order["orderItems"]
        ],
    }


def test_search_pages_return_every_order_exactly_once(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 230)
    expected = sandbox_order_ids(sandbox)
    assert len(expected) == 230
    with make_client(sandbox) as client:
        pages_iter = client.search_orders(
            marketplace_ids=MARKETPLACE_IDS, created_after=info["now"] - timedelta(hours=25), max_results_per_page=40
        )
        first = next(pages_iter)
        assert client.stats.requests == 1  # pages are fetched lazily, one at a time
        pages = [first, *pages_iter]
        assert [len(p) for p in pages] == [40, 40, 40, 40, 40, 30]
        ids = [o["orderId"] for page in pages for o in page]
        assert len(ids) == len(set(ids)) and set(ids) == expected
        assert client.stats.requests == 6 and client.stats.token_refreshes == 1

        # lastUpdated windows split the same set without loss or overlap
        middle = info["now"] - timedelta(hours=12)
        halves = [
            [o["orderId"] for p in client.search_orders(marketplace_ids=MARKETPLACE_IDS, last_updated_after=a,
                                                         last_updated_before=b, max_results_per_page=100) for o in p]
            for a, b in ((info["now"] - timedelta(hours=25), middle), (middle + timedelta(seconds=1), info["now"] - timedelta(minutes=2)))
        ]  # fmt: skip
        assert len(halves[0]) + len(halves[1]) == 230 and set(halves[0]) | set(halves[1]) == expected

        fba = [o for p in client.search_orders(marketplace_ids=MARKETPLACE_IDS, created_after=info["now"] - timedelta(hours=25),
                                               fulfilled_by=["AMAZON"], included_data=["FULFILLMENT"]) for o in p]  # fmt: skip
        assert len(fba) == info["fulfilledBy"]["AMAZON"]
        assert {o["fulfillment"]["fulfilledBy"] for o in fba} == {"AMAZON"}


def test_get_order_and_amazon_errors(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 20)
    with make_client(sandbox) as client:
        listed = find_order(client, info["now"], fulfillment_statuses=["UNSHIPPED"])
        order = client.get_order(listed["orderId"], included_data=["BUYER", "FULFILLMENT"])
        assert order["orderId"] == listed["orderId"]
        assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED" and "buyer" in order

        with pytest.raises(SpApiError) as missing:
            client.get_order("111-0000000-0000000")
        assert (missing.value.status, missing.value.code) == (404, "NotFound")
        assert missing.value.request_id and "NotFound" in str(missing.value)

        with pytest.raises(SpApiError) as bad:
            client.get_order("not-an-order-id")
        assert (bad.value.status, bad.value.code) == (400, "InvalidInput")

        with pytest.raises(SpApiError) as too_recent:  # the server's 2-minute rule
            list(client.search_orders(marketplace_ids=MARKETPLACE_IDS, created_after=info["now"] - timedelta(hours=1),
                                      created_before=info["now"] - timedelta(seconds=30)))  # fmt: skip
        assert too_recent.value.code == "InvalidInput" and "two minutes" in too_recent.value.message
        assert client.stats.retries == 0  # 4xx are never retried


def test_confirm_shipment_and_resend_edits_the_same_package(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 40)
    with make_client(sandbox) as client:
        order = find_order(client, info["now"], fulfilled_by=["MERCHANT"], fulfillment_statuses=["UNSHIPPED"],
                           included_data=["FULFILLMENT"])  # fmt: skip
        marketplace = order["salesChannel"]["marketplaceId"]
        client.confirm_shipment(order["orderId"], marketplace_id=marketplace, package_detail=package_for(order))
        client.confirm_shipment(
            order["orderId"],
            marketplace_id=marketplace,
            package_detail=package_for(order, tracking="1Z999AA10123456785"),
        )
        shipped = client.get_order(order["orderId"], included_data=["FULFILLMENT", "PACKAGES"])
        assert shipped["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        assert [(p["packageReferenceId"], p["trackingNumber"]) for p in shipped["packages"]] == [
            ("1", "1Z999AA10123456785")
        ]
        received = sandbox.spapi("GET", "/_sandbox/shipment-confirmations").json()
        assert [c["orderId"] for c in received] == [order["orderId"]] * 2
        assert received[0]["body"]["packageDetail"]["shipDate"].endswith("Z")

        with pytest.raises(SpApiError) as wrong_market:
            other = next(m for m in MARKETPLACE_IDS if m != marketplace)
            client.confirm_shipment(order["orderId"], marketplace_id=other, package_detail=package_for(order))
        assert wrong_market.value.status == 400 and wrong_market.value.code == "InvalidInput"
        assert "marketplaceId" in wrong_market.value.message


def test_expired_access_token_is_refreshed_once(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 5)
    with make_client(sandbox) as client:
        order_id = find_order(client, info["now"])["orderId"]
        assert client.stats.token_refreshes == 1
        later = info["now"] + timedelta(hours=1, minutes=1)  # the sandbox now considers the token expired
        sandbox.spapi("PUT", "/_sandbox/clock", json={"now": format_timestamp(later)}).raise_for_status()
        assert client.get_order(order_id)["orderId"] == order_id
        assert (client.stats.token_refreshes, client.stats.retries) == (2, 1)


def test_token_is_refreshed_a_minute_before_expiry(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 5)
    fake_now = [0.0]
    with make_client(sandbox, clock=lambda: fake_now[0]) as client:
        order_id = find_order(client, info["now"])["orderId"]
        fake_now[0] = 3600 - 61  # 61 s before expiry: the token is still used
        client.get_order(order_id)
        assert client.stats.token_refreshes == 1
        fake_now[0] = 3600 - 59  # inside the last minute: renewed before the call, no 403 round trip
        client.get_order(order_id)
        assert (client.stats.token_refreshes, client.stats.retries) == (2, 0)


def test_token_refresh_is_shared_by_threads(sandbox):
    set_rate_limits(sandbox, "off")
    generate(sandbox, 5)
    order_id = sorted(sandbox_order_ids(sandbox))[0]
    with make_client(sandbox) as client:  # 8 threads race for the first token: one LWA call serves them all
        barrier = threading.Barrier(8)

        def call() -> None:
            barrier.wait()
            client.get_order(order_id)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (client.stats.token_refreshes, client.stats.requests) == (1, 8)


def test_bad_lwa_credentials_raise_at_once(sandbox):
    with make_client(sandbox, client_secret="wrong-secret") as client:
        with pytest.raises(SpApiError) as err:
            client.get_order("111-0000000-0000000")
    assert (err.value.status, err.value.code, err.value.operation) == (401, "invalid_client", "lwaToken")
    assert "wrong-secret" not in str(err.value) and client.stats.retries == 0


def raw_burst(sandbox, n: int, method: str, path: str, **kwargs) -> tuple[list[int], float]:
    """``n`` unpaced requests as fast as possible with a valid token: their status codes and the seconds taken."""
    token = sandbox.spapi("POST", "/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": credentials.LWA_REFRESH_TOKEN,
        "client_id": credentials.LWA_CLIENT_ID, "client_secret": credentials.LWA_CLIENT_SECRET,
    }).json()["access_token"]  # fmt: skip
    with httpx.Client(base_url=sandbox.spapi_url, headers={"x-amz-access-token": token}) as http:
        started = time.monotonic()
        statuses = [http.request(method, path, **kwargs).status_code for _ in range(n)]
        return statuses, time.monotonic() - started


def assert_throttled(statuses: list[int], elapsed: float, burst: int, rate: float) -> None:
    """Everything beyond the burst and the refill during the burst must have been refused."""
    expected = len(statuses) - burst - math.ceil(elapsed * rate) - 1
    assert statuses.count(429) >= max(expected, 1), (statuses.count(429), expected)


def test_raw_burst_is_throttled_but_paced_client_is_not_default_plan(sandbox):
    """confirmShipment's published plan (2/s, burst 10): a raw burst of 20 gets 429s, 14 paced calls get none."""
    set_rate_limits(sandbox, "default")
    body = {
        "marketplaceId": "ATVPDKIKX0DER",
        "packageDetail": package_for({"orderItems": []}) | {"shipDate": "2026-01-01T00:00:00Z"},
    }
    statuses, elapsed = raw_burst(
        sandbox, 25, "POST", "/orders/v0/orders/111-0000000-0000000/shipmentConfirmation", json=body
    )
    assert_throttled(statuses, elapsed, burst=10, rate=2.0)

    set_rate_limits(sandbox, "default")  # buckets full again
    detail = package_for({"orderItems": [{"orderItemId": "1", "quantityOrdered": 1}]})
    started = datetime.now(UTC)
    with make_client(sandbox) as client:
        for _ in range(14):
            with pytest.raises(SpApiError) as err:
                client.confirm_shipment("111-0000000-0000000", marketplace_id="ATVPDKIKX0DER", package_detail=detail)
            assert err.value.code == "NotFound"  # quota is consumed by 4xx answers too
        elapsed = (datetime.now(UTC) - started).total_seconds()
        assert client.stats.throttled == 0 and client.stats.requests == 14
        assert elapsed >= (14 - 10) / 2.0 * 0.95
        assert client.pacer.rate("confirmShipment") == 2.0


def test_paced_client_runs_at_the_scaled_rate_and_recovers_from_a_drained_bucket(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 5)
    order_id = sandbox_order_ids(sandbox).pop()
    set_rate_limits(sandbox, "scaled", 10)  # getOrder: 5/s, burst 30
    statuses, elapsed = raw_burst(sandbox, 50, "GET", f"/orders/2026-01-01/orders/{order_id}")
    assert_throttled(statuses, elapsed, burst=30, rate=5.0)

    set_rate_limits(sandbox, "scaled", 10)
    with make_client(sandbox) as client:
        started = datetime.now(UTC)
        for _ in range(45):
            client.get_order(order_id)
        elapsed = (datetime.now(UTC) - started).total_seconds()
        assert client.stats.throttled == 0
        assert client.pacer.rate("getOrder") == 5.0  # learnt from x-amzn-RateLimit-Limit
        assert (45 - 30) / 5.0 * 0.95 <= elapsed <= (45 - 30) / 5.0 * 1.5

    # A second client (say another task) starts believing the bucket is full, but the first drained it.
    with make_client(sandbox) as late:
        for _ in range(5):
            late.get_order(order_id)
        assert late.stats.throttled <= 1 and late.stats.requests <= 6
    assert info["generated"] == 5


def test_faults_are_retried_to_success(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 10)
    order_path = "/orders/2026-01-01/orders/"
    with make_client(sandbox) as client:
        order_id = find_order(client, info["now"])["orderId"]
        set_faults(sandbox, {"kind": "500", "count": 1, "path": order_path}, {"kind": "503", "count": 1, "path": order_path},
                   {"kind": "429", "count": 1, "path": order_path})  # fmt: skip
        assert client.get_order(order_id)["orderId"] == order_id
        stats = client.stats
        assert (stats.retries, stats.server_errors, stats.throttled) == (3, 2, 1)

    with make_client(sandbox, timeout=1.0) as client:  # a hung request times out and is retried
        set_faults(sandbox, {"kind": "timeout", "count": 1, "delay_s": 3.0, "path": order_path})
        assert client.get_order(order_id)["orderId"] == order_id
        assert (client.stats.transport_errors, client.stats.retries) == (1, 1)


def test_lost_confirmation_response_is_resent_safely(sandbox):
    set_rate_limits(sandbox, "off")
    info = generate(sandbox, 40)
    with make_client(sandbox) as client:
        order = find_order(client, info["now"], fulfilled_by=["MERCHANT"], fulfillment_statuses=["UNSHIPPED"])
        set_faults(sandbox, {"kind": "lost_response", "count": 1, "path": "shipmentConfirmation"})
        client.confirm_shipment(order["orderId"], marketplace_id=order["salesChannel"]["marketplaceId"],
                                package_detail=package_for(order))  # fmt: skip
        assert client.stats.transport_errors == 1
        assert len(sandbox.spapi("GET", "/_sandbox/shipment-confirmations").json()) == 2  # Amazon saw both
        packages = client.get_order(order["orderId"], included_data=["PACKAGES"])["packages"]
        assert [p["packageReferenceId"] for p in packages] == ["1"]  # but holds one package


def test_retries_are_bounded(sandbox):
    set_rate_limits(sandbox, "off")
    set_faults(sandbox, {"kind": "503", "path": "/orders/"})
    with make_client(sandbox, max_retries=2) as client, pytest.raises(SpApiError) as err:
        client.get_order("111-0000000-0000000")
    assert (err.value.status, err.value.code, err.value.retryable) == (503, "ServiceUnavailable", True)
    assert (client.stats.requests, client.stats.retries) == (3, 2)


# --------------------------------------------------------------------------- the Airflow hook


def test_hook_builds_a_client_from_the_connection(sandbox, monkeypatch):
    from include.adapters.hooks.amazon_sp_api import SpApiHook

    set_rate_limits(sandbox, "default")
    info = generate(sandbox, 120)
    conn = sandbox.airflow_connections()["AMAZON_SP_API"]
    conn["extra"]["marketplace_ids"] = ",".join(MARKETPLACE_IDS)  # the comma-separated form works too
    monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API", json.dumps(conn))
    hook = SpApiHook()
    assert hook.marketplace_ids() == MARKETPLACE_IDS
    assert hook.test_connection() == (True, "LWA access token obtained")
    with hook.get_client() as client:
        assert client.endpoint == sandbox.spapi_url and client.lwa_endpoint == conn["extra"]["lwa_endpoint"]
        ids = {o["orderId"] for page in client.search_orders(marketplace_ids=hook.marketplace_ids(),
                                                              created_after=info["now"] - timedelta(days=1, hours=1)) for o in page}  # fmt: skip
        assert ids == sandbox_order_ids(sandbox)
        assert client.pacer is SpApiHook().get_client().pacer  # one quota per connection in a process

    # bare host + schema/port, client id and secret in login/password, marketplace list in JSON
    port = int(sandbox.spapi_url.rsplit(":", 1)[1])
    monkeypatch.setenv("AIRFLOW_CONN_SPAPI_BARE", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http",
        "login": credentials.LWA_CLIENT_ID, "password": credentials.LWA_CLIENT_SECRET,
        "extra": {"refresh_token": credentials.LWA_REFRESH_TOKEN, "lwa_endpoint": sandbox.spapi_url + "/auth/o2/token",
                  "marketplace_ids": ["ATVPDKIKX0DER"], "timeout": 5, "max_retries": 1},
    }))  # fmt: skip
    bare = SpApiHook("spapi_bare")
    assert bare.marketplace_ids() == ["ATVPDKIKX0DER"]
    with bare.get_conn() as client:
        assert client.endpoint == sandbox.spapi_url and client.max_retries == 1
        client.authenticate()


def test_hook_reports_incomplete_connections(monkeypatch):
    from include.adapters.hooks.amazon_sp_api import SpApiHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_SPAPI_INCOMPLETE", json.dumps({"conn_type": "http", "host": "https://example.invalid"})
    )
    hook = SpApiHook("spapi_incomplete")
    with pytest.raises(ValueError, match="lwa_client_id, lwa_client_secret, refresh_token"):
        hook.get_client()
    with pytest.raises(ValueError, match="marketplace_ids"):
        _ = hook.marketplace_ids()
    ok, message = hook.test_connection()
    assert not ok and "refresh_token" in message
