"""The Commerce sandbox ASGI app: Magento 2.4 admin REST routes plus the ``/_sandbox`` admin API.

Routes answer under ``/rest/V1/...`` (default store view), ``/rest/<store_code>/V1/...``
and ``/rest/all/V1/...``; an unknown store code is read as part of the path, so
Magento answers "Request does not match any route." (404). Every ``/V1`` route
but the admin token one needs ``Authorization: Bearer <token>`` with an admin
token (4 h) or the integration token from :mod:`sandbox.credentials`, and every
answer goes through Magento's ``fields`` filter. :func:`magento_routes` lists
the routes (``python -m sandbox endpoints`` renders them for docs/commerce-sandbox.md).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox import credentials
from sandbox.commerce import customers, documents, orders, schema, stores
from sandbox.commerce.common import fmt_dt
from sandbox.commerce.errors import (
    FAULT_BODIES,
    NO_ROUTE,
    SIGN_IN_INCORRECT,
    MagentoError,
    bad_request,
    internal_error,
    required,
    unauthorized,
)
from sandbox.commerce.fields_filter import filter_response
from sandbox.commerce.schema import Database, is_retryable
from sandbox.commerce.search_criteria import parse
from sandbox.faults import FaultInjector

log = logging.getLogger(__name__)

ADMIN_TOKEN_TTL_S = 4 * 3600
#: The OpenAPI extension on each Magento route naming the ACL resource it needs.
ACL_EXTRA = "x-magento-acl"
_STORE_PATH = re.compile(r"^/rest/([^/]+)/(V1/.*)$")

#: The store context of ``/rest/all/V1`` routes: Magento's admin scope.
ADMIN_CONTEXT = {"code": "all", "store_id": 0, "website_id": 0}


class TokenStore:
    """Admin tokens issued by ``POST /V1/integration/admin/token`` (in memory, like a session store)."""

    def __init__(self, ttl_s: float = ADMIN_TOKEN_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._issued: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, now: float) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._issued[token] = now
        return token

    def valid(self, token: str, now: float) -> bool:
        if secrets.compare_digest(token, credentials.COMMERCE_INTEGRATION_TOKEN):
            return True
        with self._lock:
            issued = self._issued.get(token)
        return issued is not None and now - issued < self.ttl_s


class StoreCodeRouter:
    """Rewrites ``/rest/<store_code>/V1/...`` to ``/rest/V1/...`` and remembers the store code.

    ``contexts`` (code -> store context) is the app's, refreshed when a store view is added or on reset.
    """

    def __init__(self, app: Any, contexts: dict[str, dict[str, Any]]) -> None:
        self.app = app
        self.contexts = contexts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            code, path = "default", scope["path"]
            match = _STORE_PATH.match(path)
            if match and match.group(1) in self.contexts:
                code, path = match.group(1), "/rest/" + match.group(2)
            scope = {**scope, "path": path, "raw_path": path.encode(), "commerce_store": code}
        await self.app(scope, receive, send)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("Decoding error: \nSyntax error") from None
    if not isinstance(body, dict):
        raise bad_request("Decoding error: \nThe request body must be a JSON object")
    return body


def create_app(db_url: str, marketplace_stores: bool = False) -> FaultInjector:
    """Build the Commerce sandbox on ``db_url`` (tables created if missing, stores and products seeded); with
    ``marketplace_stores``, also a store view for every other marketplace the generator sells on
    (:data:`sandbox.catalog.MARKETPLACE_STORES`)."""
    db = Database(db_url)
    db.create_schema()
    if marketplace_stores:
        with db.write() as conn:
            stores.open_marketplace_stores(conn, db.now())
    tokens = TokenStore()
    api = FastAPI(
        title="Adobe Commerce sandbox",
        description="Magento 2.4 admin REST subset on a real SQL database, plus the /_sandbox admin API.",
        docs_url="/_sandbox/docs",
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
    )
    store_contexts: dict[str, dict[str, Any]] = {}

    def refresh_store_contexts() -> None:
        with db.read() as conn:
            fresh = {**stores.contexts(conn), "all": ADMIN_CONTEXT}
        store_contexts.clear()
        store_contexts.update(fresh)

    refresh_store_contexts()
    injector = FaultInjector(StoreCodeRouter(api, store_contexts), error_bodies=FAULT_BODIES)

    def clock() -> float:
        return db.now().timestamp()

    def transact(fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(conn, now, *args)`` in a write transaction, retrying MySQL deadlocks."""
        for attempt in range(5):
            try:
                with db.write() as conn:
                    return fn(conn, db.now(), *args)
            except OperationalError as exc:
                if attempt < 4 and is_retryable(exc):
                    continue
                raise
        raise AssertionError("unreachable")

    def read(fn: Callable[..., Any], *args: Any) -> Any:
        with db.read() as conn:
            return fn(conn, *args)

    @api.exception_handler(MagentoError)
    async def _magento_error(_request: Request, exc: MagentoError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            return JSONResponse({"message": NO_ROUTE}, status_code=404)
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code)

    def route(method: str, path: str, resource: str | None, handler: Callable[..., Any], body: bool = False) -> None:
        """Register ``/rest/V1<path>`` guarded by the ACL ``resource``; ``handler(params, body, query, store)`` runs
        in a worker thread (``store`` is the route's store context plus the request's ``base_url``)."""

        async def endpoint(request: Request) -> JSONResponse:
            if resource is not None:
                header = request.headers.get("authorization", "")
                scheme, _, token = header.partition(" ")
                if scheme.lower() != "bearer" or not tokens.valid(token.strip(), clock()):
                    raise unauthorized(resource)
            payload = await _json_body(request) if body else {}
            store = {
                **store_contexts[request.scope.get("commerce_store", "default")],
                "base_url": str(request.base_url),
            }
            query = list(request.query_params.multi_items())
            try:
                result = await run_in_threadpool(handler, dict(request.path_params), payload, query, store)
            except MagentoError:
                raise
            except Exception:  # Magento's production mode: a report id, details only in the log
                log.exception("commerce sandbox: unexpected error on %s %s", method, path)
                raise internal_error() from None
            return JSONResponse(filter_response(result, query))

        endpoint.__name__ = f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"
        api.add_api_route(
            "/rest/V1" + path, endpoint, methods=[method], summary=f"{method} /V1{path}",
            openapi_extra={ACL_EXTRA: resource or "anonymous"},
        )  # fmt: skip

    # --- authentication ---------------------------------------------------------------------------

    def admin_token(_params: dict, body: dict, _query: list, _store: dict) -> str:
        missing = [k for k in ("username", "password") if not body.get(k)]
        if len(missing) == 1:
            raise required(missing[0])
        if missing:
            raise MagentoError(
                400,
                "One or more input exceptions have occurred.",
                errors=[
                    {"message": '"%fieldName" is required. Enter and try again.', "parameters": {"fieldName": k}}
                    for k in missing
                ],
            )
        user_ok = secrets.compare_digest(str(body["username"]), credentials.COMMERCE_ADMIN_USER)
        password_ok = secrets.compare_digest(str(body["password"]), credentials.COMMERCE_ADMIN_PASSWORD)
        if not (user_ok and password_ok):
            raise MagentoError(401, SIGN_IN_INCORRECT)
        return tokens.issue(clock())

    route("POST", "/integration/admin/token", None, admin_token, body=True)

    # --- customers --------------------------------------------------------------------------------

    customer_resource = "Magento_Customer::customer"
    route("GET", "/customers/search", customer_resource, lambda p, b, q, s: read(customers.search, parse(q)))
    route(
        "POST", "/customers", customer_resource,
        lambda p, b, q, s: read(customers.get, transact(customers.create, b, s)), body=True,
    )  # fmt: skip
    route("GET", "/customers/{customerId}", customer_resource, lambda p, b, q, s: read(customers.get, p["customerId"]))

    # --- orders and order items (``/orders/items`` before ``/orders/{id}``, which would take "items" as an id) ---

    view = "Magento_Sales::actions_view"
    route("GET", "/orders", view, lambda p, b, q, s: read(orders.search, parse(q)))
    route("GET", "/orders/items", view, lambda p, b, q, s: read(orders.search_items, parse(q)))
    route("GET", "/orders/items/{id}", view, lambda p, b, q, s: read(orders.get_item, p["id"]))
    route(
        "PUT", "/orders/create", "Magento_Sales::create",
        lambda p, b, q, s: read(orders.get, transact(orders.create, b, s)), body=True,
    )  # fmt: skip
    route("GET", "/orders/{id}", view, lambda p, b, q, s: read(orders.get, p["id"]))
    route("POST", "/orders/{id}/cancel", "Magento_Sales::cancel", lambda p, b, q, s: transact(orders.cancel, p["id"]))
    route("POST", "/orders/{id}/hold", "Magento_Sales::hold", lambda p, b, q, s: transact(orders.hold, p["id"]))
    route("POST", "/orders/{id}/unhold", "Magento_Sales::unhold", lambda p, b, q, s: transact(orders.unhold, p["id"]))
    route("GET", "/orders/{id}/comments", view, lambda p, b, q, s: read(orders.comments, p["id"]))
    route(
        "POST", "/orders/{id}/comments", "Magento_Sales::comment",
        lambda p, b, q, s: transact(orders.add_comment, p["id"], b), body=True,
    )  # fmt: skip
    route("GET", "/orders/{id}/statuses", view, lambda p, b, q, s: read(orders.status, p["id"]))

    # --- invoices, shipments, credit memos -------------------------------------------------------

    route(
        "POST", "/order/{orderId}/invoice", "Magento_Sales::sales_invoice",
        lambda p, b, q, s: transact(documents.invoice, p["orderId"], b), body=True,
    )  # fmt: skip
    route(
        "POST", "/order/{orderId}/ship", "Magento_Sales::ship",
        lambda p, b, q, s: transact(documents.ship, p["orderId"], b), body=True,
    )  # fmt: skip
    route(
        "POST", "/order/{orderId}/refund", "Magento_Sales::sales_creditmemo",
        lambda p, b, q, s: transact(documents.refund, p["orderId"], b), body=True,
    )  # fmt: skip
    for kind, plural, single, resource in (
        ("invoice", "/invoices", "/invoices/{id}", "Magento_Sales::sales_invoice"),
        ("shipment", "/shipments", "/shipment/{id}", "Magento_Sales::shipment"),
        ("creditmemo", "/creditmemos", "/creditmemo/{id}", "Magento_Sales::sales_creditmemo"),
    ):
        route("GET", plural, resource, lambda p, b, q, s, k=kind: read(documents.search_documents, k, parse(q)))
        route("GET", single, resource, lambda p, b, q, s, k=kind: read(documents.get_document, k, p["id"]))
        route(
            "GET", single + "/comments", resource,
            lambda p, b, q, s, k=kind: read(documents.document_comments, k, p["id"]),
        )  # fmt: skip
    shipment_resource = "Magento_Sales::shipment"
    route("GET", "/shipment/{id}/label", shipment_resource, lambda p, b, q, s: read(documents.shipment_label, p["id"]))
    route(
        "POST", "/shipment/track", shipment_resource,
        lambda p, b, q, s: read(documents.get_track, transact(documents.add_track, b)), body=True,
    )  # fmt: skip

    # --- stores -----------------------------------------------------------------------------------

    stores_resource = "Magento_Backend::stores"
    route("GET", "/store/storeViews", stores_resource, lambda p, b, q, s: read(stores.store_views))
    route("GET", "/store/storeGroups", stores_resource, lambda p, b, q, s: read(stores.store_groups))
    route("GET", "/store/websites", stores_resource, lambda p, b, q, s: read(stores.websites))
    route(
        "GET", "/store/storeConfigs", stores_resource,
        lambda p, b, q, s: read(stores.store_configs, stores.store_codes(q), s["base_url"]),
    )  # fmt: skip

    # --- /_sandbox admin API ----------------------------------------------------------------------

    @api.get("/_sandbox/health", tags=["sandbox"])
    def health() -> dict[str, Any]:
        """200 once the database answers."""
        with db.read() as conn:
            orders_count = conn.execute(select(schema.sales_order.c.entity_id).limit(1)).first()
        return {"status": "ok", "database": db.url.get_backend_name(), "has_orders": orders_count is not None}

    @api.post("/_sandbox/reset", tags=["sandbox"])
    def reset() -> dict[str, Any]:
        """Empty every table, reseed stores (added ones are gone; with ``marketplace_stores``, those are reopened) and
        products, faults off, clock back to now."""
        db.reset()
        if marketplace_stores:
            with db.write() as conn:
                stores.open_marketplace_stores(conn, db.now())
        refresh_store_contexts()
        db.set_clock_offset(0)
        injector.reset()
        return {"status": "reset"}

    @api.post("/_sandbox/products", tags=["sandbox"])
    async def upsert_products(request: Request) -> dict[str, Any]:
        """Create or update catalogue products: ``[{"sku", "name", "price"}]``."""
        raw = await request.body()
        try:
            products = json.loads(raw or b"[]")
        except ValueError:
            raise bad_request("Decoding error: \nSyntax error") from None
        if isinstance(products, dict):
            products = [products]
        if not isinstance(products, list) or not all(isinstance(p, dict) and p.get("sku") for p in products):
            raise bad_request("Expected a list of {sku, name, price} objects.")
        return await run_in_threadpool(transact, _upsert_products, products)

    @api.get("/_sandbox/products", tags=["sandbox"])
    def list_products() -> list[dict[str, Any]]:
        """The catalogue: ``[{sku, name, price, entity_id}]``."""
        with db.read() as conn:
            rows = conn.execute(
                select(schema.catalog_product_entity).order_by(schema.catalog_product_entity.c.entity_id)
            )
            return [{"entity_id": r.entity_id, "sku": r.sku, "name": r.name, "price": r.price} for r in rows]

    @api.post("/_sandbox/stores", tags=["sandbox"])
    async def add_store(request: Request) -> dict[str, Any]:
        """Add a store view: ``{"code", "name", "website_code", "currency", "emails_disabled"}`` (a new website code
        creates the website with ``currency`` as base currency); ``/rest/<code>/V1`` routes answer at once."""
        created = await run_in_threadpool(transact, stores.create_store, await _json_body(request))
        refresh_store_contexts()
        return created

    @api.get("/_sandbox/notifications", tags=["sandbox"])
    def notifications(type: str | None = None, order_increment_id: str | None = None) -> list[dict[str, Any]]:  # noqa: A002
        """Every customer e-mail Magento would have sent, oldest first (optionally filtered)."""
        t = schema.sandbox_notification
        stmt = select(t).order_by(t.c.notification_id)
        if type:
            stmt = stmt.where(t.c.type == type)
        if order_increment_id:
            stmt = stmt.where(t.c.order_increment_id == order_increment_id)
        with db.read() as conn:
            return [
                {
                    k: (fmt_dt(v) if k == "created_at" else v)
                    for k, v in row.items()
                    if v is not None or k == "entity_id"
                }
                for row in conn.execute(stmt).mappings()
            ]

    @api.get("/_sandbox/clock", tags=["sandbox"])
    def get_clock() -> dict[str, Any]:
        return {"now": fmt_dt(db.now()), "offset_s": db.clock_offset}

    @api.put("/_sandbox/clock", tags=["sandbox"])
    async def set_clock(request: Request) -> dict[str, Any]:
        """Shift the sandbox clock (token expiry, timestamps): ``{"offset_s": 14401}``."""
        body = await _json_body(request)
        try:
            db.set_clock_offset(float(body.get("offset_s", 0)))
        except (TypeError, ValueError):
            raise bad_request("offset_s must be a number of seconds") from None
        return {"now": fmt_dt(db.now()), "offset_s": db.clock_offset}

    return injector


