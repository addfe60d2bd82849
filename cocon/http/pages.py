"""The browser client's files, served with strict security headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; media-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)

CSP_KEY = web.AppKey("csp", str)


def csp(janus_ws_url: str = "") -> str:
    """The policy, with the Janus WebSocket origin (voice rooms) if it is another origin."""
    if not janus_ws_url.startswith(("ws://", "wss://")):
        return CSP
    origin = "/".join(janus_ws_url.split("/", 3)[:3])
    return CSP.replace("connect-src 'self'", f"connect-src 'self' {origin}")


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = exc
    if not resp.prepared:
        resp.headers.setdefault("Content-Security-Policy", request.config_dict.get(CSP_KEY, CSP))
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if isinstance(resp, web.HTTPException) and resp.status >= 400:
        raise resp
    return resp


def _file(
    name: str, content_type: str | None = None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = WEB_DIR / name
        if not path.is_file():
            raise web.HTTPNotFound()
        resp = web.FileResponse(path, headers={"Cache-Control": "no-cache"})
        if content_type:
            resp.content_type = content_type
        return resp

    return handler


def routes() -> list[web.AbstractRouteDef]:
    return [
        web.get("/", _file("index.html")),
        web.get("/staff/", _file("staff/index.html")),
        web.get("/sw.js", _file("sw.js", "text/javascript")),
        web.get(
            "/manifest.webmanifest", _file("manifest.webmanifest", "application/manifest+json")
        ),
        web.static("/static", WEB_DIR, follow_symlinks=False),
    ]
