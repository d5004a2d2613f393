"""services.webhooks as pure functions: the signature, the SSRF guard (with a resolver that returns what a DNS
server could), the backoff, and delivery over httpx's in-memory transport (nothing leaves the process; a
refused URL must not even reach the transport). tests/integration/test_webhooks.py does it for real."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from services.errors import CallbackRefused
from services.settings import Settings
from services.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Outcome,
    Webhook,
    attempt_delivery,
    backoff_s,
    check_callback_url,
    deliver,
    sign,
    verify_signature,
)

SECRET = "s3cret"


def settings(**overrides: object) -> Settings:
    return Settings(webhook_secret=SECRET, webhook_backoff_s=0.5, webhook_backoff_max_s=3, **overrides)


def resolver_for(table: dict[str, list[str]]):
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError(f"{host}: no such name")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


# ---- signature ---------------------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id": "x"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1700000000", body) == f"sha256={expected}"


def test_verify_accepts_the_signature_and_refuses_tampering_and_old_calls() -> None:
    body = b'{"status": "done"}'
    signature = sign(SECRET, "1700000000", body)
    assert verify_signature(SECRET, body, "1700000000", signature, now=1700000010)
    assert not verify_signature(SECRET, body + b" ", "1700000000", signature, now=1700000010)
    assert not verify_signature("other", body, "1700000000", signature, now=1700000010)
    assert not verify_signature(SECRET, body, "1700000001", signature, now=1700000010)
    assert not verify_signature(SECRET, body, "1700000000", signature, now=1700000000 + 301)
    assert not verify_signature(SECRET, body, "not-a-time", signature, now=1700000000)


# ---- the SSRF guard ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://127.9.9.9/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        check_callback_url(url, settings(), resolver_for({}))
    assert refused.value.code == "callback_refused" and refused.value.http_status == 422


def test_every_resolved_address_is_checked() -> None:
    resolve = resolver_for(
        {"mixed.example": ["93.184.215.14", "10.0.0.7"], "public.example": ["93.184.215.14"]}
    )
    with pytest.raises(CallbackRefused, match="10.0.0.7"):
        check_callback_url("https://mixed.example/hook", settings(), resolve)
    target = check_callback_url("https://public.example:8443/hook?x=1", settings(), resolve)
    assert target.addresses == ("93.184.215.14",)
    assert target.url_for("93.184.215.14") == "https://93.184.215.14:8443/hook?x=1"
    assert target.host_header == "public.example:8443"
    assert resolve.calls == ["mixed.example", "public.example"]


def test_names_that_resolve_to_loopback_are_refused() -> None:
    resolve = resolver_for({"localhost": ["127.0.0.1", "::1"], "sneaky.example": ["::ffff:10.0.0.1"]})
    for url in ("http://localhost:8000/", "http://sneaky.example/"):
        with pytest.raises(CallbackRefused):
            check_callback_url(url, settings(), resolve)


def test_the_allow_list_admits_listed_addresses_networks_and_names_only() -> None:
    resolve = resolver_for({"localhost": ["127.0.0.1", "::1"], "hooks.internal": ["10.2.3.4"]})
    allowed = settings(webhook_allow=["127.0.0.1", "10.2.0.0/16", "hooks.internal"])
    assert check_callback_url("http://127.0.0.1:9000/h", allowed, resolve).addresses == ("127.0.0.1",)
    assert check_callback_url("http://10.2.200.1/h", allowed, resolve).addresses == ("10.2.200.1",)
    assert check_callback_url("http://hooks.internal/h", allowed, resolve).addresses == ("10.2.3.4",)
    with pytest.raises(CallbackRefused, match="::1"):  # 127.0.0.1 is listed, ::1 is not
        check_callback_url("http://localhost:9000/h", allowed, resolve)
    with pytest.raises(CallbackRefused):
        check_callback_url("http://127.0.0.2/h", allowed, resolve)
    with pytest.raises(CallbackRefused):
        check_callback_url("http://10.3.0.1/h", allowed, resolve)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://93.184.215.14/x", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("http://user:pw@93.184.215.14/x", "credentials"),
        ("http:///x", "no host"),
        ("http://93.184.215.14:99999/x", "not a valid URL"),
        ("http://nowhere.invalid/x", "does not resolve"),
        ("http://93.184.215.14/" + "a" * 2100, "longer than"),
    ],
)
def test_malformed_callback_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(CallbackRefused, match=message):
        check_callback_url(url, settings(), resolver_for({}))


def test_without_a_secret_no_callback_is_accepted() -> None:
    with pytest.raises(CallbackRefused) as refused:
        check_callback_url("https://93.184.215.14/hook", Settings(), resolver_for({}))
    assert refused.value.code == "webhooks_disabled"


# ---- delivery ----------------------------------------------------------------------------------------------


def recording_transport(statuses: list[int]):
    """httpx's in-memory transport answering ``statuses`` in turn; every request is recorded."""
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(statuses[min(len(requests) - 1, len(statuses) - 1)])

    return httpx.MockTransport(handle), requests


