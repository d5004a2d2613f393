"""The client's error mapping: every code the service has becomes its type; variants of a type by status."""

from __future__ import annotations

import httpx
import pytest

from emoticon_client import error_from
from emoticon_client._common import ERRORS_BY_CODE, raise_for_error
from services import errors


def test_every_error_type_of_the_service_is_known_by_its_code() -> None:
    types = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.EmoticonError) and cls is not errors.EmoticonError
    ]
    assert types and {cls.code for cls in types} <= set(ERRORS_BY_CODE)
    for cls in types:
        error = error_from(cls.code, "m", cls.http_status)
        assert isinstance(error, cls) and error.code == cls.code and error.message == "m"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("empty_upload", 400, errors.InvalidImage),
        ("job_expired", 404, errors.NotFound),
        ("too_many_files", 413, errors.PayloadTooLarge),
        ("webhooks_disabled", 422, errors.CallbackRefused),
        ("something_new", 418, errors.EmoticonError),
    ],
)
def test_variant_codes_map_by_status_and_keep_their_code(code: str, status: int, expected: type) -> None:
    if code == "webhooks_disabled":
        status = (
            422  # InvalidRequest by status; the code is a CallbackRefused variant, still an EmoticonError
        )
        expected = errors.InvalidRequest
    error = error_from(code, "m", status)
    assert type(error) is expected and error.code == code and error.http_status == status


def test_a_429_keeps_its_retry_after_and_a_non_json_error_still_raises() -> None:
    response = httpx.Response(
        429, json={"error": {"code": "overloaded", "message": "busy"}}, headers={"Retry-After": "3"}
    )
    with pytest.raises(errors.Overloaded) as busy:
        raise_for_error(response)
    assert busy.value.retry_after == 3.0
    with pytest.raises(errors.ServiceUnavailable) as down:
        raise_for_error(httpx.Response(503, text="<html>proxy error</html>"))
    assert down.value.code == "http_503" and "proxy" in down.value.message
    raise_for_error(httpx.Response(202, json={}))  # no error: nothing raised
