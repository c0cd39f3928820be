"""The Starlette application of ``matdiff serve``: the page, its static files and the JSON API.

Routes: ``GET /`` the page; ``GET /static/…`` its script, styles and KaTeX;
``GET /api/examples`` the examples menu; ``POST /api/diff`` a derivation
(the object ``matdiff --format json`` prints); ``POST /api/check`` the
numerical check of a derivation; ``GET /api/health``."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .derive import MAX_BODY, RequestError, read_request
from .examples import EXAMPLES
from .pool import PoolError, WorkerPool

STATIC = Path(__file__).resolve().parent / "static"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# the page loads nothing from elsewhere; KaTeX sets inline styles on what it typesets
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; "
          "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


async def _body(request: Request) -> bytes:
    """The request body, refused (413) once it passes the limit, without reading it all."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise RequestError(415, "send the request as JSON (Content-Type: application/json)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestError(413, f"the request is {declared} bytes; the limit is {MAX_BODY}", "limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestError(413, f"the request is over {MAX_BODY} bytes, the limit", "limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _endpoint(op: str):
    async def endpoint(request: Request) -> Response:
        pool: WorkerPool = request.app.state.pool
        try:
            job = read_request(await _body(request), op)
            status, body = await run_in_threadpool(pool.run, job)
        except (RequestError, PoolError) as e:
            return _json(e.status, e.body())
        return _json(status, body)

    endpoint.__name__ = f"api_{op}"
    return endpoint


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def favicon(request: Request) -> Response:
    return Response(status_code=204)


async def examples(request: Request) -> Response:
    return _json(200, {"examples": EXAMPLES})


async def health(request: Request) -> Response:
    import matdiff

    return _json(200, {"ok": True, "version": matdiff.__version__})


async def not_allowed(request: Request) -> Response:
    return _json(405, {"error": {"kind": "bad request", "message": f"{request.url.path} takes POST"}})


class _Headers:
    """ASGI middleware adding the content policy and no-sniff headers to every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", POLICY.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer")]
                message = dict(message, headers=headers)
            await send(message)

        if scope["type"] != "http":
            await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send_with_headers)


def create_app(pool: WorkerPool | None = None, hosts: Sequence[str] | None = LOCAL_HOSTS) -> Starlette:
    """The application; ``pool`` derives (one of two workers, 10 s each, by default), started and
    stopped with the app. ``hosts`` are the Host headers served (None: any), which keeps other
    sites from reaching a server on 127.0.0.1 through DNS rebinding."""
    pool = pool or WorkerPool()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(pool.start)
        try:
            yield
        finally:
            await run_in_threadpool(pool.close)

    routes = [
        Route("/", index),
        Route("/api/diff", _endpoint("diff"), methods=["POST"]),
        Route("/api/check", _endpoint("check"), methods=["POST"]),
        Route("/api/diff", not_allowed, methods=["GET"]),
        Route("/api/check", not_allowed, methods=["GET"]),
        Route("/api/examples", examples),
        Route("/favicon.ico", favicon),
        Route("/api/health", health),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(_Headers)]
    if hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts)))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.pool = pool
    return app
