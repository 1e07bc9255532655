"""The bearer-token guard of the HTTP servers: real uvicorn on 127.0.0.1, real httpx."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.asgi import UvicornThread
from vault_agent.errors import VaultError
from vault_agent.httpauth import (
    BearerAuth,
    InsecureBindError,
    check_bind,
    is_loopback,
    resolve_token,
)

TOKEN = "s3cret-token-123"


def _app() -> Starlette:
    async def hello(request):
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello, methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def guarded():
    with UvicornThread(BearerAuth(_app(), TOKEN)) as srv:
        yield srv


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({}, "missing Authorization: Bearer token"),
        ({"Authorization": "Bearer wrong"}, "invalid bearer token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "invalid bearer token"),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, "invalid bearer token"),
        ({"Authorization": f"Basic {TOKEN}"}, "missing Authorization: Bearer token"),
        ({"Authorization": "Bearer"}, "missing Authorization: Bearer token"),
    ],
)
def test_refused_requests_get_401_with_one_line(guarded, headers, reason):
    r = httpx.get(guarded.url + "/", headers=headers)
    assert r.status_code == 401
    assert r.text == reason + "\n"
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_token_passes(guarded, scheme):
    r = httpx.post(guarded.url + "/", headers={"Authorization": f"{scheme} {TOKEN}"})
    assert r.status_code == 200 and r.text == "hello"


def test_no_token_configured_lets_everything_through():
    with UvicornThread(BearerAuth(_app(), None)) as srv:
        assert httpx.get(srv.url + "/").text == "hello"


@pytest.mark.parametrize(
    "host, loop",
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("nas.local", False),
        ("128.0.0.1", False),
    ],
)
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_check_bind_needs_token_beyond_loopback():
    setting = "[mcp] token in node.toml or VAULT_MCP_TOKEN"
    check_bind("127.0.0.1", None, setting)
    check_bind("0.0.0.0", "tok", setting)
    with pytest.raises(InsecureBindError) as e:
        check_bind("0.0.0.0", None, setting)
    msg = str(e.value)
    assert "\n" not in msg and setting in msg and "0.0.0.0" in msg
    with pytest.raises(InsecureBindError):
        check_bind("192.168.1.5", "", setting)


def test_resolve_token(monkeypatch):
    monkeypatch.delenv("VAULT_MCP_TOKEN", raising=False)
    assert resolve_token(None, "VAULT_MCP_TOKEN") is None
    assert resolve_token({"read": ["**"]}, "VAULT_MCP_TOKEN") is None
    assert resolve_token({"token": " abc "}, "VAULT_MCP_TOKEN") == "abc"
    monkeypatch.setenv("VAULT_MCP_TOKEN", "fromenv")
    assert resolve_token({"token": "abc"}, "VAULT_MCP_TOKEN") == "fromenv"
    monkeypatch.setenv("VAULT_MCP_TOKEN", "")
    with pytest.raises(VaultError, match="agents/a/node.toml: 'token' must be a non-empty"):
        resolve_token({"token": 5}, "VAULT_MCP_TOKEN", "agents/a/node.toml")
