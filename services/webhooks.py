"""Webhooks: a signed POST of a finished job's (or batch's) JSON to its ``callback_url``, retried with backoff.

Signature: ``X-Emoticon-Signature: sha256=<hex>``, the HMAC-SHA256 with ``EMOTICON_WEBHOOK_SECRET`` of
``<X-Emoticon-Timestamp> + "." + <raw body>``; the timestamp is unix seconds, so a receiver can refuse old
(replayed) calls. ``verify_signature`` is the receiver's side (README: "Webhooks").

SSRF guard: a callback may only reach public addresses. The host is resolved and *every* address it resolves
to is checked (a name with one public and one private address is refused); private, loopback, link-local,
shared, reserved, multicast and unspecified addresses are refused unless listed in ``EMOTICON_WEBHOOK_ALLOW``
(host names, addresses or CIDR networks). The check runs when the job is submitted (a 422 at once) and again
before every attempt, and the request then goes to the address that was checked (the host name travels in
``Host`` and TLS SNI), so a name that re-resolves elsewhere in between (DNS rebinding) is not followed.
Redirects are not followed either.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.errors import CallbackRefused
from services.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Emoticon-Signature"
TIMESTAMP_HEADER = "X-Emoticon-Timestamp"
EVENT_HEADER = "X-Emoticon-Event"
DELIVERY_HEADER = "X-Emoticon-Delivery"
USER_AGENT = "emoticon-webhook/0.1"
MAX_URL_LENGTH = 2048
SIGNATURE_TOLERANCE_S = 300
RETRY_STATUSES = frozenset({408, 425, 429})  # and every 5xx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AllowList:
    networks: tuple[IPNetwork, ...]
    hosts: frozenset[str]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """``["127.0.0.1", "10.0.0.0/8", "hooks.internal"]``: addresses and networks, else host names."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            text = entry.strip().lower()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            except ValueError:
                hosts.add(text.rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address (they reach that IPv4 host)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def refusal_reason(address: IPAddress, allow: AllowList) -> str | None:
    """Why a callback may not go to ``address`` (e.g. ``"loopback"``), or None when it may."""
    if allow.allows_address(address):
        return None
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = refusal_reason(inner, allow)
        if reason is not None:
            return f"{reason} (inside {address})"
    for name in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    if not address.is_global:
        return "non-public"
    return None


@dataclass(frozen=True)
class CallbackTarget:
    """A checked callback URL: where to connect (every address the host resolved to passed the check)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]

    def url_for(self, address: str) -> str:
        """The URL with its host replaced by ``address`` (the request is pinned to the checked address)."""
        netloc = f"[{address}]" if ":" in address else address
        if self.port != (443 if self.scheme == "https" else 80):
            netloc += f":{self.port}"
        return urlunsplit((self.scheme, netloc, self.path, "", ""))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def check_callback_url(url: str, settings: Settings, resolver: Resolver = system_resolver) -> CallbackTarget:
    """Parse, resolve and check a callback URL; ``CallbackRefused`` (422) says why it is not acceptable.

    Resolution happens here and nothing is connected to: a refused URL never sees a packet."""
    if settings.webhook_secret is None:
        raise CallbackRefused(
            "this server sends no webhooks: EMOTICON_WEBHOOK_SECRET is not set", code="webhooks_disabled"
        )
    if len(url) > MAX_URL_LENGTH:
        raise CallbackRefused(f"callback_url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"callback_url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise CallbackRefused("callback_url must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("callback_url must not carry credentials; the signature authenticates the call")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise CallbackRefused("callback_url has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    allow = AllowList.parse(settings.webhook_allow)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise CallbackRefused(f"the callback host {host!r} does not resolve: {exc}") from None
        if not addresses:
            raise CallbackRefused(f"the callback host {host!r} does not resolve")
    if host not in allow.hosts:
        for text in addresses:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                raise CallbackRefused(f"the callback host {host!r} resolved to {text!r}") from None
            reason = refusal_reason(address, allow)
            if reason is not None:
                raise CallbackRefused(
                    f"callbacks to {host} are refused: it resolves to {address}, a {reason} address "
                    "(EMOTICON_WEBHOOK_ALLOW lists the exceptions)"
                )
    return CallbackTarget(
        url=url, scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses)
    )


# ---- signing -------------------------------------------------------------------------------------------------


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``timestamp + "." + body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    body: bytes,
    timestamp: str,
    signature: str,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """The receiver's check: the signature matches (constant-time) and the timestamp is within
    ``tolerance_s`` seconds of ``now``."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# ---- delivery ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    """One notification: the body is sent as is on every attempt, under one delivery id."""

    url: str
    event: str  # "job.finished" or "batch.finished"
    body: str  # JSON
    delivery_id: str

    @classmethod
    def create(cls, url: str, event: str, body: str) -> Webhook:
        return cls(url=url, event=event, body=body, delivery_id=uuid.uuid4().hex)

    def to_message(self) -> dict[str, str]:
        return {"url": self.url, "event": self.event, "body": self.body, "delivery_id": self.delivery_id}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Webhook:
        return cls(**{k: str(message[k]) for k in ("url", "event", "body", "delivery_id")})


class Outcome(str, enum.Enum):
    delivered = "delivered"
    retry = "retry"  # network error, timeout, 408/425/429, 5xx
    give_up = "give_up"  # refused by the SSRF guard, or another status (the receiver said no)


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    detail: str
    status_code: int | None = None


def signed_headers(hook: Webhook, secret: str, timestamp: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: hook.event,
        DELIVERY_HEADER: hook.delivery_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, hook.body.encode()),
    }


def attempt_delivery(
    hook: Webhook,
    settings: Settings,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> AttemptResult:
    """One attempt: check the URL again, then POST to the checked addresses in turn until one connects."""
    try:
        target = check_callback_url(hook.url, settings, resolver)
    except CallbackRefused as exc:
        return AttemptResult(Outcome.give_up, exc.message)
    assert settings.webhook_secret is not None  # check_callback_url refuses otherwise
    body = hook.body.encode()
    headers = signed_headers(hook, settings.webhook_secret.get_secret_value(), str(int(time.time())))
    headers["Host"] = target.host_header
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    detail = "no address"
    with httpx.Client(
        timeout=settings.webhook_timeout_s, follow_redirects=False, trust_env=False, transport=transport
    ) as client:
        for address in target.addresses:
            try:
                response = client.post(
                    target.url_for(address), content=body, headers=headers, extensions=extensions
                )
            except httpx.ConnectError as exc:
                detail = f"connect {address}: {exc}"
                continue  # the next address of the host may answer
            except httpx.HTTPError as exc:
                return AttemptResult(Outcome.retry, f"{type(exc).__name__}: {exc}")
            status = response.status_code
            if 200 <= status < 300:
                return AttemptResult(Outcome.delivered, f"HTTP {status}", status)
            if status >= 500 or status in RETRY_STATUSES:
                return AttemptResult(Outcome.retry, f"HTTP {status}", status)
            return AttemptResult(Outcome.give_up, f"HTTP {status}", status)
    return AttemptResult(Outcome.retry, detail)


def backoff_s(failed_attempts: int, settings: Settings) -> float:
    """Seconds to wait after ``failed_attempts`` (≥ 1) failures: ``webhook_backoff_s`` doubled per failure,
    at most ``webhook_backoff_max_s``."""
    return min(settings.webhook_backoff_max_s, settings.webhook_backoff_s * 2 ** (failed_attempts - 1))


def deliver(
    hook: Webhook,
    settings: Settings,
    sleep: Callable[[float], Any] = time.sleep,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> AttemptResult:
    """Attempt up to ``webhook_max_attempts`` times with backoff in between (the embedded mode's sender; the
    distributed one retries through Celery instead, so no worker sleeps). ``sleep`` returning True stops early
    (an ``Event.wait`` at shutdown)."""
    result = AttemptResult(Outcome.retry, "not attempted")
    for attempt in range(1, settings.webhook_max_attempts + 1):
        result = attempt_delivery(hook, settings, resolver, transport)
        log_attempt(hook, attempt, result)
        if result.outcome is not Outcome.retry or attempt == settings.webhook_max_attempts:
            return result
        if sleep(backoff_s(attempt, settings)) is True:
            return result
    return result


def log_attempt(hook: Webhook, attempt: int, result: AttemptResult) -> None:
    level = logging.INFO if result.outcome is Outcome.delivered else logging.WARNING
    log.log(
        level,
        "webhook %s",
        result.outcome.value,
        extra={
            "delivery_id": hook.delivery_id,
            "event": hook.event,
            "attempt": attempt,
            "detail": result.detail,
        },
    )
