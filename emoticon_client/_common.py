"""What the sync and the async client share: request parameters, file parts, and turning error responses into
our typed errors (``services.errors``), so both clients differ only in how they wait for I/O."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from services import errors
from services.contracts import ErrorInfo, RenderOptions, RenderSet, ToneChoice
from services.errors import EmoticonError

ImageInput = str | os.PathLike[str] | bytes | tuple[str, bytes]
DEFAULT_TIMEOUT_S = 60.0
SERVER_WAIT_S = 10.0  # the longest ``wait`` one request asks the server for (below its max_wait_s)
POLL_S = 0.2


class JobTimeout(TimeoutError):
    """The job (or batch) did not finish within the client's ``wait``; ``.job_id`` says which to ask later."""

    def __init__(self, message: str, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


def _error_classes() -> dict[str, type[EmoticonError]]:
    found: dict[str, type[EmoticonError]] = {}
    pending = [EmoticonError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__ == errors.__name__ and cls is not EmoticonError:
            found.setdefault(cls.code, cls)
    return found


ERRORS_BY_CODE: dict[str, type[EmoticonError]] = _error_classes()
# codes that are variants of a type (``empty_upload`` is an InvalidImage...) fall back to the status's type
ERRORS_BY_STATUS: dict[int, type[EmoticonError]] = {
    400: errors.InvalidImage,  # the service answers 400 only for uploads it cannot read
    401: errors.Unauthorized,
    404: errors.NotFound,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
    422: errors.InvalidRequest,
    429: errors.Overloaded,
    503: errors.ServiceUnavailable,
}


def error_from(code: str, message: str, http_status: int | None = None) -> EmoticonError:
    """The typed error for a code (``invalid_image`` -> ``InvalidImage``), else for the HTTP status, else a
    plain ``EmoticonError``; it keeps the server's code, message and status."""
    cls = (
        ERRORS_BY_CODE.get(code)
        or (ERRORS_BY_STATUS.get(http_status) if http_status else None)
        or EmoticonError
    )
    try:
        error = cls(message, code=code)
    except TypeError:  # a type with its own constructor (StoreFull takes retry_after_s)
        error = cls(message)
        error.code = code
    if http_status is not None:
        error.http_status = http_status
    return error


def job_error(info: ErrorInfo) -> EmoticonError:
    """The typed error of a failed job (a job that failed in a stage has a code but no HTTP status)."""
    return error_from(info.code, info.message)


def raise_for_error(response: httpx.Response) -> None:
    """Raise our typed error for a 4xx/5xx answer (``{"error": {"code", "message"}}``); ``Retry-After`` of a 429
    is kept as ``.retry_after`` (seconds)."""
    if response.status_code < 400:
        return
    try:
        body = response.json()["error"]
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{response.status_code}", response.text[:500] or response.reason_phrase
    error = error_from(code, message, response.status_code)
    retry_after = response.headers.get("retry-after")
    error.retry_after = float(retry_after) if retry_after and retry_after.isdigit() else None  # type: ignore[attr-defined]
    raise error


def file_part(image: ImageInput, default_name: str = "image") -> tuple[str, bytes]:
    """(file name, bytes) of a path, raw bytes or an explicit (name, bytes) pair."""
    if isinstance(image, tuple):
        return image
    if isinstance(image, bytes | bytearray | memoryview):
        return default_name, bytes(image)
    path = Path(image)
    return path.name, path.read_bytes()


def file_parts(images: Iterable[ImageInput]) -> list[tuple[str, tuple[str, bytes, str]]]:
    parts = []
    for index, image in enumerate(images):
        name, data = file_part(image, f"image-{index}")
        parts.append(("files", (name, data, "application/octet-stream")))
    return parts


def options_params(
    size: int, tone: ToneChoice, renders: RenderSet, callback_url: str | None
) -> dict[str, Any]:
    RenderOptions(size=size, tone=tone, renders=renders)  # our own validation, before any request
    params: dict[str, Any] = {"size": size, "tone": tone, "renders": renders}
    if callback_url is not None:
        params["callback_url"] = callback_url
    return params


def headers(api_key: str | None) -> dict[str, str]:
    return {"X-API-Key": api_key} if api_key else {}
