"""The ``commerce_api`` connection: an Adobe Commerce admin REST client for tasks.

Connection fields:

* **host**: the shop's base URL, e.g. ``http://127.0.0.1:8782`` (a bare host
  name gets ``schema`` or ``https`` as scheme, and **port** if set); the client
  appends ``/rest[/<store_code>]/V1/...``.
* **login** + **password**: an admin user; the client exchanges them for an
  admin token (reused, refreshed once on a 401).
* **password** without login: an integration access token, sent as the bearer.
* **extra** (JSON, all optional): ``store_code`` (route prefix, e.g. ``all`` or
  ``default``), ``timeout`` (s, default 30), ``max_retries`` (default 4),
  ``backoff`` (first retry delay in s, default 0.5), ``settle_delay`` (s to wait
  before looking up a timed-out write), ``max_connections`` (HTTP pool size).

Example::

    AIRFLOW_CONN_COMMERCE_API='{"conn_type": "http", "host": "http://127.0.0.1:8782",
        "login": "admin", "password": "...", "extra": {"store_code": "all"}}'
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from include.clients.commerce.client import CommerceClient
from include.clients.commerce.errors import CommerceError
from include.clients.commerce.search_criteria import SearchCriteria


class CommerceHook(BaseHook):
    """Builds a :class:`~include.clients.commerce.client.CommerceClient` from the ``commerce_api`` connection.

    :param commerce_conn_id: the Airflow connection id (default ``commerce_api``).
    :param overrides: client keyword arguments that win over the connection's
        extra (e.g. ``timeout=5`` for a sensor).
    """

    conn_name_attr = "commerce_conn_id"
    default_conn_name = "commerce_api"
    conn_type = "http"
    hook_name = "Adobe Commerce"

    def __init__(self, commerce_conn_id: str = default_conn_name, **overrides: Any) -> None:
        super().__init__()
        self.commerce_conn_id = commerce_conn_id
        self.overrides = overrides
        self._client: CommerceClient | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema"],
            "relabeling": {
                "host": "Base URL",
                "login": "Admin user (empty for an integration token)",
                "password": "Admin password or integration token",
            },
            "placeholders": {
                "host": "https://shop.example.com",
                "extra": '{"store_code": "all", "timeout": 30, "max_retries": 4}',
            },
        }

    def client_kwargs(self) -> dict[str, Any]:
        """The client's keyword arguments from the connection (secrets included: never log them)."""
        conn = self.get_connection(self.commerce_conn_id)
        extra = conn.extra_dejson or {}
        kwargs: dict[str, Any] = {"base_url": base_url(conn.host, conn.port, conn.schema)}
        if conn.login:
            kwargs.update(username=conn.login, password=conn.password)
        else:
            kwargs["token"] = conn.password
        if extra.get("store_code"):
            kwargs["store_code"] = str(extra["store_code"])
        for key, cast in (
            ("timeout", float),
            ("max_retries", int),
            ("backoff", float),
            ("settle_delay", float),
            ("max_connections", int),
        ):
            if extra.get(key) not in (None, ""):
                kwargs[key] = cast(extra[key])
        kwargs.update(self.overrides)
        return kwargs

    def get_conn(self) -> CommerceClient:
        """The hook's client (created once, reused by later calls)."""
        if self._client is None:
            self._client = CommerceClient(**self.client_kwargs())
        return self._client

    def get_client(self) -> CommerceClient:
        return self.get_conn()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and run a one-row order search (the Airflow UI's "Test" button)."""
        try:
            with CommerceClient(**self.client_kwargs()) as client:
                client.search_orders(SearchCriteria().page(1))
        except (CommerceError, ValueError) as exc:
            return False, str(exc)
        return True, "Connection successfully tested"


def base_url(host: str | None, port: int | None = None, schema: str | None = None) -> str:
    """The base URL from a connection's host (a URL or a bare host name), port and schema."""
    if not host:
        raise ValueError("the commerce_api connection needs a host (the shop's base URL)")
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"{schema or 'https'}://{host}"
    if port and host.count(":") < 2:
        scheme, rest = host.split("://", 1)
        netloc, _, path = rest.partition("/")
        host = f"{scheme}://{netloc}:{port}" + (f"/{path}" if path else "")
    return host
