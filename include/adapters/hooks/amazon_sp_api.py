"""Airflow hook for the Amazon Selling Partner API, bound to the ``amazon_sp_api`` connection.

Connection fields (connection type ``http``):

* host: the SP-API base URL of the region, e.g. ``https://sellingpartnerapi-eu.amazon.com``
  (a bare host name is accepted too; then ``schema`` is the scheme, default https, and ``port`` is used);
* extra (JSON): ``lwa_client_id``, ``lwa_client_secret``, ``refresh_token`` (the LWA
  credentials of the application and the selling partner's authorisation),
  ``lwa_endpoint`` (default ``https://api.amazon.com/auth/o2/token``) and
  ``marketplace_ids`` (a list or a comma-separated string). ``login`` and ``password``
  may hold the client id and secret instead of the extra keys.

Optional extra keys: ``timeout`` (seconds) and ``max_retries``.

Example (environment variable, JSON form)::

    AIRFLOW_CONN_AMAZON_SP_API='{"conn_type": "http", "host": "https://sellingpartnerapi-na.amazon.com",
      "extra": {"lwa_client_id": "amzn1.application-oa2-client....", "lwa_client_secret": "...",
                "refresh_token": "Atzr|...", "marketplace_ids": "ATVPDKIKX0DER,A2EUQ1WTGCTBG2"}}'

All hooks of one connection in a process share one :class:`RatePacer`: the
quota belongs to the seller account, not to a client object.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from include.clients.amazon.client import DEFAULT_LWA_ENDPOINT, SpApiClient
from include.clients.amazon.rate_limit import RatePacer
from include.domain.marketplaces import marketplace as marketplace_info

_PACERS: dict[str, RatePacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(key: str) -> RatePacer:
    """The process-wide pacer for ``key`` (a connection id), created on first use."""
    with _PACERS_LOCK:
        if key not in _PACERS:
            _PACERS[key] = RatePacer()
        return _PACERS[key]


def _split_ids(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(i).strip() for i in items if str(i).strip()]


class SpApiHook(BaseHook):
    """Build :class:`~include.clients.amazon.client.SpApiClient` s from an Airflow connection.

    :param amazon_sp_api_conn_id: the connection id (default ``amazon_sp_api``).
    :param timeout: per-request timeout in seconds (overrides the connection's ``timeout`` extra).
    :param max_retries: retries for 429/5xx/transport errors (overrides ``max_retries`` extra).
    :param pacer: a pacer to use instead of the process-wide one of this connection.
    """

    conn_name_attr = "amazon_sp_api_conn_id"
    default_conn_name = "amazon_sp_api"
    conn_type = "http"
    hook_name = "Amazon SP-API"

    def __init__(
        self,
        amazon_sp_api_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        pacer: RatePacer | None = None,
    ) -> None:
        super().__init__()
        self.amazon_sp_api_conn_id = amazon_sp_api_conn_id
        self._timeout = timeout
        self._max_retries = max_retries
        self._pacer = pacer

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabel the generic connection form for SP-API."""
        return {
            "hidden_fields": [],
            "relabeling": {"host": "SP-API endpoint URL", "login": "LWA client id", "password": "LWA client secret"},
            "placeholders": {
                "host": "https://sellingpartnerapi-na.amazon.com",
                "extra": '{"refresh_token": "Atzr|...", "marketplace_ids": "ATVPDKIKX0DER", '
                '"lwa_endpoint": "https://api.amazon.com/auth/o2/token"}',
            },
        }

    @cached_property
    def connection(self):
        return self.get_connection(self.amazon_sp_api_conn_id)

    @cached_property
    def extra(self) -> dict[str, Any]:
        return dict(self.connection.extra_dejson or {})

    @property
    def endpoint(self) -> str:
        """The SP-API base URL from the connection's host (plus schema/port when the host is bare)."""
        conn = self.connection
        host = (conn.host or "").strip()
        if not host:
            raise ValueError(f"connection {self.amazon_sp_api_conn_id!r} has no host (the SP-API base URL)")
        if "://" in host:
            return host.rstrip("/")
        scheme = conn.schema or "https"
        return f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"

    @property
    def lwa_endpoint(self) -> str:
        return self.extra.get("lwa_endpoint") or DEFAULT_LWA_ENDPOINT

    @property
    def region(self) -> str | None:
        """NA, EU or FE from an Amazon SP-API host (``sellingpartnerapi-eu.amazon.com``); None for another host."""
        host = self.endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
        for region in ("na", "eu", "fe"):
            if host in (f"sellingpartnerapi-{region}.amazon.com", f"sandbox.sellingpartnerapi-{region}.amazon.com"):
                return region.upper()
        return None

    def marketplace_ids(self, client: SpApiClient | None = None) -> list[str]:
        """The marketplaces this seller syncs: extra ``marketplace_ids`` (a list or a comma-separated string), or,
        when the extra has none, those ``getMarketplaceParticipations`` says the seller participates in (``client``
        needed then). A marketplace of another region than the host's is refused with a clear error."""
        ids = _split_ids(self.extra.get("marketplace_ids"))
        if not ids and client is not None:
            ids = [
                p["marketplace"]["id"]
                for p in client.marketplace_participations()
                if (p.get("participation") or {}).get("isParticipating") and (p.get("marketplace") or {}).get("id")
            ]
        if not ids:
            raise ValueError(
                f"connection {self.amazon_sp_api_conn_id!r} has no marketplace_ids in its extra"
                + ("" if client is None else " and the seller participates in no marketplace")
            )
        region = self.region
        wrong = [m for m in ids if region and (info := marketplace_info(m)) and info.region != region]
        if wrong:
            raise ValueError(
                f"connection {self.amazon_sp_api_conn_id!r}: marketplace(s) {', '.join(wrong)} are not in region "
                f"{region} of its host; an account is one region (add another account for the others)"
            )
        return ids

    def get_client(self, *, grantless_scope: str | None = None) -> SpApiClient:
        """A new client for this connection (close it, or use it as a context manager).

        With ``grantless_scope`` (e.g. :data:`~include.clients.amazon.client.NOTIFICATIONS_SCOPE`), a client of the
        application alone (LWA ``client_credentials``) for grantless operations; no refresh token is used.
        """
        conn, extra = self.connection, self.extra
        client_id = extra.get("lwa_client_id") or conn.login
        client_secret = extra.get("lwa_client_secret") or conn.password
        refresh_token = None if grantless_scope else extra.get("refresh_token")
        missing = [
            name
            for name, value in (
                ("lwa_client_id", client_id),
                ("lwa_client_secret", client_secret),
                ("refresh_token", refresh_token or grantless_scope),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"connection {self.amazon_sp_api_conn_id!r} lacks {', '.join(missing)}")
        timeout = self._timeout if self._timeout is not None else float(extra.get("timeout", 30.0))
        max_retries = self._max_retries if self._max_retries is not None else int(extra.get("max_retries", 6))
        return SpApiClient(
            self.endpoint,
            lwa_endpoint=self.lwa_endpoint,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            grantless_scope=grantless_scope,
            timeout=timeout,
            max_retries=max_retries,
            pacer=self._pacer or shared_pacer(self.amazon_sp_api_conn_id),
        )

    def get_conn(self) -> SpApiClient:
        """Same as :meth:`get_client` (the BaseHook spelling)."""
        return self.get_client()

    def test_connection(self) -> tuple[bool, str]:
        """Check the LWA credentials by obtaining an access token (no SP-API quota is used)."""
        try:
            with self.get_client() as client:
                client.authenticate()
        except Exception as exc:  # reported to the UI, not raised
            return False, f"{type(exc).__name__}: {exc}"
        return True, "LWA access token obtained"
