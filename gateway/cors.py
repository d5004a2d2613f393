"""CORS for the API only: pages on the origins in ``settings.cors_origins`` may call ``/v1`` from a browser.

Starlette's ``CORSMiddleware`` does the work (preflights, ``Access-Control-*`` headers, ``Vary: Origin``); this
wrapper applies it to ``/v1`` paths only, so the page, ``/metrics`` and the health checks stay same-origin.
No credentials (cookies) are allowed: the API authenticates with the ``X-API-Key`` header.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.schemas import API_PREFIX

ALLOWED_METHODS = ("GET", "POST", "DELETE")
ALLOWED_HEADERS = ("Content-Type", "X-API-Key")
EXPOSED_HEADERS = ("Location", "Retry-After")
PREFLIGHT_MAX_AGE_S = 600


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(f"{API_PREFIX}/")


class ApiCORSMiddleware:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE_S,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
