"""SP-API error bodies (the ``ErrorList`` shape shared by Orders v0 and v2026-01-01)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACCESS_DENIED = "Access to requested resource is denied."
QUOTA_EXCEEDED = "You exceeded your quota for the requested resource."


@dataclass
class ApiError(Exception):
    """An SP-API error answer: HTTP status plus one ``Error`` entry."""

    status: int
    code: str
    message: str
    details: str | None = None

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"errors": [error]}


def invalid_input(message: str, details: str | None = None) -> ApiError:
    """400 ``InvalidInput``, the code SP-API uses for every parameter problem."""
    return ApiError(400, "InvalidInput", message, details)
