"""Fault injection shared by both sandboxes.

A :class:`FaultInjector` wraps an ASGI app. Operators (tests, benchmarks, the
demo) configure it through ``PUT /_sandbox/faults`` with a body like::

    {"seed": 7, "latency_ms": 50,
     "rules": [{"kind": "503", "rate": 0.2, "method": "PUT", "path": "/V1/orders/create"},
               {"kind": "lost_response", "count": 1, "path": "shipmentConfirmation"}]}

``kind`` is one of ``400`` (a permanent refusal), ``500``, ``503``, ``429``, ``slow`` (answer after ``delay_s``),
``timeout`` (hold the request ``delay_s`` then answer 504 *without* running it)
and ``lost_response`` (run the request, commit its writes, then drop the
connection mid-response so the client never learns the outcome). ``rate`` is
the probability per matching request (default 1), ``count`` caps how often a
rule fires, ``method`` and ``path`` (a regular expression searched in the URL
path) select requests. Decisions come from ``random.Random(seed)`` so a
scenario replays identically. ``latency_ms`` delays every non-admin request.
Paths under ``/_sandbox`` are never faulted. ``GET /_sandbox/faults`` also
reports ``requests``: the API requests served since the last reset (benchmarks
use it to count calls).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("400", "500", "503", "429", "slow", "timeout", "lost_response")


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    count: int | None = None
    method: str | None = None
    path: str | None = None
    delay_s: float = 5.0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if not 0 <= self.rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        self._pattern = re.compile(self.path) if self.path else None

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not self._pattern or bool(self._pattern.search(path))


@dataclass
class FaultConfig:
    seed: int = 0
    latency_ms: float = 0
    rules: list[FaultRule] = field(default_factory=list)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultConfig:
        rules = [FaultRule(**{k: v for k, v in r.items() if k != "fired"}) for r in body.get("rules", [])]
        return cls(seed=int(body.get("seed", 0)), latency_ms=float(body.get("latency_ms", 0)), rules=rules)

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "latency_ms": self.latency_ms, "rules": [asdict(r) for r in self.rules]}


_ERROR_BODIES = {
    "400": b'{"errors":[{"code":"InvalidInput","message":"Invalid input (an injected fault)."}]}',
    "500": b'{"errors":[{"code":"InternalFailure","message":"We encountered an internal error. Please try again."}]}',
    "503": b'{"errors":[{"code":"ServiceUnavailable","message":"Service temporarily unavailable. Please try again."}]}',
    "429": b'{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource."}]}',
    "504": b'{"errors":[{"code":"GatewayTimeout","message":"The request timed out."}]}',
}


class FaultInjector:
    """ASGI middleware applying the configured faults, with its own admin route."""

    def __init__(self, app: Any, error_bodies: dict[str, bytes] | None = None) -> None:
        self.app = app
        self.config = FaultConfig()
        self._rng = random.Random(0)
        self._lock = threading.Lock()
        self._bodies = {**_ERROR_BODIES, **(error_bodies or {})}
        #: API requests seen since the last reset (admin paths excluded), for benchmarks.
        self.requests = 0

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)

    def reset(self) -> None:
        self.configure(FaultConfig())
        self.requests = 0

    def _pick(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self.config.rules:
                if rule.matches(method, path) and self._rng.random() < rule.rate:
                    rule.fired += 1
                    return rule
        return None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == "/_sandbox/faults":
            await self._admin(method, receive, send)
            return
        if path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        self.requests += 1
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        rule = self._pick(method, path)
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.kind in ("400", "500", "503", "429"):
            await _send_json(
                send, int(rule.kind), self._bodies[rule.kind], {"retry-after": "1"} if rule.kind == "429" else {}
            )
        elif rule.kind == "slow":
            await asyncio.sleep(rule.delay_s)
            await self.app(scope, receive, send)
        elif rule.kind == "timeout":
            await asyncio.sleep(rule.delay_s)
            await _send_json(send, 504, self._bodies["504"])
        else:  # lost_response: let the write commit, then break the connection
            await self.app(scope, receive, _LostResponse(send))

    async def _admin(self, method: str, receive: Any, send: Any) -> None:
        if method == "PUT":
            body = await _read_body(receive)
            try:
                self.configure(FaultConfig.from_json(json.loads(body or b"{}")))
            except (ValueError, TypeError) as exc:
                await _send_json(send, 400, json.dumps({"message": str(exc)}).encode())
                return
        elif method == "DELETE":
            self.reset()
        elif method != "GET":
            await _send_json(send, 405, b'{"message":"method not allowed"}')
            return
        await _send_json(send, 200, json.dumps({**self.config.to_json(), "requests": self.requests}).encode())


class ResponseLost(Exception):
    """Raised inside the server to drop a connection after the handler committed."""


class _LostResponse:
    """Wraps ``send``: announces a longer body than it sends, then aborts."""

    def __init__(self, send: Any) -> None:
        self._send = send

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
            # a 204/304 may not carry a body, so the truncation would go unnoticed: announce a 200
            status = 200 if message.get("status") in (204, 304) else message.get("status")
            await self._send({**message, "status": status, "headers": [*headers, (b"content-length", b"100000")]})
            await self._send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ResponseLost("response dropped by fault injection")


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Any, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
