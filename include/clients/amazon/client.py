"""A thin, paced Amazon Selling Partner API client (Orders v2026-01-01 and v0 confirmShipment).

Built on httpx, importable without Airflow. It owns exactly what the pipeline
needs from SP-API and nothing else:

* Login with Amazon: the refresh token is exchanged for an access token
  (form-encoded ``POST`` to the configured LWA endpoint), reused across calls
  and threads, renewed a minute before it expires, and renewed once more if
  Amazon answers 403 because it expired anyway.
* Pacing: every call first takes a token from a :class:`~include.clients.amazon.rate_limit.RatePacer`
  bucket for its operation (seeded with the usage plans, corrected by the
  ``x-amzn-RateLimit-Limit`` header, drained by a 429).
* Retries: 429, 5xx and transport errors/timeouts are retried with exponential
  backoff and jitter (honouring ``Retry-After``) up to ``max_retries`` times;
  any other 4xx raises :class:`SpApiError` with Amazon's code and message. A
  first 429 drains the operation's bucket, which alone holds the retry back for
  ``1/rate``; repeated 429s back off exponentially on top of the pacing.
* Logs carry operation, status, counts, delays and request ids only: never
  order bodies, buyer data or secrets.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from include.clients.amazon.errors import SpApiError
from include.clients.amazon.rate_limit import RATE_LIMIT_HEADER, RatePacer
from include.clients.http_retry import backoff_delay, retry_after_seconds
from include.clients.transport import VERIFY_TLS, require_secure_url

__all__ = ["SpApiClient", "SpApiError", "ClientStats", "format_timestamp"]

log = logging.getLogger(__name__)

SEARCH_ORDERS_PATH = "/orders/2026-01-01/orders"
GET_ORDER_PATH = "/orders/2026-01-01/orders/{order_id}"
CONFIRM_SHIPMENT_PATH = "/orders/v0/orders/{order_id}/shipmentConfirmation"
DESTINATIONS_PATH = "/notifications/v1/destinations"
SUBSCRIPTION_PATH = "/notifications/v1/subscriptions/{notification_type}"
#: The LWA scope of the Notifications API's grantless operations (destinations).
NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"
DEFAULT_LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"
USER_AGENT = "amazon-commerce-sync/0.1 (Language=Python; Platform=Airflow)"

FULFILLMENT_STATUSES = frozenset(
    {"PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE"}
)
FULFILLED_BY = frozenset({"MERCHANT", "AMAZON"})
INCLUDED_DATA = frozenset(
    {
        "BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
        "FULFILLMENT", "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS",
    }
)  # fmt: skip
PACKAGE_DETAIL_REQUIRED = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
MAX_MARKETPLACES = 50

_UTC_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
_TOKEN_REFRESH_MARGIN_S = 60.0
_MAX_RETRY_AFTER_S = 300.0  # a Retry-After beyond this is treated as a mistake, not obeyed for hours


def format_timestamp(value: datetime | str, name: str = "timestamp") -> str:
    """An ISO 8601 UTC timestamp with a ``Z`` suffix, as SP-API expects.

    Aware datetimes are converted to UTC (milliseconds kept when present);
    strings must already be in ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` form. Naive
    datetimes are rejected: their time zone would be a guess.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware (got a naive datetime)")
        value = value.astimezone(UTC)
        if value.microsecond:
            return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str) and _UTC_TIMESTAMP.match(value):
        try:
            datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{name} is not a valid timestamp: {value!r}") from exc
        return value
    raise ValueError(f"{name} must be an aware datetime or a UTC ISO 8601 string ending in Z, got {value!r}")


def _enum_list(value: str | Iterable[str] | None, allowed: frozenset[str], name: str) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        raise ValueError(f"{name} must not be empty when given")
    unknown = sorted({str(v) for v in items} - allowed)
    if unknown:
        raise ValueError(f"{name} has unknown values {unknown}; allowed: {sorted(allowed)}")
    return list(dict.fromkeys(items))


@dataclass
class ClientStats:
    """Counters of one client's traffic.

    ``requests`` counts every SP-API attempt (failed ones included); ``throttled``
    the 429s; ``retries`` the re-sent requests (429, 5xx, transport errors and the
    one expired-token 403); ``token_refreshes`` the LWA tokens obtained;
    ``paced_wait_s`` the time spent waiting for the rate limiter.
    """

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    token_refreshes: int = 0
    paced_wait_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def calls(self) -> dict[str, int]:
        """Requests, 429s and retries: what a run reports of its SP-API traffic (the orders page shows them)."""
        return {"requests": self.requests, "throttled": self.throttled, "retries": self.retries}


@dataclass
class _AccessToken:
    value: str
    refresh_at: float


class SpApiClient:
    """A paced, retrying client for the SP-API endpoint of one region (``endpoint`` is its base URL).

    Thread-safe: threads may share one client (and one pacer). Use it as a
    context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        lwa_endpoint: str = DEFAULT_LWA_ENDPOINT,
        client_id: str,
        client_secret: str,
        refresh_token: str | None = None,
        grantless_scope: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        pacer: RatePacer | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not endpoint:
            raise ValueError("endpoint (the SP-API base URL) is required")
        for name, value in (
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("refresh_token", refresh_token or grantless_scope),
        ):
            if not value:
                raise ValueError(f"{name} is required")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.endpoint = require_secure_url(endpoint.rstrip("/"), "SP-API endpoint")
        self.lwa_endpoint = require_secure_url(lwa_endpoint, "LWA token endpoint")
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        #: a grantless client (``client_credentials`` for this scope) calls the application's own operations
        self._grantless_scope = grantless_scope
        self.max_retries = max_retries
        self.pacer = pacer if pacer is not None else RatePacer()
        self.stats = ClientStats()
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._clock = clock
        self._sleep = sleep
        self._token: _AccessToken | None = None
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.endpoint,
            verify=VERIFY_TLS,
            timeout=timeout,
            headers={"user-agent": USER_AGENT, "accept": "application/json"},
        )

    def __repr__(self) -> str:  # never show credentials
        return f"SpApiClient(endpoint={self.endpoint!r}, lwa_endpoint={self.lwa_endpoint!r})"

    # ------------------------------------------------------------------ operations

    def search_orders(
        self,
        *,
        marketplace_ids: list[str],
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        last_updated_after: datetime | str | None = None,
        last_updated_before: datetime | str | None = None,
        fulfillment_statuses: Iterable[str] | None = None,
        fulfilled_by: Iterable[str] | None = None,
        included_data: Iterable[str] | None = None,
        max_results_per_page: int = 100,
    ) -> Iterator[list[dict]]:
        """Yield each page's list of Order dicts, following ``paginationToken``; never holds a whole window.

        Inputs are validated before the first call, as Amazon would: exactly one
        of ``created_after``/``last_updated_after``, no mixing of the created and
        last-updated ranges, before >= after, aware datetimes or UTC ``...Z``
        strings, 1-50 marketplaces, known enum values, 1-100 orders a page
        (ValueError otherwise). Amazon's "before must be at least two minutes
        ago" rule is left to the server, whose clock is the one that counts.
        Empty pages are not yielded.
        """
        params = self._search_params(
            marketplace_ids=marketplace_ids,
            created_after=created_after,
            created_before=created_before,
            last_updated_after=last_updated_after,
            last_updated_before=last_updated_before,
            fulfillment_statuses=fulfillment_statuses,
            fulfilled_by=fulfilled_by,
            included_data=included_data,
            max_results_per_page=max_results_per_page,
        )
        return self._search_pages(params)

    def _search_pages(self, params: dict[str, str | int]) -> Iterator[list[dict]]:
        page_token: str | None = None
        pages = orders = 0
        while True:
            query = {**params, "paginationToken": page_token} if page_token else params
            body = self._json("searchOrders", self._call("searchOrders", "GET", SEARCH_ORDERS_PATH, params=query))
            page = body.get("orders") or []
            pages += 1
            orders += len(page)
            log.info("searchOrders page %d: %d orders (%d so far)", pages, len(page), orders)
            if page:
                yield page
            page_token = (body.get("pagination") or {}).get("nextToken")
            if not page_token:
                return

    @staticmethod
    def _search_params(
        *,
        marketplace_ids: list[str],
        created_after: datetime | str | None,
        created_before: datetime | str | None,
        last_updated_after: datetime | str | None,
        last_updated_before: datetime | str | None,
        fulfillment_statuses: Iterable[str] | None,
        fulfilled_by: Iterable[str] | None,
        included_data: Iterable[str] | None,
        max_results_per_page: int,
    ) -> dict[str, str | int]:
        ids = [marketplace_ids] if isinstance(marketplace_ids, str) else list(marketplace_ids or [])
        if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
            raise ValueError("marketplace_ids must be a non-empty list of marketplace id strings")
        if len(ids) > MAX_MARKETPLACES:
            raise ValueError(f"at most {MAX_MARKETPLACES} marketplace ids per request")
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("exactly one of created_after and last_updated_after is required")
        if created_after is not None and last_updated_before is not None:
            raise ValueError("last_updated_before cannot be combined with created_after")
        if last_updated_after is not None and created_before is not None:
            raise ValueError("created_before cannot be combined with last_updated_after")
        if isinstance(max_results_per_page, bool) or not isinstance(max_results_per_page, int):
            raise ValueError("max_results_per_page must be an integer")
        if not 1 <= max_results_per_page <= 100:
            raise ValueError("max_results_per_page must be between 1 and 100")
        params: dict[str, str | int] = {"marketplaceIds": ",".join(i.strip() for i in ids)}
        if created_after is not None:
            after, before = created_after, created_before
            after_name, before_name = "createdAfter", "createdBefore"
        else:
            after, before = last_updated_after, last_updated_before
            after_name, before_name = "lastUpdatedAfter", "lastUpdatedBefore"
        params[after_name] = format_timestamp(after, after_name)
        if before is not None:
            params[before_name] = format_timestamp(before, before_name)
            if datetime.fromisoformat(params[before_name]) < datetime.fromisoformat(params[after_name]):
                raise ValueError(f"{before_name} must be equal to or after {after_name}")
        for key, value, allowed in (
            ("fulfillmentStatuses", fulfillment_statuses, FULFILLMENT_STATUSES),
            ("fulfilledBy", fulfilled_by, FULFILLED_BY),
            ("includedData", included_data, INCLUDED_DATA),
        ):
            items = _enum_list(value, allowed, key)
            if items:
                params[key] = ",".join(items)
        params["maxResultsPerPage"] = max_results_per_page
        return params

    def get_order(self, order_id: str, included_data: Iterable[str] | None = None) -> dict:
        """The Order with ``order_id`` (v2026-01-01 ``getOrder``)."""
        if not order_id:
            raise ValueError("order_id is required")
        params: dict[str, str] = {}
        items = _enum_list(included_data, INCLUDED_DATA, "includedData")
        if items:
            params["includedData"] = ",".join(items)
        path = GET_ORDER_PATH.format(order_id=quote(order_id, safe=""))
        body = self._json("getOrder", self._call("getOrder", "GET", path, params=params))
        order = body.get("order")
        if not isinstance(order, dict):
            raise SpApiError(200, "InvalidResponse", "getOrder response has no order object", operation="getOrder")
        return order

    def marketplace_participations(self) -> list[dict]:
        """The seller's ``MarketplaceParticipation`` s (Sellers API v1 ``getMarketplaceParticipations``)."""
        body = self._json("getMarketplaceParticipations", self._call(
            "getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations"
        ))  # fmt: skip
        payload = body.get("payload")
        if not isinstance(payload, list):
            raise SpApiError(
                200, "InvalidResponse", "getMarketplaceParticipations response has no payload list",
                operation="getMarketplaceParticipations",
            )  # fmt: skip
        return payload

    def confirm_shipment(
        self,
        order_id: str,
        *,
        marketplace_id: str,
        package_detail: dict,
        cod_collection_method: str | None = None,
    ) -> None:
        """Confirm one package of an order's shipment (v0 ``confirmShipment``, 204 on success).

        ``package_detail`` is Amazon's PackageDetail (``packageReferenceId``,
        ``carrierCode``, ``trackingNumber``, ``shipDate`` — an aware datetime is
        formatted for you — and ``orderItems``). Retrying is safe: re-sending
        the same ``packageReferenceId`` edits that package instead of adding
        another, so a timeout or lost response is retried like a GET.
        """
        if not order_id:
            raise ValueError("order_id is required")
        if not marketplace_id:
            raise ValueError("marketplace_id is required")
        missing = [k for k in PACKAGE_DETAIL_REQUIRED if package_detail.get(k) in (None, "", [])]
        if missing:
            raise ValueError(f"package_detail is missing {', '.join(missing)}")
        detail = {**package_detail, "shipDate": format_timestamp(package_detail["shipDate"], "shipDate")}
        detail["packageReferenceId"] = str(detail["packageReferenceId"])
        payload: dict[str, Any] = {"marketplaceId": marketplace_id, "packageDetail": detail}
        if cod_collection_method is not None:
            payload["codCollectionMethod"] = cod_collection_method
        path = CONFIRM_SHIPMENT_PATH.format(order_id=quote(order_id, safe=""))
        self._call("confirmShipment", "POST", path, json_body=payload)

    # Notifications API v1: destinations are the application's (grantless client), subscriptions the seller's.

    def get_destinations(self) -> list[dict]:
        """The application's notification destinations (``getDestinations``; a grantless client)."""
        body = self._json("getDestinations", self._call("getDestinations", "GET", DESTINATIONS_PATH))
        return _payload_list(body, "getDestinations")

    def create_destination(self, name: str, sqs_arn: str) -> dict:
        """Create an SQS destination (``createDestination``; a grantless client): the Destination."""
        payload = {"name": name, "resourceSpecification": {"sqs": {"arn": sqs_arn}}}
        body = self._json("createDestination", self._call(
            "createDestination", "POST", DESTINATIONS_PATH, json_body=payload
        ))  # fmt: skip
        return _payload_object(body, "createDestination")

    def get_subscription(self, notification_type: str) -> dict | None:
        """The seller's subscription to ``notification_type`` (``getSubscription``), None when there is none."""
        path = SUBSCRIPTION_PATH.format(notification_type=quote(notification_type, safe=""))
        try:
            body = self._json("getSubscription", self._call("getSubscription", "GET", path))
        except SpApiError as exc:
            if exc.status == 404:
                return None
            raise
        return _payload_object(body, "getSubscription")

    def create_subscription(self, notification_type: str, destination_id: str, payload_version: str = "1.0") -> dict:
        """Subscribe the seller to ``notification_type`` at ``destination_id`` (``createSubscription``)."""
        path = SUBSCRIPTION_PATH.format(notification_type=quote(notification_type, safe=""))
        request = {"payloadVersion": payload_version, "destinationId": destination_id}
        body = self._json("createSubscription", self._call("createSubscription", "POST", path, json_body=request))
        return _payload_object(body, "createSubscription")

    def delete_subscription(self, notification_type: str, subscription_id: str) -> None:
        """Delete a subscription (``deleteSubscriptionById``)."""
        path = SUBSCRIPTION_PATH.format(notification_type=quote(notification_type, safe=""))
        self._call("deleteSubscriptionById", "DELETE", f"{path}/{quote(subscription_id, safe='')}")

    def authenticate(self) -> None:
        """Obtain an LWA access token now if none is valid (checks the credentials without SP-API quota)."""
        self._access_token()

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SpApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _count(self, **increments: float) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def _backoff(self, attempt: int, retry_after: str | None = None) -> float:
        """The delay before retry ``attempt + 1`` (``attempt`` counts the retries made so far)."""
        hinted = retry_after_seconds(retry_after, cap=_MAX_RETRY_AFTER_S)
        if hinted is not None:
            return hinted
        return backoff_delay(attempt + 1, base=self._backoff_base, cap=self._backoff_cap)

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one SP-API request: paced, authenticated, retried; return the 2xx response."""
        attempt = throttles = 0
        refreshed_after_403 = False
        while True:
            token = self._access_token()  # before pacing: the token fetch must not eat into the paced slot
            waited = self.pacer.acquire(operation)
            if waited:
                self._count(paced_wait_s=waited)
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method, path, params=params, json=json_body, headers={"x-amz-access-token": token}
                )
            except httpx.TransportError as exc:  # connect/read errors, timeouts, dropped responses
                self._count(requests=1, transport_errors=1)
                if attempt >= self.max_retries:
                    log.error("%s failed after %d retries: %s", operation, attempt, type(exc).__name__)
                    raise
                delay = self._backoff(attempt)
                log.warning("%s %s; retry %d in %.2fs", operation, type(exc).__name__, attempt + 1, delay)
                self._count(retries=1)
                self._sleep(delay)
                attempt += 1
                continue

            self._count(requests=1)
            request_id = response.headers.get("x-amzn-RequestId")
            self.pacer.observe(operation, response.headers.get(RATE_LIMIT_HEADER))
            log.debug(
                "%s -> %d in %.3fs (request id %s)",
                operation,
                response.status_code,
                time.perf_counter() - started,
                request_id,
            )
            status = response.status_code
            if status < 400:
                return response
            error = SpApiError.from_response(status, response.content, operation=operation, request_id=request_id)
            if status == 403 and not refreshed_after_403 and _is_expired_token(error):
                log.info("%s: access token rejected as expired; refreshing once (request id %s)", operation, request_id)
                refreshed_after_403 = True
                self._invalidate_token(token)
                self._count(retries=1)
                continue
            if status == 429:
                throttles += 1
                self._count(throttled=1)
                self.pacer.drain(operation)
            elif status >= 500:
                self._count(server_errors=1)
            if not error.retryable:
                log.warning("%s -> %d %s (request id %s)", operation, status, error.code, request_id)
                raise error
            if attempt >= self.max_retries:
                log.error(
                    "%s -> %d %s after %d retries (request id %s)", operation, status, error.code, attempt, request_id
                )
                raise error
            retry_after = response.headers.get("retry-after")
            if status == 429 and throttles == 1 and retry_after is None and self.pacer.rate(operation) is not None:
                delay = 0.0  # the drained bucket already holds the retry back for 1/rate
            else:
                delay = self._backoff(attempt, retry_after)
            log.warning(
                "%s -> %d %s; retry %d in %.2fs (request id %s)",
                operation,
                status,
                error.code,
                attempt + 1,
                delay,
                request_id,
            )
            self._count(retries=1)
            self._sleep(delay)
            attempt += 1

    @staticmethod
    def _json(operation: str, response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError as exc:
            raise SpApiError(
                response.status_code,
                "InvalidResponse",
                "response body is not JSON",
                operation=operation,
                request_id=response.headers.get("x-amzn-RequestId"),
            ) from exc
        if not isinstance(body, dict):
            raise SpApiError(
                response.status_code, "InvalidResponse", "response body is not an object", operation=operation
            )
        return body

    # ------------------------------------------------------------------ Login with Amazon

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                self._token = self._fetch_token()
            return self._token.value

    def _invalidate_token(self, rejected: str) -> None:
        with self._token_lock:
            if self._token is not None and self._token.value == rejected:
                self._token = None

    def _fetch_token(self) -> _AccessToken:
        """Exchange the refresh token for an access token (retrying 429/5xx/transport errors)."""
        form = {"client_id": self._client_id, "client_secret": self._client_secret}
        if self._grantless_scope:
            form.update(grant_type="client_credentials", scope=self._grantless_scope)
        else:
            form.update(grant_type="refresh_token", refresh_token=self._refresh_token)
        attempt = 0
        while True:
            requested = self._clock()
            try:
                response = self._http.post(self.lwa_endpoint, data=form)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise
                delay = self._backoff(attempt)
                log.warning("LWA token request %s; retry %d in %.2fs", type(exc).__name__, attempt + 1, delay)
                self._sleep(delay)
                attempt += 1
                continue
            if response.status_code == 200:
                body = self._json("lwaToken", response)
                value = body.get("access_token")
                if not value:
                    raise SpApiError(200, "InvalidResponse", "LWA response has no access_token", operation="lwaToken")
                lifetime = float(body.get("expires_in") or 3600)
                margin = min(_TOKEN_REFRESH_MARGIN_S, lifetime / 2)
                self._count(token_refreshes=1)
                log.info("LWA access token obtained (valid %ds)", int(lifetime))
                return _AccessToken(value, requested + lifetime - margin)
            error = SpApiError.from_response(
                response.status_code, response.content, operation="lwaToken", request_id=None
            )
            if not error.retryable or attempt >= self.max_retries:
                log.error("LWA token request -> %d %s", response.status_code, error.code)
                raise error
            delay = self._backoff(attempt, response.headers.get("retry-after"))
            log.warning("LWA token request -> %d; retry %d in %.2fs", response.status_code, attempt + 1, delay)
            self._sleep(delay)
            attempt += 1


def _payload_object(body: dict, operation: str) -> dict:
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise SpApiError(200, "InvalidResponse", f"{operation} response has no payload object", operation=operation)
    return payload


def _payload_list(body: dict, operation: str) -> list[dict]:
    payload = body.get("payload")
    if not isinstance(payload, list):
        raise SpApiError(200, "InvalidResponse", f"{operation} response has no payload list", operation=operation)
    return payload


def _is_expired_token(error: SpApiError) -> bool:
    """A 403 that says the access token expired (or is no longer valid), as opposed to a missing role."""
    text = " ".join(str(e.get(k) or "") for e in error.errors for k in ("code", "message", "details")).lower()
    return "expired" in text or ("token" in text and ("invalid" in text or "unauthorized" in text))
