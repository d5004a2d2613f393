"""Webhooks for real, in both modes: a receiver on 127.0.0.1 (allowed by ``EMOTICON_WEBHOOK_ALLOW`` in the test
stack) gets the job's JSON, signed; failures are retried with backoff; private and unlisted loopback addresses
are refused at submission. Nothing is ever sent beyond the loopback receiver."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator

import pytest
from integration_stack import WEBHOOK_SECRET, Gateway
from webhook_receiver import Receiver

from emoticon_client import CallbackRefused, EmoticonClient
from services.webhooks import verify_signature

pytestmark = pytest.mark.integration

BACKOFF_S = 0.3  # EMOTICON_WEBHOOK_BACKOFF_S of the test stack
MAX_ATTEMPTS = 4  # EMOTICON_WEBHOOK_MAX_ATTEMPTS of the test stack


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def assert_signed(call) -> None:
    timestamp = call.headers["x-emoticon-timestamp"]
    assert abs(time.time() - int(timestamp)) < 120
    assert call.headers["x-emoticon-signature"].startswith("sha256=")
    assert verify_signature(WEBHOOK_SECRET, call.body, timestamp, call.headers["x-emoticon-signature"])
    assert not verify_signature("another secret", call.body, timestamp, call.headers["x-emoticon-signature"])
    assert call.headers["content-type"] == "application/json"


def test_a_finished_job_is_posted_signed(gateway: Gateway, receiver: Receiver, astronaut_jpeg: bytes) -> None:
    url = receiver.endpoint()
    with EmoticonClient(gateway.url) as client:
        job = client.analyze(astronaut_jpeg, wait=60, size=64, callback_url=url)
        (call,) = receiver.wait_for(url, 1)
        assert_signed(call)
        assert call.headers["x-emoticon-event"] == "job.finished"
        body = json.loads(call.body)
        # the job's JSON exactly as GET /v1/jobs/{id} gives it
        assert body == client.job(job.id).model_dump(mode="json")
        assert body["status"] == "done" and len(body["result"]["faces"]) == 1
        assert body["callback_url"] == url
    time.sleep(1.0)
    assert len(receiver.calls_to(url)) == 1  # delivered once: no retry after a 2xx


def test_failed_deliveries_are_retried_with_backoff(
    gateway: Gateway, receiver: Receiver, astronaut_jpeg: bytes
) -> None:
    url = receiver.endpoint([500, 503, 204])
    with EmoticonClient(gateway.url) as client:
        client.analyze(astronaut_jpeg, wait=60, size=64, renders="svg", callback_url=url)
    calls = receiver.wait_for(url, 3)
    assert len({c.headers["x-emoticon-delivery"] for c in calls}) == 1  # one delivery, three attempts
    assert len({c.body for c in calls}) == 1
    for call in calls:
        assert_signed(call)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    # backoff doubles: ≥ 0.3 s, then ≥ 0.6 s (a little slack for clocks; the upper bound is generous)
    assert gaps[0] >= BACKOFF_S * 0.9 and gaps[1] >= 2 * BACKOFF_S * 0.9, gaps
    assert gaps[1] > gaps[0] and max(gaps) < 15, gaps
    time.sleep(1.5)
    assert len(receiver.calls_to(url)) == 3


def test_a_receiver_that_keeps_failing_gets_the_configured_attempts(
    gateway: Gateway, receiver: Receiver, astronaut_jpeg: bytes
) -> None:
    url = receiver.endpoint([503])
    with EmoticonClient(gateway.url) as client:
        client.analyze(astronaut_jpeg, wait=60, size=64, renders="svg", callback_url=url)
    receiver.wait_for(url, MAX_ATTEMPTS)
    time.sleep(BACKOFF_S * 2 ** (MAX_ATTEMPTS - 1) + 1)  # longer than a next backoff would be
    assert len(receiver.calls_to(url)) == MAX_ATTEMPTS


def test_a_finished_batch_is_posted_once(gateway: Gateway, receiver: Receiver, astronaut_jpeg: bytes) -> None:
    url = receiver.endpoint()
    with EmoticonClient(gateway.url) as client:
        created = client.submit_batch(
            [("a.jpg", astronaut_jpeg), ("notes.jpg", b"not an image at all"), ("b.jpg", astronaut_jpeg)],
            size=64,
            renders="svg",
            callback_url=url,
        )
        (call,) = receiver.wait_for(url, 1)
        assert_signed(call)
        assert call.headers["x-emoticon-event"] == "batch.finished"
        body = json.loads(call.body)
        assert body["id"] == created.id and body["status"] == "done"
        assert body["counts"] == {"queued": 0, "running": 0, "done": 2, "failed": 1}
        assert body == client.batch(created.id).model_dump(mode="json")
    time.sleep(1.0)
    assert len(receiver.calls_to(url)) == 1


def test_a_batch_refused_whole_file_by_file_is_posted_at_once(gateway: Gateway, receiver: Receiver) -> None:
    """No job to wait for: the gateway itself sends the batch's webhook (a Celery task, in distributed mode)."""
    url = receiver.endpoint()
    with EmoticonClient(gateway.url) as client:
        created = client.submit_batch([("empty.jpg", b""), ("void.png", b"")], callback_url=url)
        assert created.status == "done" and created.counts.failed == 2
    (call,) = receiver.wait_for(url, 1, timeout_s=30)
    assert_signed(call)
    body = json.loads(call.body)
    assert body["id"] == created.id and [i["error"]["code"] for i in body["items"]] == ["empty_upload"] * 2


@pytest.mark.parametrize(
    "target",
    [
        "http://10.20.30.40/hook",
        "http://192.168.0.1/hook",
        "http://169.254.169.254/latest",
        "http://[::1]:{port}/",
    ],
)
def test_private_addresses_are_refused_before_any_connection(
    gateway: Gateway, receiver: Receiver, astronaut_jpeg: bytes, target: str
) -> None:
    url = target.format(port=receiver.port)
    with EmoticonClient(gateway.url) as client:
        with pytest.raises(CallbackRefused) as refused:
            client.analyze(astronaut_jpeg, wait=10, callback_url=url)
        assert refused.value.code == "callback_refused" and refused.value.http_status == 422
        with pytest.raises(CallbackRefused):
            client.submit_batch([astronaut_jpeg], callback_url=url)


def test_loopback_outside_the_allow_list_is_refused(
    gateway: Gateway, receiver: Receiver, astronaut_jpeg: bytes
) -> None:
    """127.0.0.1 is allowed; 127.0.0.2, loopback too, is not: refused, and nothing reaches the receiver."""
    before = len(receiver.calls)
    with EmoticonClient(gateway.url) as client, pytest.raises(CallbackRefused, match="loopback"):
        client.analyze(astronaut_jpeg, callback_url=f"http://127.0.0.2:{receiver.port}/hook/x")
    assert len(receiver.calls) == before
