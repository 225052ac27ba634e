"""Buyer data in transit: both clients speak HTTPS with verified certificates, plain HTTP only to loopback.

Amazon's Data Protection Policy requires encryption in transit. The SP-API and
Commerce clients check their base URLs with :func:`require_secure_url` before
any request and build their ``httpx`` clients with :data:`VERIFY_TLS` (the
system's CA bundle via ``certifi``; never switched off). Plain ``http://`` is
accepted only for a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``):
the local sandboxes.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: What the clients pass to ``httpx.Client(verify=...)``: certificates are always checked.
VERIFY_TLS = True


class InsecureEndpoint(ValueError):
    """A base URL that would send data unencrypted (or without a scheme we know)."""


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (a loopback address or ``localhost``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str, what: str) -> str:
    """``url`` if it is ``https://``, or ``http://`` to a loopback address; else :class:`InsecureEndpoint`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(parts.hostname)):
        return url
    shown = f"{scheme}://{parts.hostname or ''}" if scheme else repr(url.split("?")[0][:80])
    raise InsecureEndpoint(
        f"{what} {shown} refused: data goes only over https:// (plain http:// only to a loopback address "
        "such as 127.0.0.1, the local sandboxes)"
    )
