"""A webhook receiver for the integration tests: a real HTTP server on 127.0.0.1 (the one address the test stack
allows callbacks to, ``EMOTICON_WEBHOOK_ALLOW``) that records every call and answers each path with a scripted
sequence of statuses."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Call:
    at: float  # time.monotonic() when it arrived
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.scripts: dict[str, list[int]] = {}
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                call = Call(
                    time.monotonic(), self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver._cond:
                    receiver.calls.append(call)
                    script = receiver.scripts.get(self.path, [])
                    status = script.pop(0) if len(script) > 1 else (script[0] if script else 204)
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def endpoint(self, statuses: list[int] | None = None) -> str:
        """A fresh URL on this receiver; its calls are answered with ``statuses`` in turn (the last one then
        for ever; 204 by default)."""
        path = f"/hook/{uuid.uuid4().hex[:12]}"
        self.scripts[path] = list(statuses or [204])
        return f"http://127.0.0.1:{self.port}{path}"

    def calls_to(self, url: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if url.endswith(c.path)]

    def wait_for(self, url: str, count: int, timeout_s: float = 60.0) -> list[Call]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(calls := [c for c in self.calls if url.endswith(c.path)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{url}: {len(calls)} of {count} calls after {timeout_s} s")
                self._cond.wait(left)
        return calls

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
