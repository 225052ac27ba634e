"""Exceptions raised by the Commerce client, carrying Magento's own error message.

Magento answers errors as ``{"message": "...%1...", "parameters": [...]}`` (or
named parameters ``{"fieldName": "email"}`` for ``%fieldName``); the client
substitutes the parameters the way Magento's ``Placeholder`` phrase renderer
does, so the exception reads exactly like the message Commerce shows.
"""

from __future__ import annotations

import re
from typing import Any


def format_magento_message(message: str, parameters: Any = None) -> str:
    """Substitute ``%1``/``%2`` (positional) and ``%name`` (named) placeholders like Magento.

    Positional parameters come as a JSON list (``%1`` is the first item); named
    parameters as an object, or as objects inside the list. Replacement is a
    single pass that prefers the longest placeholder (``%10`` before ``%1``), as
    PHP's ``strtr`` does, and leaves unknown placeholders untouched.
    """
    if not parameters:
        return message
    pairs: dict[str, str] = {}
    if isinstance(parameters, dict):
        pairs.update({f"%{key}": _text(value) for key, value in parameters.items()})
    elif isinstance(parameters, list | tuple):
        for index, value in enumerate(parameters):
            if isinstance(value, dict):
                pairs.update({f"%{key}": _text(v) for key, v in value.items()})
            else:
                pairs[f"%{index + 1}"] = _text(value)
    if not pairs:
        return message
    pattern = re.compile("|".join(re.escape(p) for p in sorted(pairs, key=len, reverse=True)))
    return pattern.sub(lambda match: pairs[match.group(0)], message)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


class CommerceError(Exception):
    """A Commerce REST call failed.

    ``message`` is Magento's message with its parameters substituted,
    ``template``/``parameters`` the raw parts, ``status`` the HTTP status (None for
    transport failures), ``method``/``path`` the call (path as a template, no ids
    or search values), ``errors`` Magento's per-field error list when present.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        parameters: Any = None,
        template: str | None = None,
        method: str | None = None,
        path: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.parameters = parameters
        self.template = template if template is not None else message
        self.method = method
        self.path = path
        self.errors = errors or []
        super().__init__(message)

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.path) if part)
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"{self.message} ({status}{', ' + where if where else ''})"

    @classmethod
    def from_response(
        cls, status: int, body: Any, *, method: str | None = None, path: str | None = None
    ) -> CommerceError:
        """Build the right subclass from an HTTP status and a decoded error body."""
        template, parameters, errors = _parse_error_body(body)
        if not template:
            template = f"Commerce answered HTTP {status}"
        message = format_magento_message(template, parameters)
        if errors:
            details = [format_magento_message(e.get("message", ""), e.get("parameters")) for e in errors]
            extra = "; ".join(d for d in details if d and d != message)
            if extra:
                message = f"{message}: {extra}"
        kind = error_class_for(status)
        return kind(
            message, status=status, parameters=parameters, template=template, method=method, path=path, errors=errors
        )


class CommerceClientError(CommerceError):
    """A 4xx answer: the request was rejected as sent (never retried)."""


class CommerceAuthError(CommerceClientError):
    """401/403: bad credentials or token, after one token refresh where possible."""


class CommerceNotFound(CommerceClientError):
    """404: the entity (or route) does not exist."""


class CommerceUnavailable(CommerceError):
    """5xx, 429 or transport failures that outlasted the retries."""


class CommerceOutcomeUnknown(CommerceUnavailable):
    """A create/action whose outcome could not be established.

    Raised when the response was lost and the look-up that would have told
    whether it took effect failed too. Nothing was re-sent; a later run resolves
    it through the same look-up (e.g. orders by ``ext_order_id``).
    """


def error_class_for(status: int) -> type[CommerceError]:
    if status in (401, 403):
        return CommerceAuthError
    if status == 404:
        return CommerceNotFound
    if 400 <= status < 500 and status != 429:
        return CommerceClientError
    return CommerceUnavailable


def _parse_error_body(body: Any) -> tuple[str, Any, list[dict[str, Any]]]:
    """Magento's ``{message, parameters, errors}``; tolerates other gateways' ``{errors: [{message}]}``."""
    if isinstance(body, dict):
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        errors = [e for e in errors if isinstance(e, dict)]
        message = body.get("message")
        if isinstance(message, str) and message:
            return message, body.get("parameters"), errors
        if errors:
            first = errors[0]
            return str(first.get("message", "")), first.get("parameters"), errors[1:]
    if isinstance(body, str):
        return body[:500], None, []
    return "", None, []
