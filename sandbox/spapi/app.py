"""The SP-API sandbox as an ASGI app: LWA, Orders v2026-01-01, Orders v0 confirmShipment, admin API.

``create_app(seed=None, orders=200, hours=24, rate_limit_mode="default", rate_factor=1.0, region=None, state=None)``
returns the app wrapped in :class:`sandbox.faults.FaultInjector`. The admin API lives
under ``/_sandbox`` (documented in docs/sandboxes.md, "SP-API sandbox").

``region`` (NA, EU or FE) makes the app answer as that region's endpoint: a marketplace of
another region gets Amazon's 400 InvalidInput, and only sellers authorised in the region (or
the built-in seller) are served. ``None`` (one port for everything, the default) answers for
every region. Apps of several regions share one ``state`` (:class:`SpApiState`): the sellers
(:mod:`sandbox.spapi.sellers`), each with its own orders, usage plans and confirmations.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.faults import FaultInjector
from sandbox.generator import cancel, generate_orders, next_version, order_status, request_cancellation, summarize
from sandbox.spapi import shipments
from sandbox.spapi.auth import GRANTLESS_PREFIX, LwaError, LwaTokens
from sandbox.spapi.errors import ACCESS_DENIED, QUOTA_EXCEEDED, ApiError, invalid_input
from sandbox.spapi.notifications import Notifications
from sandbox.spapi.rate_limits import RateLimiter, format_rate
from sandbox.spapi.search import (
    FULFILLMENT_STATUSES,
    TOKEN_LIFETIME,
    PageState,
    TokenCodec,
    parse_included,
    parse_search,
    split_list,
)
from sandbox.spapi.search import MIN_AGE as TWO_MINUTES
from sandbox.spapi.sellers import Seller, SellerError, Sellers, region_of
from sandbox.spapi.store import SECTIONS, StoreError, project
from sandbox.spapi.times import floor_seconds, iso_z, parse_iso, utcnow

log = logging.getLogger(__name__)
ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
MAX_GENERATE = 200_000


class SandboxClock:
    """Real UTC time, or a fixed moment set through ``PUT /_sandbox/clock``."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed or utcnow()


@dataclass
class SpApiState:
    """Everything one sandbox instance holds."""

    sellers: Sellers = field(default_factory=Sellers)
    clock: SandboxClock = field(default_factory=SandboxClock)
    tokens: LwaTokens = field(default_factory=LwaTokens)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    codec: TokenCodec = field(default_factory=lambda: TokenCodec(secrets.token_bytes(32)))
    notifications: Notifications = field(default_factory=Notifications)

    @property
    def store(self):
        """The built-in seller's orders."""
        return self.sellers.builtin.store

    def register_seller(self, body: Any) -> Seller:
        """Register a seller; LWA accepts its refresh token (with the sandbox's client id and secret) from now on."""
        seller = self.sellers.register(body)
        self.tokens.allow(seller.refresh_token)
        return seller

    def reset(self) -> None:
        for seller in self.sellers.all():
            if seller is not self.sellers.builtin:
                self.tokens.forget(seller.refresh_token)
        self.sellers.reset()
        self.notifications.reset()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, headers, media_type="application/json")


