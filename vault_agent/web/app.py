"""The Starlette application of ``vault serve``: pages, ``/api/*``, static files, the site.

Routes (see docs/dashboard.md for the API's parameters and replies):

- pages ``/`` (Status), ``/history``, ``/live``, ``/ask``; ``/fragments/status`` is the
  status table alone (the Status page swaps it in when an SSE ``status`` event arrives,
  so every piece of HTML comes from one Jinja2 template, autoescaped);
- ``/api/status``, ``/api/sensors``, ``/api/history``, ``/api/observations``,
  ``/api/events`` (SSE), ``/api/ask`` (SSE);
- ``/static/`` the package's CSS/JS and the vendored uPlot; ``/site/`` the static site
  already built by ``vault site build`` (``.vault/site/``), when it exists.

Errors: a bad parameter is ``400`` with a one-line ``text/plain`` reason, an unknown
sensor ``404`` naming the known ones, anything unexpected ``500`` with one line (and
the traceback in the server log). With a token, :class:`~vault_agent.httpauth.BearerAuth`
answers ``401`` before any route runs; :class:`TokenCarrier` lets a browser, which can
send no header on a page load or an EventSource, carry the token in ``?token=`` once
(it is then kept in an HttpOnly cookie).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..httpauth import ASGIApp, BearerAuth, Receive, Scope, Send, is_loopback
from ..query.status import ago_text
from ..vault import Vault, layout
from . import api
from .events import EventHub

log = logging.getLogger("vault_agent.web")
COOKIE = "vault_token"
PAGES = (("/", "Status"), ("/history", "History"), ("/live", "Live"), ("/ask", "Ask"))


def _ago(seconds: float | None) -> str:
    """``3 min ago`` (``no readings`` for None), worded by the status owner's ``ago_text``."""
    return "no readings" if seconds is None else f"{ago_text(max(seconds, 0.0))} ago"


class State:
    """What the routes share: the vault (one :class:`Vault` per thread: pygit2 objects
    are not shared between threads), the event hub, templates and the site folder."""

    def __init__(self, vault: Vault, site_dir: Path | None, poll_s: float) -> None:
        self.root, self.node = vault.root, vault.node
        self._local = threading.local()
        self._local.vault = vault
        self.hub = EventHub(Vault(vault.root, vault.node), poll_s=poll_s)
        self.site_dir = site_dir
        self.ask_lock = threading.Lock()
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("vault_agent.web", "templates"),
            autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["ago"] = _ago

    def vault(self) -> Vault:
        """This thread's :class:`Vault` of the served working copy."""
        v = getattr(self._local, "vault", None)
        if v is None:
            v = self._local.vault = Vault(self.root, self.node)
        return v

    def render(self, name: str, request: Request, **ctx: Any) -> HTMLResponse:
        """A page from ``templates/name`` with the navigation context."""
        html = self.templates.get_template(name).render(
            pages=PAGES,
            path=request.url.path,
            node=self.node,
            vault_name=self.root.name,
            site=self.site_ready,
            **ctx,
        )
        return HTMLResponse(html)

    @property
    def site_ready(self) -> bool:
        """True when the built static site is there to serve."""
        return bool(self.site_dir and (self.site_dir / "index.html").is_file())


def default_site_dir(vault: Vault) -> Path:
    """Where ``vault site build`` writes the HTML (``.vault/site/``)."""
    return vault.root / layout.VAULT_DIR / "site"


