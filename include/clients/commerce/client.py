"""A synchronous Adobe Commerce (Magento 2.4) admin REST client.

Plain ``httpx``; no Airflow import (the ``commerce_api`` hook builds it from a
connection). What it guarantees:

* **Auth.** With ``username``/``password`` it obtains an admin token lazily
  (``POST /rest/V1/integration/admin/token``), shares it between threads, and
  on a 401 refreshes it once and re-sends (a 401 means Magento rejected the
  call before running it). With ``token`` (an integration access token) it
  sends that token as given.
* **Reads retry.** GETs and searches are retried with exponential backoff and
  jitter on 5xx, 429 and transport errors/timeouts, then raise
  :class:`CommerceUnavailable`.
* **Writes are never blindly retried.** Creates and actions (order and
  customer create, invoice, ship, refund, cancel, hold, unhold, comment, track) are re-sent
  only when the request certainly did not take effect: it never reached the
  server (connection refused), or Magento refused it with 429, or a look-up
  after an *ambiguous* failure (timeout, connection dropped mid-response, any
  5xx: an injected 503 looks exactly like one after the commit) proves it did
  not happen. If the look-up finds the effect, that result is returned as if
  the response had arrived. Each method's docstring states its look-up.
* **Errors** carry Magento's message with ``%1``/``%name`` substituted
  (:mod:`include.clients.commerce.errors`).
* **Logs** name the method, the path *template* (``/V1/orders/{id}``), status,
  duration and attempt, never ids, query values, bodies, e-mails or names.
* **Batches.** :meth:`CommerceClient.map_concurrent` runs calls on a bounded
  thread pool; the HTTP connection pool is grown to at least that bound.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from include.clients.commerce.errors import (
    CommerceAuthError,
    CommerceClientError,
    CommerceError,
    CommerceOutcomeUnknown,
    CommerceUnavailable,
)
from include.clients.commerce.search_criteria import SearchCriteria
from include.clients.http_retry import backoff_delay, retry_after_seconds
from include.clients.transport import VERIFY_TLS, require_secure_url

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Answers worth retrying for reads (429 is retried for every call: Magento refused it unprocessed).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ADMIN_TOKEN_PATH = "/V1/integration/admin/token"
#: Magento's admin tokens live 4 h by default; renew a little earlier instead of waiting for the 401.
ADMIN_TOKEN_MAX_AGE_S = 3.5 * 3600
MAX_BACKOFF_S = 30.0


@dataclass
class ClientStats:
    """Counters for run reports and tests (no PII)."""

    requests: int = 0
    retries: int = 0
    token_fetches: int = 0
    token_refreshes: int = 0
    ambiguous: int = 0
    resolved_existing: int = 0
    resent: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class _Ambiguous(Exception):
    """A write whose request may have taken effect (internal; resolved by a look-up)."""

    def __init__(self, cause: BaseException, *, settle: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.settle = settle


class _NotFound:
    """Sentinel: the look-up proved the write did not happen."""


NOT_DONE = _NotFound()


class CommerceClient:
    """Admin REST client for one Commerce instance (thread-safe; share it across a batch).

    ``base_url`` is the shop's base URL (``http://127.0.0.1:8782``); calls go to
    ``<base_url>/rest[/<store_code>]/V1/...``. ``timeout`` is per request,
    ``max_retries`` the retries after the first attempt, ``backoff`` the first
    retry delay in seconds. ``settle_delay`` (default ``min(timeout, 10)``) is
    how long to wait after a timed-out write before looking it up, so a request
    still running on the server has time to land. ``max_connections`` sizes the
    HTTP pool (grown automatically by :meth:`map_concurrent`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        store_code: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        settle_delay: float | None = None,
        max_connections: int = 10,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        if token is None and not (username and password):
            raise ValueError("give either an integration token or an admin username and password")
        base = base_url.rstrip("/")
        if base.endswith("/rest"):
            base = base[: -len("/rest")]
        self.base_url = require_secure_url(base, "Commerce base URL")
        self.store_code = store_code or None
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.settle_delay = min(self.timeout, 10.0) if settle_delay is None else float(settle_delay)
        self.stats = ClientStats()
        self._username = username
        self._password = password
        self._static_token = token is not None
        self._token: str | None = token
        self._token_at = 0.0
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._max_connections = max(1, int(max_connections))
        self._retired: list[httpx.Client] = []
        self._http = self._new_http(self._max_connections)
        self._rng = random.Random()

    # ------------------------------------------------------------------ plumbing

    def _new_http(self, size: int) -> httpx.Client:
        return httpx.Client(
            verify=VERIFY_TLS,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            headers={"Accept": "application/json", "User-Agent": "amazon-commerce-sync"},
        )

    def _ensure_pool(self, size: int) -> None:
        """Make the connection pool hold at least ``size`` connections."""
        with self._pool_lock:
            if size <= self._max_connections:
                return
            self._retired.append(self._http)  # callers may still hold it; closed in close()
            self._http = self._new_http(size)
            self._max_connections = size

    @property
    def pool_size(self) -> int:
        """How many connections the HTTP pool may open."""
        return self._max_connections

    def close(self) -> None:
        with self._pool_lock:
            for client in [*self._retired, self._http]:
                client.close()
            self._retired.clear()

    def __enter__(self) -> CommerceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + n)

    def _url(self, template: str, path_params: dict[str, Any] | None, *, store: bool | str = True) -> str:
        """The URL of a route: under the client's store code (``store=True``), none (False), or the one given."""
        path = template.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        code = store if isinstance(store, str) else (self.store_code if store else None)
        prefix = f"{self.base_url}/rest/{quote(code, safe='')}" if code else f"{self.base_url}/rest"
        return prefix + path

    # ------------------------------------------------------------------ auth

    def _current_token(self) -> str:
        if self._static_token:
            return self._token or ""
        with self._token_lock:
            if self._token is None or time.monotonic() - self._token_at > ADMIN_TOKEN_MAX_AGE_S:
                self._token = self._fetch_admin_token()
                self._token_at = time.monotonic()
            return self._token

    def _fetch_admin_token(self) -> str:
        self._count("token_fetches")
        token = self._call(
            "POST",
            ADMIN_TOKEN_PATH,
            body={"username": self._username, "password": self._password},
            idempotent=True,
            auth=False,
            store=False,
        )
        if not isinstance(token, str) or not token:
            raise CommerceAuthError("Commerce returned no admin token", method="POST", path=ADMIN_TOKEN_PATH)
        return token

    def _invalidate_token(self, token: str) -> bool:
        """Forget ``token`` if it is still the current one; False when no refresh is possible."""
        if self._static_token:
            return False
        with self._token_lock:
            if self._token == token:
                self._token = None
                self._count("token_refreshes")
        return True

    # ------------------------------------------------------------------ requests

    def _call(
        self,
        method: str,
        template: str,
        *,
        path_params: dict[str, Any] | None = None,
        params: list[tuple[str, str]] | None = None,
        body: Any = None,
        idempotent: bool,
        auth: bool = True,
        store: bool | str = True,
    ) -> Any:
        """One logical call. Reads retry; writes raise :class:`_Ambiguous` when the outcome is unknown."""
        url = self._url(template, path_params, store=store)
        failures = 0
        refreshed = False
        while True:
            headers = {}
            token = ""
            if auth:
                token = self._current_token()
                headers["Authorization"] = f"Bearer {token}"
            started = time.monotonic()
            self._count("requests")
            wait_hint: float | None = None
            try:
                response = self._http.request(method, url, params=params, json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: BaseException = exc  # never reached Commerce: safe to send again
            except httpx.TransportError as exc:
                if not idempotent:
                    self._log(method, template, None, started, failures, type(exc).__name__)
                    settle = isinstance(exc, httpx.TimeoutException | httpx.ReadError | httpx.WriteError)
                    raise _Ambiguous(exc, settle=settle) from exc
                failure = exc
            else:
                status = response.status_code
                self._log(method, template, status, started, failures)
                if status < 300:
                    return _decode(response)
                error = CommerceError.from_response(status, _decode_error(response), method=method, path=template)
                if status == 401 and auth and not refreshed and self._invalidate_token(token):
                    refreshed = True
                    continue
                if status not in RETRY_STATUSES:
                    raise error
                if status != 429 and not idempotent:
                    raise _Ambiguous(error, settle=False)
                failure = error
                wait_hint = retry_after_seconds(response.headers.get("retry-after"), cap=MAX_BACKOFF_S)
            failures += 1
            if failures > self.max_retries:
                if isinstance(failure, CommerceError):
                    raise CommerceUnavailable(
                        f"{failure.message} (gave up after {failures} attempts)",
                        status=failure.status,
                        parameters=failure.parameters,
                        template=failure.template,
                        method=method,
                        path=template,
                    ) from failure
                raise CommerceUnavailable(
                    f"Commerce unreachable: {type(failure).__name__} (gave up after {failures} attempts)",
                    method=method,
                    path=template,
                ) from failure
            delay = max(backoff_delay(failures, base=self.backoff, cap=MAX_BACKOFF_S, rng=self._rng), wait_hint or 0.0)
            log.warning(
                "commerce %s %s failed (%s); retry %d/%d in %.2fs",
                method,
                template,
                failure.status if isinstance(failure, CommerceError) else type(failure).__name__,
                failures,
                self.max_retries,
                delay,
            )
            self._count("retries")
            time.sleep(delay)

    def _log(
        self, method: str, template: str, status: int | None, started: float, attempt: int, note: str = ""
    ) -> None:
        log.debug(
            "commerce %s %s -> %s in %.0f ms (attempt %d)%s",
            method,
            template,
            status if status is not None else "no response",
            (time.monotonic() - started) * 1000,
            attempt + 1,
            f" {note}" if note else "",
        )

    def _get(self, template: str, *, path_params: dict[str, Any] | None = None, params=None) -> Any:
        return self._call("GET", template, path_params=path_params, params=params, idempotent=True)

    def _write(self, op: str, send: Callable[[], T], resolve: Callable[[], Any]) -> T:
        """Send a non-idempotent request; after an ambiguous failure ``resolve()`` says whether it took effect.

        ``resolve`` returns the result to hand back when the write happened, or
        :data:`NOT_DONE` when it certainly did not (then the request is re-sent).
        A 4xx on a re-send is checked the same way (the first attempt may have
        landed, e.g. a duplicate increment id).
        """
        ambiguous: _Ambiguous | None = None
        for attempt in range(self.max_retries + 1):
            try:
                return send()
            except CommerceClientError:
                if ambiguous is None:
                    raise
                outcome = self._resolve(op, resolve)
                if outcome is not NOT_DONE:
                    return outcome
                raise
            except _Ambiguous as exc:
                ambiguous = exc
                self._count("ambiguous")
                reason = exc.cause.status if isinstance(exc.cause, CommerceError) else type(exc.cause).__name__
                log.warning("commerce %s: outcome unknown (%s); looking it up", op, reason)
                if exc.settle and self.settle_delay > 0:
                    time.sleep(self.settle_delay)
                outcome = self._resolve(op, resolve)
                if outcome is not NOT_DONE:
                    self._count("resolved_existing")
                    log.warning("commerce %s: it had taken effect; using the existing result", op)
                    return outcome
                if attempt == self.max_retries:
                    break
                self._count("resent")
                delay = backoff_delay(attempt + 1, base=self.backoff, cap=MAX_BACKOFF_S, rng=self._rng)
                log.warning("commerce %s: it did not take effect; sending again in %.2fs", op, delay)
                time.sleep(delay)
        cause = ambiguous.cause if ambiguous is not None else None
        raise CommerceUnavailable(
            f"{op} did not take effect after {self.max_retries + 1} attempts: "
            f"{cause.message if isinstance(cause, CommerceError) else type(cause).__name__}",
            status=cause.status if isinstance(cause, CommerceError) else None,
        ) from cause

    def _resolve(self, op: str, resolve: Callable[[], Any]) -> Any:
        try:
            return resolve()
        except CommerceError as exc:
            raise CommerceOutcomeUnknown(
                f"{op}: the response was lost and the look-up failed ({exc.message}); nothing was re-sent",
                status=exc.status,
            ) from exc

    # ------------------------------------------------------------------ searches

    def _search(self, template: str, criteria: SearchCriteria | None) -> dict[str, Any]:
        result = self._get(template, params=(criteria or SearchCriteria()).to_params())
        result.setdefault("items", [])
        result["items"] = result["items"] or []
        return result

    def _iterate(
        self, search: Callable[[SearchCriteria], dict[str, Any]], criteria: SearchCriteria | None, page_size: int
    ) -> Iterator[dict[str, Any]]:
        """Page through a search.

        Without an explicit sort this uses keyset paging (``entity_id > last``,
        ascending), which neither skips nor repeats rows while others insert.
        With a caller's sort it pages by ``currentPage`` and stops at
        ``total_count`` (Magento answers a page past the end with the last page).
        """
        base = (criteria or SearchCriteria()).copy()
        if not base.sort_orders:
            last_id: int | None = None
            while True:
                page = base.copy()
                if last_id is not None:
                    page.where("entity_id", last_id, "gt")
                page.sort("entity_id", "ASC").page(page_size, 1)
                items = search(page)["items"]
                yield from items
                if len(items) < page_size:
                    return
                last_id = int(items[-1]["entity_id"])
        seen, current = 0, 1
        while True:
            result = search(base.copy().page(page_size, current))
            items = result["items"]
            yield from items
            seen += len(items)
            if not items or len(items) < page_size or seen >= int(result.get("total_count") or 0):
                return
            current += 1

    # ------------------------------------------------------------------ customers

    def search_customers(self, criteria: SearchCriteria | None) -> dict[str, Any]:
        """``GET /V1/customers/search`` → ``{items, total_count, search_criteria}`` (retried)."""
        return self._search("/V1/customers/search", criteria)

    def find_customer(self, email: str, website_id: int | None) -> dict[str, Any] | None:
        """The customer with this e-mail on this website (Magento's unique key), or None."""
        criteria = SearchCriteria().where("email", email)
        if website_id is not None:
            criteria.where("website_id", int(website_id))
        items = self.search_customers(criteria.page(1))["items"]
        return items[0] if items else None

    def create_customer(
        self, customer: dict[str, Any], password: str | None = None, *, store_code: str | None = None
    ) -> dict[str, Any]:
        """``POST /V1/customers`` (under ``/rest/<store_code>`` when given); returns the created customer.

        Lost response: looks the customer up by ``email`` + ``website_id``
        (Magento's unique key, so a second create could only fail) and returns
        it; sends again only if there is none. Magento sends its new-account
        e-mail for every created account unless "Disable Email Communications"
        is set for the store view of the request (its current store): the sync
        creates Amazon customers under their customer store view's code, with
        ``customer.store_id`` that store view (README, "Commerce stores
        and buyer e-mails").
        """
        email = customer.get("email")
        if not email:
            raise ValueError("customer needs an email")
        website_id = customer.get("website_id")
        body: dict[str, Any] = {"customer": customer}
        if password is not None:
            body["password"] = password

        def resolve() -> Any:
            found = self.find_customer(email, website_id)
            return found if found is not None else NOT_DONE

        return self._write(
            "create_customer",
            lambda: self._call("POST", "/V1/customers", body=body, idempotent=False, store=store_code or True),
            resolve,
        )

    # ------------------------------------------------------------------ stores

    def store_views(self) -> list[dict[str, Any]]:
        """``GET /V1/store/storeViews``: every store view (``id``, ``code``, ``website_id``...), admin included."""
        return self._get("/V1/store/storeViews")

    def websites(self) -> list[dict[str, Any]]:
        """``GET /V1/store/websites``: every website (``id``, ``code``, ``name``...), admin included."""
        return self._get("/V1/store/websites")

    def store_configs(self, codes: list[str] | None = None) -> list[dict[str, Any]]:
        """``GET /V1/store/storeConfigs``: each store view's configuration (``base_currency_code``...)."""
        params = [("storeCodes[]", code) for code in codes] if codes else None
        return self._get("/V1/store/storeConfigs", params=params)

    # ------------------------------------------------------------------ orders

    def search_orders(self, criteria: SearchCriteria | None) -> dict[str, Any]:
        """``GET /V1/orders`` → ``{items, total_count, search_criteria}`` (retried)."""
        return self._search("/V1/orders", criteria)

    def iter_orders(self, criteria: SearchCriteria | None = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every order matching ``criteria``, page by page (see :meth:`_iterate`)."""
        return self._iterate(self.search_orders, criteria, page_size)

    def get_order(self, order_id: int) -> dict[str, Any]:
        """``GET /V1/orders/{id}`` (retried; :class:`CommerceNotFound` if absent)."""
        return self._get("/V1/orders/{id}", path_params={"id": int(order_id)})

    def find_orders_by_ext_order_id(self, ext_order_id: str) -> list[dict[str, Any]]:
        """Orders whose ``ext_order_id`` equals this (Magento indexes it but does not enforce uniqueness)."""
        return list(self.iter_orders(SearchCriteria().where("ext_order_id", ext_order_id)))

    def update_order(self, order_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Save ``changes`` (e.g. customer e-mail and name) on an existing order: ``PUT /V1/orders/create``
        with its ``entity_id``, as Magento's order repository does.

        Setting the same values twice leaves the same order, so this write is
        retried like a read.
        """
        entity = {**changes, "entity_id": int(order_id)}
        return self._call("PUT", "/V1/orders/create", body={"entity": entity}, idempotent=True)

    def create_order(self, entity: dict[str, Any]) -> dict[str, Any]:
        """``PUT /V1/orders/create``; returns the saved order.

        Never blindly re-sent. Lost response, timeout or 5xx: looks orders up by
        ``entity["ext_order_id"]`` (or, without one, ``increment_id`` + ``store_id``)
        and returns the existing order (preferring the same store); sends again
        only when none exists. An ``increment_id`` in the entity additionally
        makes a late duplicate impossible (Magento's unique key per store).
        """
        ext_order_id = entity.get("ext_order_id")
        increment_id = entity.get("increment_id")
        store_id = entity.get("store_id")

        def resolve() -> Any:
            if ext_order_id:
                found = self.find_orders_by_ext_order_id(str(ext_order_id))
            elif increment_id:
                criteria = SearchCriteria().where("increment_id", str(increment_id))
                if store_id is not None:
                    criteria.where("store_id", int(store_id))
                found = list(self.iter_orders(criteria))
            else:
                raise CommerceError("the order has neither ext_order_id nor increment_id to look it up by")
            if store_id is not None:
                found.sort(key=lambda o: (int(o.get("store_id") or 0) != int(store_id), int(o["entity_id"])))
            return found[0] if found else NOT_DONE

        return self._write(
            "create_order",
            lambda: self._call("PUT", "/V1/orders/create", body={"entity": entity}, idempotent=False),
            resolve,
        )

    def ensure_order(self, entity: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Return ``(order, created)``: the existing order with this ``ext_order_id``, else a new one."""
        ext_order_id = entity.get("ext_order_id")
        if not ext_order_id:
            raise ValueError("ensure_order needs entity['ext_order_id']")
        existing = self.find_orders_by_ext_order_id(str(ext_order_id))
        if existing:
            return existing[0], False
        return self.create_order(entity), True

    def cancel_order(self, order_id: int) -> bool:
        """``POST /V1/orders/{id}/cancel``; Magento's boolean answer.

        Lost response: re-reads the order; ``state == "canceled"`` means it
        happened (returns True), otherwise it is sent again.
        """
        return self._order_action("cancel", order_id, lambda state: state == "canceled")

    def hold_order(self, order_id: int) -> bool:
        """``POST /V1/orders/{id}/hold``: Magento's ``true``; a 400 when it cannot hold the order (``canHold()``).

        Lost response: re-reads the order; state ``holded`` means it happened
        (returns True), otherwise it is sent again.
        """
        return self._order_action("hold", order_id, lambda state: state == "holded")

    def unhold_order(self, order_id: int) -> bool:
        """``POST /V1/orders/{id}/unhold``: Magento's ``true``; a 400 when the order is not held.

        Lost response: re-reads the order; a state other than ``holded`` means it
        happened (returns True), otherwise it is sent again.
        """
        return self._order_action("unhold", order_id, lambda state: state != "holded")

    def _order_action(self, action: str, order_id: int, done: Callable[[Any], bool]) -> bool:
        """``POST /V1/orders/{id}/<action>`` as a write: after a lost response, ``done(state)`` of the re-read order
        says whether it happened."""
        oid = int(order_id)

        def resolve() -> Any:
            return True if done(self.get_order(oid).get("state")) else NOT_DONE

        return bool(
            self._write(
                f"{action}_order",
                lambda: self._call("POST", f"/V1/orders/{{id}}/{action}", path_params={"id": oid}, idempotent=False),
                resolve,
            )
        )

    def get_order_comments(self, order_id: int) -> dict[str, Any]:
        """``GET /V1/orders/{id}/comments`` → ``{items, total_count}`` (status history, retried)."""
        result = self._get("/V1/orders/{id}/comments", path_params={"id": int(order_id)})
        result["items"] = result.get("items") or []
        return result

    def get_order_status(self, order_id: int) -> str:
        """``GET /V1/orders/{id}/statuses`` → the order's status code (retried)."""
        return str(self._get("/V1/orders/{id}/statuses", path_params={"id": int(order_id)}))

    def add_order_comment(
        self,
        order_id: int,
        comment: str,
        *,
        status: str | None = None,
        notify: bool = False,
        visible_on_front: bool = False,
    ) -> bool:
        """``POST /V1/orders/{id}/comments``; True when added.

        Reads the order's comments first; after a lost response, the comment
        counts as added when more entries with exactly this text exist than
        before. Otherwise it is sent again.
        """
        oid = int(order_id)
        history: dict[str, Any] = {
            "comment": comment,
            "is_customer_notified": 1 if notify else 0,
            "is_visible_on_front": 1 if visible_on_front else 0,
            "parent_id": oid,
        }
        if status is not None:
            history["status"] = status
        before = self._count_comments(oid, comment)

        def resolve() -> Any:
            return True if self._count_comments(oid, comment) > before else NOT_DONE

        return bool(
            self._write(
                "add_order_comment",
                lambda: self._call(
                    "POST",
                    "/V1/orders/{id}/comments",
                    path_params={"id": oid},
                    body={"statusHistory": history},
                    idempotent=False,
                ),
                resolve,
            )
        )

    def _count_comments(self, order_id: int, comment: str) -> int:
        return sum(1 for h in self.get_order_comments(order_id)["items"] if h.get("comment") == comment)

    def invoice_order(
        self,
        order_id: int,
        *,
        items: list[dict[str, Any]] | None = None,
        capture: bool = False,
        notify: bool = False,
        comment: str | None = None,
        order: dict[str, Any] | None = None,
    ) -> int:
        """``POST /V1/order/{id}/invoice`` (offline unless ``capture``); returns the invoice id.

        Lists the order's invoices first, unless the caller passes the order
        (as just created or read) and nothing on it is invoiced yet, so there
        are none. After a lost response, an invoice that was not there before
        is ours and its id is returned; otherwise it is sent again.
        """
        oid = int(order_id)
        body: dict[str, Any] = {"capture": capture, "notify": notify}
        if items:
            body["items"] = [{"order_item_id": int(i["order_item_id"]), "qty": i["qty"]} for i in items]
        if comment:
            body["comment"] = {"comment": comment, "is_visible_on_front": 0}
            body["appendComment"] = True
        nothing_invoiced = order is not None and not any(
            float(i.get("qty_invoiced") or 0) for i in order.get("items") or []
        )
        before = set() if nothing_invoiced else None
        return self._create_document("invoice_order", "/V1/order/{id}/invoice", oid, body, self._invoice_ids, before)

    def ship_order(
        self,
        order_id: int,
        *,
        items: list[dict[str, Any]] | None = None,
        tracks: list[dict[str, Any]] | None = None,
        notify: bool = False,
        comment: str | None = None,
        shipments_before: set[int] | None = None,
    ) -> int:
        """``POST /V1/order/{id}/ship``; returns the shipment id.

        Lists the order's shipments first (unless the caller knows their ids:
        ``shipments_before``); after a lost response, a shipment
        that was not there before is ours and its id is returned; otherwise it
        is sent again.
        """
        oid = int(order_id)
        body: dict[str, Any] = {"notify": notify}
        if items:
            body["items"] = [{"order_item_id": int(i["order_item_id"]), "qty": i["qty"]} for i in items]
        if tracks:
            body["tracks"] = [
                {
                    "track_number": t["track_number"],
                    "title": t.get("title") or t["carrier_code"],
                    "carrier_code": t["carrier_code"],
                }
                for t in tracks
            ]
        if comment:
            body["comment"] = {"comment": comment, "is_visible_on_front": 0}
            body["appendComment"] = True
        return self._create_document(
            "ship_order", "/V1/order/{id}/ship", oid, body, self._shipment_ids, shipments_before
        )

    def refund_order(
        self,
        order_id: int,
        *,
        items: list[dict[str, Any]] | None = None,
        notify: bool = False,
        shipping_amount: float | None = None,
        adjustment_positive: float | None = None,
        adjustment_negative: float | None = None,
    ) -> int:
        """``POST /V1/order/{id}/refund`` (an offline credit memo); returns the credit memo id.

        Lists the order's credit memos first; after a lost response, a credit
        memo that was not there before is ours and its id is returned;
        otherwise it is sent again.
        """
        oid = int(order_id)
        body: dict[str, Any] = {"notify": notify}
        if items:
            body["items"] = [{"order_item_id": int(i["order_item_id"]), "qty": i["qty"]} for i in items]
        arguments = {
            k: v
            for k, v in (
                ("shipping_amount", shipping_amount),
                ("adjustment_positive", adjustment_positive),
                ("adjustment_negative", adjustment_negative),
            )
            if v is not None
        }
        if arguments:
            body["arguments"] = arguments
        return self._create_document("refund_order", "/V1/order/{id}/refund", oid, body, self._creditmemo_ids, None)

    def _create_document(
        self,
        op: str,
        template: str,
        order_id: int,
        body: dict[str, Any],
        document_ids: Callable[[int], set[int]],
        before: set[int] | None,
    ) -> int:
        """Send an invoice, shipment or refund and return the new document's id.

        ``document_ids(order_id)`` lists the ids of the order's documents of that kind; ``before`` is that
        list before the write (listed now when None). After an ambiguous failure, a document that was not
        there before is ours; none means the write did not happen and it is sent again.
        """
        known = document_ids(order_id) if before is None else before

        def send() -> Any:
            return self._call("POST", template, path_params={"id": order_id}, body=body, idempotent=False)

        def resolve() -> Any:
            new = document_ids(order_id) - known
            return max(new) if new else NOT_DONE

        return int(self._write(op, send, resolve))

    def _invoice_ids(self, order_id: int) -> set[int]:
        """The order's invoices, canceled ones (state 3) left out: an invoice just created never is."""
        return _ids(self.iter_invoices(_live_documents(order_id)))

    def _shipment_ids(self, order_id: int) -> set[int]:
        return _ids(self.iter_shipments(SearchCriteria().where("order_id", order_id)))

    def _creditmemo_ids(self, order_id: int) -> set[int]:
        """The order's credit memos, canceled ones (state 3) left out: a credit memo just created never is."""
        return _ids(self.iter_creditmemos(_live_documents(order_id)))

    # ------------------------------------------------------------------ invoices and credit memos

    def search_invoices(self, criteria: SearchCriteria | None) -> dict[str, Any]:
        """``GET /V1/invoices`` → ``{items, total_count, search_criteria}`` (retried)."""
        return self._search("/V1/invoices", criteria)

    def iter_invoices(self, criteria: SearchCriteria | None = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every invoice matching ``criteria``, page by page (see :meth:`_iterate`)."""
        return self._iterate(self.search_invoices, criteria, page_size)

    def search_creditmemos(self, criteria: SearchCriteria | None) -> dict[str, Any]:
        """``GET /V1/creditmemos`` → ``{items, total_count, search_criteria}`` (retried)."""
        return self._search("/V1/creditmemos", criteria)

    def iter_creditmemos(
        self, criteria: SearchCriteria | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every credit memo matching ``criteria``, page by page (see :meth:`_iterate`)."""
        return self._iterate(self.search_creditmemos, criteria, page_size)

    # ------------------------------------------------------------------ shipments

    def search_shipments(self, criteria: SearchCriteria | None) -> dict[str, Any]:
        """``GET /V1/shipments`` → ``{items, total_count, search_criteria}`` (retried)."""
        return self._search("/V1/shipments", criteria)

    def iter_shipments(self, criteria: SearchCriteria | None = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every shipment matching ``criteria``, page by page (see :meth:`_iterate`)."""
        return self._iterate(self.search_shipments, criteria, page_size)

    def get_shipment(self, shipment_id: int) -> dict[str, Any]:
        """``GET /V1/shipment/{id}`` (retried; :class:`CommerceNotFound` if absent)."""
        return self._get("/V1/shipment/{id}", path_params={"id": int(shipment_id)})

    def add_shipment_track(self, track: dict[str, Any]) -> dict[str, Any]:
        """``POST /V1/shipment/track`` with ``track`` as the entity (``parent_id`` = shipment id); returns it saved.

        Reads the shipment first; after a lost response, a track with the same
        number and carrier that was not there before is ours and is returned;
        otherwise it is sent again. A track carrying ``entity_id`` updates that
        track, which is idempotent, so it is retried like a read.
        """
        if track.get("entity_id"):  # an update of an existing track: re-applying it is harmless
            return self._call("POST", "/V1/shipment/track", body={"entity": track}, idempotent=True)
        shipment_id = int(track["parent_id"])
        key = (str(track.get("track_number")), str(track.get("carrier_code")))
        before = self._track_ids(shipment_id, key)

        def resolve() -> Any:
            tracks = self.get_shipment(shipment_id).get("tracks") or []
            new = [t for t in tracks if _track_key(t) == key and int(t["entity_id"]) not in before]
            return max(new, key=lambda t: int(t["entity_id"])) if new else NOT_DONE

        return self._write(
            "add_shipment_track",
            lambda: self._call("POST", "/V1/shipment/track", body={"entity": track}, idempotent=False),
            resolve,
        )

    def _track_ids(self, shipment_id: int, key: tuple[str, str]) -> set[int]:
        tracks = self.get_shipment(shipment_id).get("tracks") or []
        return {int(t["entity_id"]) for t in tracks if _track_key(t) == key}

    # ------------------------------------------------------------------ batches

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R | BaseException]:
        """Apply ``fn`` to every item on at most ``concurrency`` threads.

        Results come back in input order; an exception raised by ``fn`` is
        returned in its slot instead of being raised, so one bad order does not
        stop the batch. The HTTP pool is grown to at least ``concurrency``.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        work = list(items)
        if not work:
            return []
        self._ensure_pool(concurrency)
        results: list[R | BaseException] = []
        with ThreadPoolExecutor(max_workers=min(concurrency, len(work)), thread_name_prefix="commerce") as pool:
            futures = [pool.submit(fn, item) for item in work]
            for future in futures:
                error = future.exception()
                results.append(error if error is not None else future.result())
        return results


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    return response.json()


def _decode_error(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _ids(documents: Iterable[dict[str, Any]]) -> set[int]:
    return {int(d["entity_id"]) for d in documents}


def _live_documents(order_id: int) -> SearchCriteria:
    """An order's invoices or credit memos that are not canceled (Magento's state 3 for both)."""
    return SearchCriteria().where("order_id", order_id).where("state", 3, "neq")


def _track_key(track: dict[str, Any]) -> tuple[str, str]:
    return (str(track.get("track_number")), str(track.get("carrier_code")))
