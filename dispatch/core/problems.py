"""Every 4xx/5xx leaves as RFC 9457 problem+json; handlers never build errors by hand."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.core.errors import PROBLEM_BASE, DomainError

log = logging.getLogger("tecnico")

PROBLEM_JSON = "application/problem+json"

_HTTP_CODES = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 406: "not-acceptable", 409: "conflict", 413: "too-large",
    415: "unsupported-media-type", 422: "validation-failed", 428: "precondition-required",
}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.problem(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid input"}
        return problem_response({
            "type": PROBLEM_BASE + "validation-failed",
            "title": "Invalid input",
            "status": 422,
            "detail": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": errors,
        })

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http-error")
        return problem_response({
            "type": PROBLEM_BASE + code,
            "title": code.replace("-", " ").capitalize(),
            "status": exc.status_code,
            "detail": str(exc.detail),
        }, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response({
            "type": PROBLEM_BASE + "internal-error",
            "title": "Internal server error",
            "status": 500,
            "detail": f"{type(exc).__name__}: the error was logged",
        })
