"""Bearer-token guard for the vault's HTTP servers (``vault mcp --http``, ``vault serve``).

Invariant: a server that listens beyond loopback always has a token, and with a token
every HTTP request must carry ``Authorization: Bearer <token>``; without one it gets a
401 with a one-line reason before it reaches the application.

- :class:`BearerAuth` is a pure ASGI middleware (works around any ASGI app: Starlette,
  the MCP SDK's streamable HTTP app). ``lifespan`` messages pass through untouched.
- :func:`check_bind` refuses to bind a non-loopback address without a token.
- :func:`resolve_token` reads the token from the environment (e.g. ``VAULT_MCP_TOKEN``)
  or from a node.toml section (e.g. ``[mcp] token``); the environment wins.

Tokens are compared with :func:`hmac.compare_digest` (constant time, so the comparison
leaks no prefix length through timing).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .errors import VaultError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost",)


class InsecureBindError(VaultError):
    """Binding beyond loopback was asked for without a token."""


def is_loopback(host: str) -> bool:
    """True for ``localhost``, an address in 127.0.0.0/8, or ``::1`` (brackets allowed).

    Any other name (``0.0.0.0``, ``::``, a LAN address, a host name) is not loopback:
    a name could resolve anywhere, so it is treated as reaching the network.
    """
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, setting: str) -> None:
    """Refuse to listen on ``host`` beyond loopback when there is no token.

    Args:
        host: the address the server will bind (``127.0.0.1``, ``0.0.0.0``, ``::1``…).
        token: the configured token, or None / empty.
        setting: how a person sets the token, named in the error
            (``"[mcp] token in node.toml or VAULT_MCP_TOKEN"``).

    Raises:
        InsecureBindError: ``host`` is not loopback and ``token`` is empty.
    """
    if not is_loopback(host) and not token:
        raise InsecureBindError(
            f"refusing to listen on {host} without a token: set {setting}, "
            "or bind 127.0.0.1 (loopback needs no token)"
        )


def resolve_token(section: Any, env_name: str, rel: str = "node.toml") -> str | None:
    """The bearer token: ``$<env_name>`` if set and non-empty, else ``section["token"]``.

    Args:
        section: the node.toml table (``config.get("mcp")``), a dict or None.
        env_name: environment variable name (``VAULT_MCP_TOKEN``).
        rel: the config file, named in errors.

    Returns:
        The token, or None when neither is set.

    Raises:
        VaultError: the config's ``token`` is not a non-empty string.
    """
    env = os.environ.get(env_name, "").strip()
    if env:
        return env
    if not isinstance(section, dict) or "token" not in section:
        return None
    token = section["token"]
    if not isinstance(token, str) or not token.strip():
        raise VaultError(f"{rel}: 'token' must be a non-empty string")
    return token.strip()


def bearer_of(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header in an ASGI scope, or None."""
    for key, value in scope.get("headers") or []:
        if key.lower() == b"authorization":
            scheme, _, cred = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and cred.strip():
                return cred.strip()
            return None
    return None


class BearerAuth:
    """ASGI middleware: with a token, HTTP and WebSocket requests need the bearer token.

    Args:
        app: the wrapped ASGI application.
        token: the expected token; None or empty disables the check (loopback use).

    A request without the header gets ``401 missing Authorization: Bearer token``; a
    wrong token gets ``401 invalid bearer token``. Both carry
    ``WWW-Authenticate: Bearer`` (RFC 6750 §3) and a ``text/plain`` one-line body.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = (token or "").encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._token or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = bearer_of(scope)
        if given is None:
            await self._deny(scope, send, "missing Authorization: Bearer token")
            return
        if not hmac.compare_digest(given.encode("utf-8"), self._token):
            await self._deny(scope, send, "invalid bearer token")
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _deny(scope: Scope, send: Send, reason: str) -> None:
        if scope["type"] == "websocket":
            # A WebSocket handshake refused before accept: close with policy violation.
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
            return
        body = (reason + "\n").encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="vault"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
