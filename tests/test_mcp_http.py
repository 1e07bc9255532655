"""`vault mcp --http`: streamable HTTP on 127.0.0.1 (real uvicorn), the SDK's own client.

Covers the bearer token (401 without it, the refusal to bind beyond loopback without
one) and concurrent clients writing notes: nothing lost, every note committed with
its writer named. Truth comes from the files and from ``git`` itself.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import Implementation

from tests.support.asgi import UvicornThread
from tests.support.mcp_vault import HEATING_NOTE, HEATING_TEXT, NODE, fresh_copy
from vault_agent.mcp.server import VaultMCP, http_app
from vault_agent.vault import Vault

TOKEN = "test-token-8d1f"


@pytest.fixture
def vault_dir(tmp_path_factory, tmp_path) -> Path:
    return fresh_copy(tmp_path_factory.getbasetemp(), tmp_path / "v")


@pytest.fixture
def served(vault_dir):
    """(url, VaultMCP) of a server with a token, in a uvicorn thread on 127.0.0.1."""
    app = VaultMCP(Vault.open(vault_dir))
    app.start(warm=False)
    with UvicornThread(http_app(app, "127.0.0.1", TOKEN)) as srv:
        yield f"{srv.url}/mcp", app
    app.close()


async def connect(url: str, name: str, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else None
    hc = create_mcp_http_client(headers=headers)
    info = Implementation(name=name, version="1")
    client = Client(streamable_http_client(url, http_client=hc), client_info=info)
    return hc, client


def call_all(url: str, name: str, calls, token: str | None = TOKEN):
    async def main():
        hc, client = await connect(url, name, token)
        async with hc, client as c:
            return [await c.call_tool(tool, args) for tool, args in calls]

    return anyio.run(main)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def test_requests_without_the_token_get_401(served):
    url, _ = served
    init = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers, reason in (
        ({}, "missing Authorization: Bearer token"),
        ({"Authorization": "Bearer nope"}, "invalid bearer token"),
    ):
        r = httpx.post(url, json=init, headers=headers)
        assert r.status_code == 401 and r.text == reason + "\n"
    with pytest.raises(Exception):  # noqa: B017 - the SDK reports the 401 as its own error
        call_all(url, "no-token", [("list", {})], token=None)
    # nothing reached the tools: no session log was written
    assert not list((served[1].vault.root / "agents" / NODE).rglob("sessions/**/*.jsonl"))


def test_tools_over_http(served, vault_dir):
    url, _ = served
    read, search, write, found, status = call_all(
        url,
        "open-webui",
        [
            ("read", {"path": HEATING_NOTE}),
            ("search", {"query": "boiler pressure", "k": 2}),
            (
                "write_note",
                {
                    "path": "knowledge-base/http.md",
                    "content": "# Over HTTP\n\nThe zanzibar valve squeaks.\n",
                },
            ),
            ("search", {"query": "zanzibar valve", "k": 2}),
            ("status", {}),
        ],  # fmt: skip
    )
    assert read.structured_content["content"] == HEATING_TEXT
    assert search.structured_content["hits"][0]["path"] == HEATING_NOTE
    assert not write.is_error
    assert "zanzibar" in (vault_dir / "knowledge-base/http.md").read_text()
    # the index picked the new note up before the next search
    assert found.structured_content["hits"][0]["path"] == "knowledge-base/http.md"
    assert status.structured_content["nodes"][0]["last_commit"] is not None
    assert git(
        vault_dir, "log", "-1", "--format=%(trailers:key=Vault-Agent,valueonly)"
    ).strip() == ("open-webui")


def test_concurrent_http_clients_lose_nothing(served, vault_dir):
    url, app = served
    clients, notes = 4, 5

    async def writer(i: int) -> list:
        hc, client = await connect(url, f"agent-{i}")
        async with hc, client as c:
            out = []
            for j in range(notes):
                args = {"path": f"knowledge-base/c{i}-{j}.md", "content": f"# Note {i}.{j}\n"}
                out.append(await c.call_tool("write_note", args))
                out.append(await c.call_tool("read", {"path": HEATING_NOTE}))
            return out

    async def main():
        results: dict[int, list] = {}

        async def run(i):
            results[i] = await writer(i)

        async with anyio.create_task_group() as tg:
            for i in range(clients):
                tg.start_soon(run, i)
        return results

    results = anyio.run(main)
    assert all(not r.is_error for rs in results.values() for r in rs)
    app.flush()
    for i in range(clients):
        for j in range(notes):
            rel = f"knowledge-base/c{i}-{j}.md"
            assert (vault_dir / rel).read_text() == f"# Note {i}.{j}\n"
            agent = git(vault_dir, "log", "--format=%(trailers:key=Vault-Agent,valueonly)",
                        "--diff-filter=A", "--", rel).split("\n")[0]  # fmt: skip
            assert agent == f"agent-{i}"
    assert git(vault_dir, "status", "--porcelain") == ""
    kinds = git(vault_dir, "log", "--format=%(trailers:key=Vault-Kind,valueonly)").split()
    assert kinds.count("agent") >= clients * notes
    lines = [
        json.loads(x)
        for p in (vault_dir / "agents" / NODE / "sessions").rglob("*.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert sorted((x["client"], x["tool"]) for x in lines) == sorted(
        (f"agent-{i}", t)
        for i in range(clients)
        for _ in range(notes)
        for t in ("write_note", "read")
    )


def test_two_server_processes_writing_at_once(vault_dir):
    """Two desktop clients, each with its own `vault mcp` process, on one vault."""
    notes = 6

    async def one(i: int):
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "vault_agent.cli", "mcp", "--no-warm", "--vault", str(vault_dir)],
            env={"VAULT_MCP_TOKEN": ""},
        )
        info = Implementation(name=f"proc-{i}", version="1")
        async with Client(params, client_info=info, read_timeout_seconds=120) as c:
            for j in range(notes):
                args = {"path": f"agents/{NODE}/sessions/p{i}.md", "text": f"line {j}"}
                r = await c.call_tool("append_note", args)
                assert not r.is_error, r.content[0].text
                r = await c.call_tool("remember", {"fact": f"Process {i} fact {j}."})
                assert not r.is_error, r.content[0].text

    async def main():
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, 0)
            tg.start_soon(one, 1)

    anyio.run(main)
    for i in range(2):
        text = (vault_dir / f"agents/{NODE}/sessions/p{i}.md").read_text()
        assert text == "".join(f"line {j}\n" for j in range(notes))
    facts = [p.read_text() for p in (vault_dir / f"agents/{NODE}/memory").glob("*.md")]
    for i in range(2):
        for j in range(notes):
            assert sum(f"Process {i} fact {j}." in f for f in facts) == 1
    assert git(vault_dir, "status", "--porcelain") == ""
    # the history is one line of commits: no commit was lost by a racing HEAD update
    unreachable = git(vault_dir, "fsck", "--unreachable", "--no-progress")
    assert "unreachable commit" not in unreachable


def test_cli_http_with_token(vault_dir):
    env = {**os.environ, "VAULT_MCP_TOKEN": TOKEN, "VAULT_DEBUG": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault_agent.cli", "mcp", "--http", "--port", "0", "--no-warm",
         "--vault", str(vault_dir)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        line = ""
        while "serving" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "server exited"
        url = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", line).group(1)
        assert "bearer token required" in line
        assert httpx.post(url, json={}).status_code == 401
        (res,) = call_all(url, "cli-client", [("status", {})])
        assert not res.is_error and res.structured_content["node"] == NODE
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    # the read-only call's session line was committed when the server stopped
    assert git(vault_dir, "status", "--porcelain") == ""
    last = git(vault_dir, "log", "-1", "--format=%B")
    assert "Vault-Kind: agent" in last and "Vault-Agent: cli-client" in last


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_refuses_to_bind_beyond_loopback_without_token(vault_dir, host):
    env = {**os.environ, "VAULT_MCP_TOKEN": "", "VAULT_DEBUG": ""}
    r = subprocess.run(
        [sys.executable, "-m", "vault_agent.cli", "mcp", "--http", "--host", host,
         "--vault", str(vault_dir)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"Error: refusing to listen on {host} without a token: set [mcp] token in "
        f"agents/{NODE}/node.toml or VAULT_MCP_TOKEN, or bind 127.0.0.1 (loopback needs no token)"
    ]
