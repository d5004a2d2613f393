"""Reading an upload within the byte limit: a multipart ``file`` field or the raw request body.

The limit is checked twice: against ``Content-Length`` before a byte is read, and while the body streams in
(chunked uploads have no ``Content-Length``), so an oversized upload is never held in memory whole.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import Message

from services.errors import InvalidImage, InvalidRequest, PayloadTooLarge
from services.settings import Settings

MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around the file in a multipart body
FILE_FIELD = "file"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the upload is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or ``PayloadTooLarge`` as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InvalidRequest("Content-Length is not a number") from None
        if size > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _file_from_multipart(request: Request, body: bytes) -> bytes:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=16)
    except StarletteHTTPException as exc:
        raise InvalidRequest(f"malformed multipart body: {exc.detail}") from None
    try:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise InvalidRequest(f"a multipart upload needs its image in a file field named {FILE_FIELD!r}")
        return await upload.read()
    finally:
        await form.close()


async def read_upload(request: Request, settings: Settings) -> bytes:
    """The uploaded image's bytes (at most ``settings.max_upload_bytes``), from a multipart ``file`` field or
    the raw body; an empty upload is ``InvalidImage``."""
    limit = settings.max_upload_bytes
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        data = await _file_from_multipart(request, await read_body(request, limit + MULTIPART_OVERHEAD_BYTES))
        if len(data) > limit:
            raise _too_large(limit)
    else:
        data = await read_body(request, limit)
    if not data:
        raise InvalidImage("the upload is empty", code="empty_upload")
    return data
