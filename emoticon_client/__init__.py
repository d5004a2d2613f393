"""A Python client of the Emoticon HTTP API, blocking and asyncio, on httpx.

    from emoticon_client import EmoticonClient, InvalidImage

    with EmoticonClient("http://127.0.0.1:8000", api_key=None) as client:
        job = client.analyze("group.jpg", wait=30)          # a JobView, the service's own pydantic model
        for face in job.result.faces:
            print(face.index, face.attributes.emotion.label, face.emoji)
        svg = client.face_svg(job, 0)
        batch = client.submit_batch(["a.jpg", "b.png"])       # then client.batch_results(batch.id): lines

Errors are the service's own types (``services.errors``): a rejected upload or a failed job raises
``InvalidImage``, ``PayloadTooLarge``, ``NotFound``, ``Overloaded`` (``.retry_after``)... each with its
stable ``.code``. ``verify_signature`` checks a webhook on the receiving side.
"""

from emoticon_client._async import AsyncEmoticonClient
from emoticon_client._common import JobTimeout, error_from
from emoticon_client._sync import EmoticonClient
from gateway.schemas import BatchCreated, BatchView, JobView, RenderedJson
from services.contracts import BatchResultLine, FaceAttributes, ImageResult, RenderOptions
from services.errors import (
    CallbackRefused,
    EmoticonError,
    InvalidImage,
    InvalidRequest,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from services.webhooks import verify_signature

__all__ = [
    "AsyncEmoticonClient",
    "BatchCreated",
    "BatchResultLine",
    "BatchView",
    "CallbackRefused",
    "EmoticonClient",
    "EmoticonError",
    "FaceAttributes",
    "ImageResult",
    "InvalidImage",
    "InvalidRequest",
    "JobTimeout",
    "JobView",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "RenderOptions",
    "RenderedJson",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_from",
    "verify_signature",
]