def test_a_delivery_is_signed_pinned_to_the_checked_address_and_carries_the_host() -> None:
    transport, requests = recording_transport([204])
    hook = Webhook.create("https://hooks.example/in?k=1", "job.finished", json.dumps({"id": "abc"}))
    result = attempt_delivery(hook, settings(), resolver_for({"hooks.example": ["93.184.215.14"]}), transport)
    assert result.outcome is Outcome.delivered and result.status_code == 204
    (request,) = requests
    assert str(request.url) == "https://93.184.215.14/in?k=1"
    assert request.headers["host"] == "hooks.example"
    assert request.extensions["sni_hostname"] == "hooks.example"
    assert request.headers[DELIVERY_HEADER] == hook.delivery_id
    assert verify_signature(
        SECRET, request.content, request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    )


def test_a_refused_address_is_never_connected_to() -> None:
    """DNS rebinding: the name was public at submission and resolves to a private address at delivery."""
    transport, requests = recording_transport([200])
    hook = Webhook.create("http://rebind.example/hook", "job.finished", "{}")
    result = deliver(
        hook, settings(), lambda s: None, resolver_for({"rebind.example": ["192.168.0.10"]}), transport
    )
    assert result.outcome is Outcome.give_up and "192.168.0.10" in result.detail
    assert requests == []


def test_failures_are_retried_with_doubling_backoff_then_given_up() -> None:
    transport, requests = recording_transport([500, 503, 429, 200])
    waits: list[float] = []
    hook = Webhook.create("http://93.184.215.14/hook", "job.finished", "{}")
    result = deliver(hook, settings(webhook_max_attempts=6), waits.append, resolver_for({}), transport)
    assert result.outcome is Outcome.delivered and len(requests) == 4
    assert waits == [0.5, 1.0, 2.0]
    assert len({r.headers[DELIVERY_HEADER] for r in requests}) == 1

    transport, requests = recording_transport([500])
    waits.clear()
    result = deliver(hook, settings(webhook_max_attempts=5), waits.append, resolver_for({}), transport)
    assert result.outcome is Outcome.retry and len(requests) == 5
    assert waits == [0.5, 1.0, 2.0, 3.0]  # capped at webhook_backoff_max_s


def test_a_receiver_that_says_no_is_not_retried() -> None:
    for status in (400, 401, 404, 301):
        transport, requests = recording_transport([status])
        hook = Webhook.create("http://93.184.215.14/hook", "job.finished", "{}")
        result = deliver(hook, settings(), lambda s: None, resolver_for({}), transport)
        assert result.outcome is Outcome.give_up and len(requests) == 1, status


def test_backoff_doubles_up_to_the_cap() -> None:
    s = settings()
    assert [backoff_s(n, s) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_a_webhook_survives_the_trip_through_a_task_message() -> None:
    hook = Webhook.create("https://hooks.example/x", "batch.finished", '{"a": 1}')
    assert Webhook.from_message(json.loads(json.dumps(hook.to_message()))) == hook
