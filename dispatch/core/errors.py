"""One family of domain errors, each with a stable ``code``.

The app maps them to RFC 9457 problem+json responses: ``type`` is
``https://tecnico.dev/problems/<code>``, ``status`` comes from the class, and
``field`` (when given) names the offending input. Packages subclass these
(``OrderNotFound(NotFound)``) rather than building responses by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://tecnico.dev/problems/"


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class InvalidState(Conflict):
    """The thing exists but is in a state that does not allow this (a 409)."""

    code = "invalid-state"
    title = "Not allowed in the current state"


class StaleVersion(Conflict):
    code = "stale-version"
    title = "The resource changed since you read it"


class ValidationFailed(DomainError):
    status = 422
    code = "validation-failed"
    title = "Invalid input"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Not allowed for your role"


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition-required"
    title = "If-Match header required"
