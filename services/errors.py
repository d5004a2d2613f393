"""Errors are types: every rejection the service makes is one of these, mapped once to an HTTP status.

The gateway turns any ``EmoticonError`` into ``{"error": {"code", "message"}}`` with ``http_status``; the CLI
prints ``code: message`` for the file and goes on.
"""

from __future__ import annotations


class EmoticonError(Exception):
    code: str = "error"
    http_status: int = 400

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidImage(EmoticonError):
    """The bytes are not an image we can read (not an image, truncated, empty, animated beyond frame 0...)."""

    code = "invalid_image"
    http_status = 400


class UnsupportedMediaType(EmoticonError):
    """An image, but of a type we do not accept (checked by content, not extension)."""

    code = "unsupported_media_type"
    http_status = 415


class PayloadTooLarge(EmoticonError):
    """Too many bytes, or too many pixels (decompression bomb)."""

    code = "payload_too_large"
    http_status = 413


class InvalidRequest(EmoticonError):
    code = "invalid_request"
    http_status = 422


class NotFound(EmoticonError):
    code = "not_found"
    http_status = 404


class Overloaded(EmoticonError):
    """The queue is deeper than the configured limit; the client should retry later."""

    code = "overloaded"
    http_status = 429


class ImageTooSmall(EmoticonError):
    """A readable image whose shorter side is below ``settings.min_face_px``: no face we keep fits in it."""

    code = "image_too_small"
    http_status = 422


class ExtremeAspectRatio(EmoticonError):
    """A readable image longer than ``settings.max_aspect_ratio`` times its width (or the other way round)."""

    code = "extreme_aspect_ratio"
    http_status = 422


class StoreFull(EmoticonError):
    """The job store's byte budget (``settings.store_max_bytes``) is taken by unfinished jobs; retry later.
    Raised with a ``Retry-After`` header (``headers``)."""

    code = "store_full"
    http_status = 503

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


class Unauthorized(EmoticonError):
    code = "unauthorized"
    http_status = 401


class ModelError(EmoticonError):
    """A model file is missing or does not match the manifest (sha256, labels): an operator problem."""

    code = "model_error"
    http_status = 503


class ServiceUnavailable(EmoticonError):
    """A backing service (Redis, the workers) does not answer; the client may retry."""

    code = "service_unavailable"
    http_status = 503


class CallbackRefused(EmoticonError):
    """A ``callback_url`` the server will not call: not http(s), unresolvable, or an address that is private,
    loopback or link-local (and not in ``EMOTICON_WEBHOOK_ALLOW``); or webhooks are not configured."""

    code = "callback_refused"
    http_status = 422
