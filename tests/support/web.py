"""Shared set-up of the `vault serve` tests: a vault replaying the bundled UCI data sets
(tests/test_site_helpers.make_vault), the app on a real uvicorn server on 127.0.0.1, and
plain readers of the vault's files (the tests' truth)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.support.asgi import UvicornThread
from tests.test_site_helpers import make_vault
from vault_agent.web import create_app

OFFICE_DAY = "agents/office/sensors/2015/02/2015-02-03.jsonl"


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    """(Vault, facts) of tests.test_site_helpers.make_vault: nodes office and pir-6."""
    root = tmp_path_factory.mktemp("web")
    return make_vault(root / "vault")


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    """A stand-in for a built static site (one page)."""
    d = tmp_path_factory.mktemp("site")
    (d / "index.html").write_text("<!doctype html><title>site</title><p>static site home</p>")
    return d


@pytest.fixture(scope="module")
def server(vault, site_dir):
    """The app over ``vault`` on uvicorn (``.url``), polling for events every 0.2 s."""
    v, _ = vault
    with UvicornThread(create_app(v, site_dir=site_dir, poll_s=0.2)) as srv:
        yield srv


def get(server, path: str, **kw) -> httpx.Response:
    """GET ``path`` from the test server."""
    return httpx.get(server.url + path, timeout=30, **kw)


def lines_of(v, rel: str) -> list[dict]:
    """The JSON lines of one rollup file, parsed here."""
    return [json.loads(x) for x in v.path(rel).read_text("utf-8").splitlines() if x.strip()]


def all_lines(v, node: str) -> list[dict]:
    """Every rollup line of ``node``, parsed here."""
    out = []
    for p in sorted((Path(v.root) / "agents" / node / "sensors").rglob("*.jsonl")):
        out += [json.loads(x) for x in p.read_text("utf-8").splitlines() if x.strip()]
    return out


def read_events(lines, stop, timeout_s: float = 20.0):
    """(event, data) pairs from an SSE response's line iterator until ``stop(event, data)``
    is true."""
    event, out = "", []
    deadline = time.monotonic() + timeout_s
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip())
            out.append((event, data))
            if stop(event, data):
                return out
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"no matching event within {timeout_s} s; got {out}")
