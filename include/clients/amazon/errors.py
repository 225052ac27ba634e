"""Errors raised by the SP-API client."""

from __future__ import annotations

import json
from typing import Any


class SpApiError(Exception):
    """An SP-API (or Login with Amazon) call that failed with an HTTP error.

    ``code``/``message``/``details`` are Amazon's first error entry
    (``{"errors": [{"code", "message", "details"}]}``; LWA's ``error`` and
    ``error_description`` map to ``code`` and ``message``). 4xx errors are
    raised at once (except a throttled 429 and one expired-token 403); 429 and
    5xx are raised only once retries are exhausted, with ``retryable`` true.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        *,
        operation: str | None = None,
        request_id: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details or None
        self.operation = operation
        self.request_id = request_id
        self.errors = errors or [{"code": code, "message": message, **({"details": details} if details else {})}]
        super().__init__(str(self))

    @property
    def retryable(self) -> bool:
        """True for throttling and server errors (worth retrying later), false for client errors."""
        return self.status == 429 or self.status >= 500

    def __str__(self) -> str:
        where = f"{self.operation} " if self.operation else ""
        text = f"{where}HTTP {self.status} {self.code}: {self.message}"
        if self.details:
            text += f" ({self.details})"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text

    def __reduce__(self):  # keep the exception picklable (Airflow serialises task failures)
        return (
            _rebuild,
            (self.status, self.code, self.message, self.details, self.operation, self.request_id, self.errors),
        )

    @classmethod
    def from_response(cls, status: int, body: bytes, *, operation: str | None, request_id: str | None) -> SpApiError:
        """Build the error from a response body in SP-API or LWA form (any other body gives a generic code)."""
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            errors = payload.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                first = errors[0]
                return cls(
                    status,
                    str(first.get("code") or f"HTTP{status}"),
                    str(first.get("message") or ""),
                    first.get("details") or None,
                    operation=operation,
                    request_id=request_id,
                    errors=[e for e in errors if isinstance(e, dict)],
                )
            if "error" in payload:  # Login with Amazon (OAuth 2) error body
                return cls(
                    status,
                    str(payload["error"]),
                    str(payload.get("error_description") or ""),
                    operation=operation,
                    request_id=request_id,
                )
        return cls(
            status, f"HTTP{status}", "unexpected response from the server", operation=operation, request_id=request_id
        )


def _rebuild(status, code, message, details, operation, request_id, errors) -> SpApiError:
    return SpApiError(status, code, message, details, operation=operation, request_id=request_id, errors=errors)
