"""Magento's web API error bodies: ``{"message": ..., "parameters": ...}``."""

from __future__ import annotations

import secrets
from typing import Any

NO_SUCH_ENTITY = "The entity that was requested doesn't exist. Verify the entity and try again."
NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
NO_ROUTE = "Request does not match any route."
SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later."
)
PRODUCT_MISSING = "The product that was requested doesn't exist. Verify the product and try again."
REQUIRED_FIELD = '"%fieldName" is required. Enter and try again.'
INVALID_FIELD = 'Invalid value of "%value" provided for the %fieldName field.'


class MagentoError(Exception):
    """An error the web API answers with Magento's body and HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        parameters: dict[str, Any] | list[Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = parameters
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str, parameters: dict[str, Any] | list[Any] | None = None) -> MagentoError:
    """LocalizedException / InputException: HTTP 400."""
    return MagentoError(400, message, parameters)


def not_found(message: str = NO_SUCH_ENTITY, parameters: dict[str, Any] | list[Any] | None = None) -> MagentoError:
    """NoSuchEntityException: HTTP 404."""
    return MagentoError(404, message, parameters)


def required(field: str) -> MagentoError:
    return bad_request(REQUIRED_FIELD, {"fieldName": field})


def internal_error() -> MagentoError:
    """What Magento's production mode answers for an unexpected (e.g. SQL) error."""
    report = "webapi-" + secrets.token_hex(7)[:13]
    return MagentoError(500, f"Internal Error. Details are available in Magento log file. Report ID: {report}")


def unauthorized(resource: str) -> MagentoError:
    return MagentoError(401, NOT_AUTHORIZED, {"resources": resource})


#: Error bodies for the fault injector (Magento answers ``{"message": ...}`` for server errors).
FAULT_BODIES = {
    "500": b'{"message":"Internal Error. Details are available in Magento log file. Report ID: webapi-sandboxfault"}',
    "503": b'{"message":"Service Temporarily Unavailable"}',
    "504": b'{"message":"Gateway Time-out"}',
    "429": b'{"message":"Too Many Requests"}',
}
