"""Every error the gateway returns has one shape, ``{"error": {"code", "message"}}``, built in one place.

FastAPI's validation errors and Starlette's HTTP errors (404 for unknown routes, 405...) are first turned into
``EmoticonError``s, so ``error_response`` is the only function that writes an error body.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import EmoticonError, InvalidRequest, NotFound

log = logging.getLogger(__name__)

HTTP_STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "overloaded",
}


def error_response(exc: EmoticonError) -> JSONResponse:
    """The one mapping: ``exc.http_status`` and ``{"error": {"code", "message"}}``; ``exc.headers`` (a dict, when
    the raiser set one, e.g. ``Retry-After``) is passed on."""
    headers = getattr(exc, "headers", None)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}}, status_code=exc.http_status, headers=headers
    )


def validation_message(exc: RequestValidationError) -> str:
    """``query.size: Input should be less than or equal to 1024; ...`` from pydantic's error list."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def as_emoticon_error(exc: StarletteHTTPException) -> EmoticonError:
    if exc.status_code == 404:
        return NotFound(str(exc.detail) if exc.detail != "Not Found" else "no such resource")
    error = EmoticonError(str(exc.detail), code=HTTP_STATUS_CODES.get(exc.status_code, "http_error"))
    error.http_status = exc.status_code
    if exc.headers:
        error.headers = dict(exc.headers)  # type: ignore[attr-defined]
    return error


async def _on_emoticon_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EmoticonError)
    if exc.http_status >= 500:
        log.warning(
            "request failed", extra={"path": request.url.path, "code": exc.code, "error": exc.message}
        )
    return error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(InvalidRequest(validation_message(exc)))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(as_emoticon_error(exc))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    error = EmoticonError("internal server error", code="internal_error")
    error.http_status = 500
    return error_response(error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EmoticonError, _on_emoticon_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
