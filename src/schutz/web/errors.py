"""Domain errors to status codes: JSON for the API, a friendly page for people; no traces."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from schutz.errors import Conflict, Denied, InvalidInput, NotFound, SchutzError, Unauthenticated
from schutz.vault.crypto import IntegrityCheckError
from schutz.web.templating import render

log = logging.getLogger("schutz.web")

STATUS = {
    InvalidInput: 422,
    NotFound: 404,
    Denied: 403,
    Unauthenticated: 401,
    Conflict: 409,
}


class Revert(Exception):
    """Answer with `response` and keep nothing the request wrote (a form shown again with
    its errors, a link that no longer works): the unit of work rolls back."""

    def __init__(self, response: Response) -> None:
        super().__init__("reverted")
        self.response = response


class Busy(Exception):
    """Every database turn was taken for longer than a request may wait (503)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def _respond(request: Request, status: int, detail: object, **extra: object) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": detail, **extra}, status_code=status)
    message = detail if isinstance(detail, str) else None
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def error_response(request: Request, status: int, detail: str) -> Response:
    """The answer routes' errors get, for middleware that refuses before any route runs."""
    return _respond(request, status, detail)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SchutzError)
    async def domain_error(request: Request, exc: SchutzError) -> Response:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        extra: dict[str, object] = {}
        if isinstance(exc, Denied):
            extra["reason"] = exc.reason
            if exc.rule:
                extra["rule"] = exc.rule
        return _respond(request, status, str(exc), **extra)

    @app.exception_handler(IntegrityCheckError)
    async def integrity_failure(request: Request, exc: IntegrityCheckError) -> Response:
        # A stored blob was altered or moved; where the vault found it on a read, the
        # incident is in the audit log (the route kept that entry).
        log.error("integrity check failed on %s %s", request.method, request.url.path)
        return _respond(request, 500, "stored data failed its integrity check")

    @app.exception_handler(Revert)
    async def reverted(_request: Request, exc: Revert) -> Response:
        return exc.response

    @app.exception_handler(Busy)
    async def busy(_request: Request, exc: Busy) -> Response:
        # JSON for everyone: under overload the cheapest answer is the kindest.
        return JSONResponse(
            {"detail": "the server is busy; try again shortly"},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = _respond(request, exc.status_code, exc.detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Pydantic echoes the offending input back; drop it, it may be personal data.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return _respond(request, 422, errors)

    _document_error_shapes(app)

    @app.exception_handler(UnicodeEncodeError)
    async def unencodable(request: Request, exc: UnicodeEncodeError) -> Response:
        # JSON may escape a lone UTF-16 surrogate ("\\ud800"); no text we store can hold one.
        # The route raised before it committed, so nothing of the request was kept.
        return _respond(request, 422, "text contains an unpaired surrogate (\\ud800-\\udfff)")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The type only: messages of unexpected errors may carry personal data.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return _respond(request, 500, "Internal error; it has been logged.")


def _document_error_shapes(app: FastAPI) -> None:
    """Say in the OpenAPI document that a 422's `detail` is a list *or* one sentence.

    FastAPI documents only its own validation errors (a list); a domain refusal such as
    "source 'x' is not in the policy" answers 422 with a string, and clients (and the
    schemathesis run in tests/fuzz) must find that shape in the schema too.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if error is not None:
            listed = error["properties"]["detail"]
            error["properties"]["detail"] = {
                "anyOf": [listed, {"type": "string"}],
                "title": "Detail",
            }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
