"""CORS in a real Chromium: a page on a second loopback origin calls the real gateway (embedded mode, started
with ``EMOTICON_CORS_ORIGINS`` naming that origin). From the allowed origin the upload works and the page can
read the job, its ``Location`` and a render; from a third origin Chromium blocks the calls (the preflighted
upload is never sent, a simple GET's answer is not handed to the page)."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from browser_support import free_port, start_gateway, stop_gateway, wait_ready
from conftest import LaunchBrowser

pytestmark = pytest.mark.browser

CALLER_PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>another frontend</title></head>
<body><p>a frontend on another origin</p></body></html>"""

# Runs in the page: upload the photo to the API on another origin, then read what came back.
UPLOAD_JS = """async ([api, photoBase64]) => {
  const bytes = Uint8Array.from(atob(photoBase64), c => c.charCodeAt(0));
  try {
    const response = await fetch(`${api}/v1/jobs?wait=20&size=64`, {
      method: "POST", headers: {"Content-Type": "image/jpeg"}, body: bytes,
    });
    const job = await response.json();
    const svg = job.links && job.links.faces.length
      ? await (await fetch(api + job.links.faces[0].svg)).text() : null;
    return {status: response.status, location: response.headers.get("Location"), job, svg};
  } catch (error) {
    return {error: `${error.name}: ${error.message}`};
  }
}"""
GET_JS = """async (url) => {
  try { const r = await fetch(url); return {status: r.status, body: await r.text()}; }
  catch (error) { return {error: `${error.name}: ${error.message}`}; }
}"""


class CallerPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(CALLER_PAGE)))
        self.end_headers()
        self.wfile.write(CALLER_PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def origins() -> Iterator[tuple[str, str]]:
    """(allowed, other): two loopback origins serving the caller page, on two ports of 127.0.0.1."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), CallerPage) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def cors_gateway(
    chromium_path: str, origins: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    allowed, _ = origins
    port = free_port()
    log_path = tmp_path_factory.mktemp("gateway-cors") / "gateway.log"
    process = start_gateway(port, log_path, env={"EMOTICON_CORS_ORIGINS": allowed})
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process, log_path)
        yield base_url
    finally:
        stop_gateway(process)


def open_on(context: object, origin: str) -> tuple[object, list[str]]:
    page = context.new_page()  # type: ignore[attr-defined]
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{origin}/")
    return page, console


def posted_jobs(gateway: str) -> float:
    """POST /v1/jobs requests the gateway answered, from its Prometheus counter."""
    text = httpx.get(f"{gateway}/metrics", timeout=10).text
    total = 0.0
    for labels, value in re.findall(r"^emoticon_http_requests_total\{([^}]*)\} (\S+)$", text, re.MULTILINE):
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if pairs.get("method") == "POST" and pairs.get("route") == "/v1/jobs":
            total += float(value)
    return total


def test_a_page_on_an_allowed_origin_calls_the_api(
    launch_browser: LaunchBrowser, cors_gateway: str, origins: tuple[str, str], astronaut_path: Path
) -> None:
    allowed, _ = origins
    page, console = open_on(launch_browser(), allowed)
    photo = base64.b64encode(astronaut_path.read_bytes()).decode()
    answer = page.evaluate(UPLOAD_JS, [cors_gateway, photo])  # type: ignore[attr-defined]
    assert "error" not in answer, (answer, console)
    assert answer["status"] == 200 and answer["job"]["status"] == "done"
    assert len(answer["job"]["result"]["faces"]) == 1
    assert answer["location"] == f"/v1/jobs/{answer['job']['id']}"  # exposed to the page
    assert answer["svg"].lstrip().startswith("<svg")
    assert not [m for m in console if "CORS" in m]


def test_a_page_on_another_origin_is_blocked_by_the_browser(
    launch_browser: LaunchBrowser, cors_gateway: str, origins: tuple[str, str], astronaut_path: Path
) -> None:
    _, other = origins
    page, console = open_on(launch_browser(), other)
    # the counter counts: a POST from outside the browser (no Origin) is answered and counted
    assert httpx.post(f"{cors_gateway}/v1/jobs", content=b"not a photo", timeout=10).status_code == 400
    before = posted_jobs(cors_gateway)
    assert before >= 1
    photo = base64.b64encode(astronaut_path.read_bytes()).decode()
    answer = page.evaluate(UPLOAD_JS, [cors_gateway, photo])  # type: ignore[attr-defined]
    assert answer.get("error", "").startswith("TypeError"), answer
    # the preflight was refused, so the upload itself never reached the gateway
    assert posted_jobs(cors_gateway) == before

    # a simple GET is sent, but its answer is withheld from the page ...
    blocked = page.evaluate(GET_JS, f"{cors_gateway}/v1/jobs/{'0' * 32}")  # type: ignore[attr-defined]
    assert blocked.get("error", "").startswith("TypeError"), blocked
    assert any("blocked by CORS policy" in m for m in console), console
    # ... while the same request outside a browser is answered: the block is the browser's CORS, not the server
    assert httpx.get(f"{cors_gateway}/v1/jobs/{'0' * 32}", timeout=10).status_code == 404
