"""Login with Amazon (LWA): refresh token -> access token, and access-token checks."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandbox import credentials
from sandbox.spapi.errors import ACCESS_DENIED, ApiError

TOKEN_LIFETIME = timedelta(hours=1)
#: The scopes of grantless operations (``grant_type=client_credentials``) the sandbox serves.
GRANTLESS_SCOPES = frozenset({"sellingpartnerapi::notifications"})
#: The key a grantless token authorises: the application, no seller.
GRANTLESS_PREFIX = "grantless:"


@dataclass
class LwaError(Exception):
    """An LWA OAuth error answer (``{"error": ..., "error_description": ...}``)."""

    status: int
    error: str
    description: str

    def body(self) -> dict[str, str]:
        return {"error_description": self.description, "error": self.error}


@dataclass
class _Grant:
    refresh_token: str
    expires_at: datetime


class LwaTokens:
    """Issues and checks LWA access tokens; the sandbox knows one app and one seller by default."""

    def __init__(self, clients: dict[str, str] | None = None, refresh_tokens: dict[str, str] | None = None) -> None:
        self._clients = clients or {credentials.LWA_CLIENT_ID: credentials.LWA_CLIENT_SECRET}
        self._refresh = refresh_tokens or {credentials.LWA_REFRESH_TOKEN: credentials.LWA_CLIENT_ID}
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def allow(self, refresh_token: str) -> None:
        """Accept ``refresh_token`` (a registered seller's) with the sandbox's client id."""
        with self._lock:
            self._refresh[refresh_token] = credentials.LWA_CLIENT_ID

    def forget(self, refresh_token: str) -> None:
        with self._lock:
            self._refresh.pop(refresh_token, None)
            self._grants = {t: g for t, g in self._grants.items() if g.refresh_token != refresh_token}

    def issue(self, form: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Answer a ``grant_type=refresh_token`` (or grantless ``client_credentials``) request or raise :class:`LwaError`."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise LwaError(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant_type == "client_credentials":
            return self._issue_grantless(form, now)
        if grant_type != "refresh_token":
            raise LwaError(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            )
        for name in ("refresh_token", "client_id", "client_secret"):
            if not form.get(name):
                raise LwaError(400, "invalid_request", f"The request is missing a required parameter : {name}")
        client_id, secret = str(form["client_id"]), str(form["client_secret"])
        if not secrets.compare_digest(self._clients.get(client_id, "\0"), secret):
            raise LwaError(401, "invalid_client", "Client authentication failed")
        refresh_token = str(form["refresh_token"])
        with self._lock:
            known = self._refresh.get(refresh_token)
        if known != client_id:
            raise LwaError(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        access_token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now - timedelta(days=1)}
            self._grants[access_token] = _Grant(refresh_token, now + TOKEN_LIFETIME)
        return {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        }

    def _issue_grantless(self, form: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A grantless token: the application's own, for the scope asked (no seller behind it)."""
        for name in ("scope", "client_id", "client_secret"):
            if not form.get(name):
                raise LwaError(400, "invalid_request", f"The request is missing a required parameter : {name}")
        client_id, secret = str(form["client_id"]), str(form["client_secret"])
        if not secrets.compare_digest(self._clients.get(client_id, "\0"), secret):
            raise LwaError(401, "invalid_client", "Client authentication failed")
        if str(form["scope"]) not in GRANTLESS_SCOPES:
            raise LwaError(400, "invalid_scope", "The request has an invalid parameter : scope")
        access_token = "Atc|" + secrets.token_urlsafe(48)
        with self._lock:
            self._grants[access_token] = _Grant(f"{GRANTLESS_PREFIX}{client_id}", now + TOKEN_LIFETIME)
        return {
            "access_token": access_token,
            "scope": str(form["scope"]),
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        }

    def authorize(self, access_token: str | None, now: datetime) -> str:
        """The refresh token (seller + app) behind a valid access token, else a 403 :class:`ApiError`."""
        if not access_token:
            raise ApiError(403, "Unauthorized", ACCESS_DENIED, "Access token is missing in the request header.")
        with self._lock:
            grant = self._grants.get(access_token)
        if grant is None:
            raise ApiError(
                403, "Unauthorized", ACCESS_DENIED, "The access token you provided is revoked, malformed or invalid."
            )
        if now >= grant.expires_at:
            raise ApiError(403, "Unauthorized", ACCESS_DENIED, "The access token you provided has expired.")
        return grant.refresh_token