class RequestIdMiddleware:
    """Adds an ``x-amzn-RequestId`` header to every response, as SP-API and LWA do."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4()).encode()

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-amzn-RequestId", request_id)]}
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(
    seed: int | None = None,
    orders: int = 200,
    hours: float = 24,
    rate_limit_mode: str = "default",
    rate_factor: float = 1.0,
    region: str | None = None,
    state: SpApiState | None = None,
) -> Any:
    """Build the SP-API sandbox; with ``seed`` set, ``orders`` orders over ``hours`` are generated at start.

    ``region``: the endpoint this app answers as (None: every region); ``state``: shared with the apps of
    the other regions (a new one with these rate limits when None).
    """
    if state is None:
        state = SpApiState(limiter=RateLimiter(rate_limit_mode, rate_factor))
    if seed is not None:
        builtin = state.sellers.builtin
        marketplaces = builtin.marketplace_ids if builtin.region else None
        state.store.put_timelines(generate_orders(orders, hours, seed, state.clock.now(), marketplaces=marketplaces))
    app = FastAPI(title="Amazon SP-API sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json")
    app.state.spapi = state

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "InvalidInput")
        return _json(exc.status_code, {"errors": [{"code": code, "message": str(exc.detail)}]})

    # -- health and LWA -------------------------------------------------------------------------
    @app.get("/_sandbox/health")
    def health() -> Response:
        return _json(200, {"status": "ok", "region": region, "orders": sum(len(s.store) for s in state.sellers.all())})

    @app.post("/auth/o2/token")
    async def lwa_token(request: Request) -> Response:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        try:
            if "application/json" in content_type:
                form = json.loads(raw or b"{}")
                if not isinstance(form, dict):
                    raise ValueError
            else:
                form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            return _json(400, LwaError(400, "invalid_request", "The request body could not be parsed").body())
        try:
            body = state.tokens.issue(form, state.clock.now())
        except LwaError as exc:
            return _json(exc.status, exc.body())
        return _json(200, body, {"cache-control": "no-store", "pragma": "no-cache"})

    # -- SP-API operations ----------------------------------------------------------------------
    def call(request: Request, operation: str, handler: Any) -> Response:
        """Auth, usage plan, then the operation (``handler(now, seller)``); errors become SP-API ErrorList bodies."""
        now = state.clock.now()
        try:
            key = state.tokens.authorize(request.headers.get("x-amz-access-token"), now)
            seller = state.sellers.by_token(key)
            if seller is None or (region and seller.region and seller.region != region):
                raise ApiError(403, "Unauthorized", ACCESS_DENIED, "Access to requested resource is denied.")
        except ApiError as exc:
            return _json(exc.status, exc.body())
        return metered(key, operation, lambda: handler(now, seller))

    def call_grantless(request: Request, operation: str, handler: Any) -> Response:
        """A grantless operation (``createDestination``...): an application token of the notifications scope."""
        try:
            key = state.tokens.authorize(request.headers.get("x-amz-access-token"), state.clock.now())
            if not key.startswith(GRANTLESS_PREFIX):
                raise ApiError(403, "Unauthorized", ACCESS_DENIED, "This operation needs a grantless access token.")
        except ApiError as exc:
            return _json(exc.status, exc.body())
        return metered(key, operation, handler)

    def metered(key: str, operation: str, run: Any) -> Response:
        """The usage plan of ``operation`` for the token ``key``, then ``run()`` → (status, body); errors become
        SP-API ErrorList bodies."""
        decision = state.limiter.acquire(key, operation)
        headers = {"x-amzn-RateLimit-Limit": format_rate(decision.rate)} if decision.rate is not None else {}
        if not decision.allowed:
            return _json(429, ApiError(429, "QuotaExceeded", QUOTA_EXCEEDED).body(), headers)
        try:
            status, body = run()
        except ApiError as exc:
            return _json(exc.status, exc.body(), headers)
        except Exception:
            log.exception("%s failed", operation)
            return _json(
                500, ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.").body()
            )
        if status == 204:
            return Response(status_code=204, headers=headers)
        return _json(status, body, headers)

    def notify(seller: Seller, order: dict, change_type: str, reason: str) -> None:
        """An ORDER_CHANGE for this new version of ``order``, when the seller subscribed (sandbox/spapi/notifications.py)."""
        state.notifications.order_changed(seller, order, change_type, reason, state.clock.now())

    def check_region(marketplace_ids: list[str]) -> None:
        """Amazon's 400 for a marketplace this region's endpoint does not serve."""
        wrong = [m for m in marketplace_ids if region and region_of(m) not in (None, region)]
        if wrong:
            raise invalid_input(
                f"Invalid marketplaceIds: {', '.join(wrong)}.",
                f"These marketplaces are not served by the {region} endpoint (sellingpartnerapi-{region.lower()}).",
            )

    def search_orders(request: Request, now: datetime, seller: Seller) -> tuple[int, Any]:
        params = request.query_params
        check_region(split_list(params.getlist("marketplaceIds")))
        store = seller.store
        query = parse_search(params.get, params.getlist, now, seller.known_marketplaces())
        if query.token:
            page = state.codec.decode(query.token, query, now)
            snapshot, cursor = page.snapshot, page.cursor
        else:
            snapshot, cursor = now, None
        before = query.before or snapshot - TWO_MINUTES
        keys, more = ([], False)
        if query.after <= before:
            keys, more = store.search(query.by, query.after, before, snapshot, query.filters, cursor, query.page_size)
        found = []
        with store.lock:
            for _, order_id in keys:
                record = store.record(order_id)
                version = (record.at(now) or record.at(snapshot)) if record else None
                if version is not None:
                    found.append(version)
        body: dict[str, Any] = {"orders": [project(v, query.included) for v in found]}
        if more:
            token = state.codec.encode(query, PageState(snapshot, keys[-1], now + TOKEN_LIFETIME))
            body["pagination"] = {"nextToken": token}
        body["createdBefore" if query.by == "created" else "lastUpdatedBefore"] = iso_z(before)
        return 200, body

    @app.get("/orders/2026-01-01/orders")
    def search_orders_route(request: Request) -> Response:
        return call(request, "searchOrders", lambda now, seller: search_orders(request, now, seller))

    def get_order(request: Request, order_id: str, now: datetime, seller: Seller) -> tuple[int, Any]:
        included = parse_included(request.query_params.getlist)
        record = seller.store.record(order_id)
        version = record.at(now) if record else None
        if version is None:
            if not ORDER_ID.match(order_id):
                raise invalid_input("Invalid 'orderId'.", "An orderId has the 3-7-7 format, e.g. 113-1234567-1234567.")
            raise shipments.not_found(order_id)
        return 200, {"order": project(version, included)}

    @app.get("/orders/2026-01-01/orders/{order_id}")
    def get_order_route(request: Request, order_id: str) -> Response:
        return call(request, "getOrder", lambda now, seller: get_order(request, order_id, now, seller))

    def confirm_shipment(order_id: str, raw: bytes, now: datetime, seller: Seller) -> tuple[int, Any]:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise invalid_input("The request body is not valid JSON.") from None
        shipments.validate_request(body)
        if isinstance(body, dict) and body.get("marketplaceId"):
            check_region([str(body["marketplaceId"])])
        stamp = floor_seconds(now)
        with seller.store.lock:
            record = seller.store.record(order_id)
            current = record.at(now) if record else None
            if current is None:
                raise shipments.not_found(order_id)
            if stamp < record.versions[-1].time:
                stamp = record.versions[-1].time
            version = shipments.apply(current.order, body, stamp)
            seller.store.append_version(order_id, version)
            seller.confirmations.append({"orderId": order_id, "body": body, "receivedAt": iso_z(now)})
        notify(seller, version, "OrderStatusChange", "Shipment confirmed")
        return 204, None

    @app.post("/orders/v0/orders/{order_id}/shipmentConfirmation")
    async def confirm_shipment_route(request: Request, order_id: str) -> Response:
        raw = await request.body()
        return await run_in_threadpool(
            call, request, "confirmShipment", lambda now, seller: confirm_shipment(order_id, raw, now, seller)
        )

    @app.get("/sellers/v1/marketplaceParticipations")
    def marketplace_participations(request: Request) -> Response:
        """Sellers API v1 getMarketplaceParticipations: the seller's marketplaces this endpoint serves."""
        return call(
            request,
            "getMarketplaceParticipations",
            lambda now, seller: (200, {"payload": seller.participations(region)}),
        )

    # -- Notifications API v1 (sandbox/spapi/notifications.py) ---------------------------------------
    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            raise invalid_input("The request body is not valid JSON.") from None

    @app.post("/notifications/v1/destinations")
    async def create_destination(request: Request) -> Response:
        try:
            body = await json_body(request)
        except ApiError as exc:
            return _json(exc.status, exc.body())
        return call_grantless(
            request, "createDestination", lambda: (200, {"payload": state.notifications.create_destination(body)})
        )

    @app.get("/notifications/v1/destinations")
    def get_destinations(request: Request) -> Response:
        return call_grantless(
            request, "getDestinations", lambda: (200, {"payload": state.notifications.list_destinations()})
        )

    @app.get("/notifications/v1/destinations/{destination_id}")
    def get_destination(request: Request, destination_id: str) -> Response:
        return call_grantless(
            request, "getDestination", lambda: (200, {"payload": state.notifications.get_destination(destination_id)})
        )

    @app.delete("/notifications/v1/destinations/{destination_id}")
    def delete_destination(request: Request, destination_id: str) -> Response:
        def run() -> tuple[int, Any]:
            state.notifications.delete_destination(destination_id)
            return 200, {}

        return call_grantless(request, "deleteDestination", run)

    @app.post("/notifications/v1/subscriptions/{notification_type}")
    async def create_subscription(request: Request, notification_type: str) -> Response:
        try:
            body = await json_body(request)
        except ApiError as exc:
            return _json(exc.status, exc.body())
        return call(request, "createSubscription", lambda now, seller: (200, {
            "payload": state.notifications.create_subscription(seller.refresh_token, notification_type, body)
        }))  # fmt: skip

    @app.get("/notifications/v1/subscriptions/{notification_type}")
    def get_subscription(request: Request, notification_type: str) -> Response:
        return call(request, "getSubscription", lambda now, seller: (200, {
            "payload": state.notifications.get_subscription(seller.refresh_token, notification_type)
        }))  # fmt: skip

    @app.delete("/notifications/v1/subscriptions/{notification_type}/{subscription_id}")
    def delete_subscription(request: Request, notification_type: str, subscription_id: str) -> Response:
        def run(now: datetime, seller: Seller) -> tuple[int, Any]:
            state.notifications.delete_subscription(seller.refresh_token, notification_type, subscription_id)
            return 200, {}

        return call(request, "deleteSubscriptionById", run)

    # -- admin API ------------------------------------------------------------------------------
    async def admin_body(request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return ...

    def admin_error(message: str, status: int = 400) -> Response:
        return _json(status, {"message": message})

    def seller_of(request: Request) -> Seller:
        """The seller named by the ``seller`` query parameter (default: the built-in seller)."""
        return state.sellers.get(request.query_params.get("seller"))

    @app.exception_handler(SellerError)
    async def seller_error(request: Request, exc: SellerError) -> Response:
        return admin_error(str(exc), 404 if str(exc).startswith("no seller") else 400)

    @app.post("/_sandbox/sellers")
    async def register_seller(request: Request) -> Response:
        seller = state.register_seller(await admin_body(request))
        return _json(200, seller.to_json())

    @app.get("/_sandbox/sellers")
    def list_sellers() -> Response:
        return _json(200, {"sellers": [s.to_json() for s in state.sellers.all()]})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        state.reset()
        state.clock.fixed = None
        state.limiter.reset()
        return _json(200, {"status": "reset"})

    @app.get("/_sandbox/clock")
    def get_clock() -> Response:
        return _json(200, {"now": iso_z(state.clock.now()), "fixed": state.clock.fixed is not None})

    @app.put("/_sandbox/clock")
    async def put_clock(request: Request) -> Response:
        body = await admin_body(request)
        if not isinstance(body, dict) or "now" not in body:
            return admin_error('expected {"now": "<ISO-8601 date-time>" | null}')
        if body["now"] is None:
            state.clock.fixed = None
        else:
            try:
                state.clock.fixed = parse_iso(str(body["now"]))
            except ValueError as exc:
                return admin_error(str(exc))
        return _json(200, {"now": iso_z(state.clock.now()), "fixed": state.clock.fixed is not None})

    @app.get("/_sandbox/rate-limits")
    def get_rate_limits() -> Response:
        return _json(200, state.limiter.to_json())

    @app.put("/_sandbox/rate-limits")
    async def put_rate_limits(request: Request) -> Response:
        body = await admin_body(request)
        if not isinstance(body, dict) or "mode" not in body:
            return admin_error('expected {"mode": "off"|"default"|"scaled", "factor": <number>}')
        try:
            state.limiter.configure(str(body["mode"]), float(body.get("factor", 1.0)))
        except (TypeError, ValueError) as exc:
            return admin_error(str(exc))
        return _json(200, state.limiter.to_json())

    @app.post("/_sandbox/orders")
    async def put_orders(request: Request) -> Response:
        seller = seller_of(request)
        body = await admin_body(request)
        if isinstance(body, dict):
            body = [body]
        if not isinstance(body, list):
            return admin_error("expected a JSON list of Order objects")
        try:
            ids = await run_in_threadpool(seller.store.put_orders, body)
        except StoreError as exc:
            return admin_error(str(exc))
        now = state.clock.now()
        for order_id in ids:  # the version current now is the change Amazon notifies (later ones: not yet)
            version = seller.store.record(order_id).at(now)
            if version is not None:
                notify(seller, version.order, "OrderStatusChange", "Order placed or changed")
        return _json(200, {"stored": len(ids), "orderIds": ids})

    @app.get("/_sandbox/orders")
    def list_orders(request: Request) -> Response:
        seller, now = seller_of(request), state.clock.now()
        rows = [
            {
                "orderId": order_id,
                "fulfillmentStatus": order_status(version.order),
                "createdTime": version.order.get("createdTime"),
                "lastUpdatedTime": version.order.get("lastUpdatedTime"),
            }
            for order_id, version in seller.store.current(now)
        ]
        return _json(200, {"now": iso_z(now), "orders": rows})

    @app.post("/_sandbox/orders/generate")
    async def generate(request: Request) -> Response:
        seller = seller_of(request)
        body = await admin_body(request)
        body = {} if body is None else body
        if not isinstance(body, dict):
            return admin_error('expected {"count": int, "hours": number, "seed": int}')
        try:
            count, hours, seed = int(body.get("count", 200)), float(body.get("hours", 24)), int(body.get("seed", 0))
        except (TypeError, ValueError):
            return admin_error("count and seed must be integers, hours a number")
        if not 0 <= count <= MAX_GENERATE or not hours > 0:
            return admin_error(f"count must be 0..{MAX_GENERATE} and hours positive")
        now = state.clock.now()

        def run() -> dict[str, Any]:
            marketplaces = seller.marketplace_ids if seller.region else None  # the built-in one: every region
            timelines = generate_orders(count, hours, seed, now, marketplaces=marketplaces)
            seller.store.put_timelines(timelines)
            return summarize(timelines)

        return _json(200, await run_in_threadpool(run))

    @app.get("/_sandbox/orders/{order_id}")
    def order_timeline(request: Request, order_id: str) -> Response:
        store = seller_of(request).store
        record = store.record(order_id)
        if record is None:
            return admin_error(f"no order {order_id}", 404)
        with store.lock:
            versions = [v.order for v in record.versions]
        return _json(200, {"orderId": order_id, "versions": versions})

    @app.post("/_sandbox/orders/{order_id}/status")
    async def set_status(request: Request, order_id: str) -> Response:
        body = await admin_body(request)
        if not isinstance(body, dict) or body.get("status") not in FULFILLMENT_STATUSES:
            return admin_error(f'expected {{"status": one of {", ".join(FULFILLMENT_STATUSES)}}}')
        now = floor_seconds(state.clock.now())
        store = seller_of(request).store
        with store.lock:
            record = store.record(order_id)
            current = record.at(now) if record else None
            if current is None:
                return admin_error(f"no order {order_id} at {iso_z(now)}", 404)
            if now < record.versions[-1].time:
                return admin_error("the sandbox clock is before this order's last update", 409)
            status = body["status"]
            if status == "CANCELLED":
                requested = bool(body.get("buyerRequested", True))
                by = str(body.get("cancelledBy", "BUYER" if requested else "AMAZON"))
                version = cancel(current.order, now, by, str(body.get("reason", "Order no longer needed")), requested)
            else:
                version = next_version(current.order, now, status)
                if status == "SHIPPED":
                    for item in version["orderItems"]:
                        item["fulfillment"] = {"quantityFulfilled": item["quantityOrdered"], "quantityUnfulfilled": 0}
            stored = store.append_version(order_id, version)
        notify(seller_of(request), stored.order, "OrderStatusChange", f"Order status changed to {status}")
        return _json(200, {"order": project(stored, SECTIONS)})

    @app.post("/_sandbox/orders/{order_id}/cancellation-request")
    async def cancellation_request(request: Request, order_id: str) -> Response:
        """The buyer asks to cancel an unshipped order (a BuyerRequestedChange notification; no execution yet)."""
        body = await admin_body(request)
        reason = str((body or {}).get("reason", "Order no longer needed")) if isinstance(body, dict) else None
        if reason is None:
            return admin_error('expected {"reason": "..."} or no body')
        now = floor_seconds(state.clock.now())
        seller = seller_of(request)
        with seller.store.lock:
            record = seller.store.record(order_id)
            current = record.at(now) if record else None
            if current is None:
                return admin_error(f"no order {order_id} at {iso_z(now)}", 404)
            if order_status(current.order) not in ("PENDING", "UNSHIPPED"):
                return admin_error("only a pending or unshipped order can be asked to be cancelled", 409)
            stored = seller.store.append_version(
                order_id, request_cancellation(current.order, max(now, record.versions[-1].time), reason)
            )
        notify(seller, stored.order, "BuyerRequestedChange", "Buyer Requested Cancel")
        return _json(200, {"order": project(stored, SECTIONS)})

    @app.put("/_sandbox/sqs")
    async def put_sqs(request: Request) -> Response:
        """Stop (``{"up": false}``) or start again (``{"up": true}``) the local SQS, keeping its queues."""
        body = await admin_body(request)
        server = state.notifications.sqs
        if server is None:
            return admin_error("no local SQS: start the sandbox with --sqs-port", 409)
        if not isinstance(body, dict) or not isinstance(body.get("up"), bool):
            return admin_error('expected {"up": true | false}')
        await run_in_threadpool(server.start if body["up"] else server.stop)
        return _json(200, {"up": server.up, "endpoint": server.endpoint})

    @app.get("/_sandbox/notifications")
    def notification_stats() -> Response:
        """Destinations, subscriptions and how many ORDER_CHANGE messages reached a queue."""
        n = state.notifications
        with n.lock:
            subscriptions = [{"notificationType": t, **s} for (_, t), s in n.subscriptions.items()]
            return _json(200, {"destinations": list(n.destinations.values()), "subscriptions": subscriptions,
                               "sent": n.sent, "sqsEndpoint": n.sqs_endpoint})  # fmt: skip

    @app.get("/_sandbox/shipment-confirmations")
    def list_confirmations(request: Request) -> Response:
        seller = seller_of(request)
        with seller.store.lock:
            return _json(200, list(seller.confirmations))

    return RequestIdMiddleware(FaultInjector(app))