def magento_routes(app: Any) -> list[tuple[str, str, str]]:
    """``(method, "/V1/...", ACL resource)`` of every Magento REST route of a Commerce sandbox app, in match order."""
    api = app
    while not isinstance(api, FastAPI):  # unwrap the fault injector and the store-code router
        api = api.app
    return [
        (method, route.path.removeprefix("/rest"), route.openapi_extra[ACL_EXTRA])
        for route in api.routes
        if isinstance(route, APIRoute) and route.path.startswith("/rest/V1/")
        for method in sorted(route.methods)
    ]


def _upsert_products(conn: Any, now: Any, products: list[dict[str, Any]]) -> dict[str, Any]:
    table = schema.catalog_product_entity
    created = updated = 0
    for product in products:
        sku = str(product["sku"])
        values = {k: v for k, v in (("name", product.get("name")), ("price", product.get("price"))) if v is not None}
        if "price" in values:
            values["price"] = float(values["price"])
        existing = conn.execute(select(table.c.entity_id).where(table.c.sku == sku)).first()
        if existing:
            conn.execute(update(table).where(table.c.entity_id == existing[0]).values(**values, updated_at=now))
            updated += 1
        else:
            conn.execute(
                insert(table),
                dict(
                    sku=sku,
                    name=values.get("name", sku),
                    price=values.get("price", 0.0),
                    created_at=now,
                    updated_at=now,
                ),
            )
            created += 1
    return {"created": created, "updated": updated}