def create_app(
    vault: Vault,
    token: str | None = None,
    site_dir: Path | None = None,
    poll_s: float = 1.0,
) -> ASGIApp:
    """The ASGI app serving ``vault``.

    Args:
        token: bearer token every request must carry (None: no check; only for
            loopback, which the CLI enforces with :func:`~vault_agent.httpauth.check_bind`).
        site_dir: built static site (default ``.vault/site/``), served under ``/site/``.
        poll_s: how often the live-event poller looks for new files (seconds).
    """
    state = State(vault, site_dir or default_site_dir(vault), poll_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.hub.start()
        try:
            yield
        finally:
            await state.hub.stop()

    routes = [
        Route("/", _status_page(state)),
        Route("/history", _page("history.html", state)),
        Route("/live", _page("live.html", state)),
        Route("/ask", _page("ask.html", state)),
        Route("/fragments/status", _status_fragment(state)),
        *api.routes(state),
        Mount("/static", StaticFiles(packages=[("vault_agent.web", "static")]), name="static"),
        Mount("/site", SiteFiles(state), name="site"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 500: _server_error},
    )
    app.state.web = state
    return TokenCarrier(BearerAuth(app, token)) if token else LoopbackHostOnly(app)


def _page(template: str, state: State):
    async def page(request: Request) -> Response:
        return state.render(template, request)

    return page


def _status_page(state: State):
    async def page(request: Request) -> Response:
        return state.render("status.html", request, st=await api.status_now(state))

    return page


def _status_fragment(state: State):
    async def fragment(request: Request) -> Response:
        st = await api.status_now(state)
        html = state.templates.get_template("_status_nodes.html").render(
            st=st, site=state.site_ready
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    return fragment


async def _not_found(request: Request, exc: Exception) -> Response:
    detail = getattr(exc, "detail", None) or "Not Found"
    return PlainTextResponse(f"{detail}: {request.url.path}\n", status_code=404)


class SiteFiles:
    """The built static site under ``/site/``; until ``vault site build`` has made it,
    404 with a one-line hint (the site may be built while the server runs)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.files = StaticFiles(directory=state.site_dir, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.state.site_ready:
            reply = PlainTextResponse(
                "static site not built yet: run 'vault site build' (or 'vault serve --build')\n",
                status_code=404,
            )
            await reply(scope, receive, send)
            return
        await self.files(scope, receive, send)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("event=web_error path=%s error=%r", request.url.path, str(exc), exc_info=exc)
    one = " ".join(str(exc).split()) or type(exc).__name__
    return PlainTextResponse(f"internal error: {one}\n", status_code=500)


class LoopbackHostOnly:
    """ASGI middleware for a server without a token: only requests addressed to a
    loopback name (``Host: 127.0.0.1:8080``, ``localhost``, ``[::1]``) get through.

    Trigger: a ``Host`` header naming anything else. Why: without a token the server
    relies on listening on loopback only, and a web page elsewhere could point a name it
    controls at 127.0.0.1 (DNS rebinding) and read the API from the person's browser.
    What: ``421 Misdirected Request`` with a one-line reason.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            name = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
            if not is_loopback(name):
                reply = PlainTextResponse(
                    f"host {host!r} is not loopback: without a token only 127.0.0.1 is served\n",
                    status_code=421,
                )
                await reply(scope, receive, send)
                return
        await self.app(scope, receive, send)


class TokenCarrier:
    """ASGI middleware in front of :class:`~vault_agent.httpauth.BearerAuth` for browsers.

    Trigger: a request without ``Authorization`` that has ``?token=…`` or the
    ``vault_token`` cookie. Why: a browser cannot add a header to a page load or an
    ``EventSource``. What: the token becomes the ``Authorization: Bearer`` header that
    BearerAuth checks as usual; a token from the query string is also set as an HttpOnly,
    SameSite=Strict cookie so the following requests (and the address bar) need no token.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(k == b"authorization" for k, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        given = next((v for k, v in query if k == "token"), "")
        token = given or _cookie(scope, COOKIE)
        if not token:
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["headers"] = [*scope["headers"], (b"authorization", f"Bearer {token}".encode())]
        if given:
            rest = [(k, v) for k, v in query if k != "token"]
            scope["query_string"] = urlencode(rest).encode()
        await self.app(scope, receive, _with_cookie(send, given) if given else send)


def _cookie(scope: Scope, name: str) -> str:
    for k, v in scope["headers"]:
        if k == b"cookie":
            c = SimpleCookie()
            with contextlib.suppress(Exception):
                c.load(v.decode("latin-1"))
            if name in c:
                return c[name].value
    return ""


def _with_cookie(send: Send, token: str) -> Send:
    async def wrapped(message) -> None:
        if message["type"] == "http.response.start" and message.get("status", 200) < 400:
            c = SimpleCookie()
            c[COOKIE] = token
            c[COOKIE]["httponly"] = True
            c[COOKIE]["samesite"] = "Strict"
            c[COOKIE]["path"] = "/"
            header = c.output(header="").strip().encode("latin-1")
            message = {**message, "headers": [*message["headers"], (b"set-cookie", header)]}
        await send(message)

    return wrapped
