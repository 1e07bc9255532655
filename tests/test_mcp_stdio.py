"""`vault mcp` over stdio, driven by the MCP SDK's own client as a desktop app would.

The server is spawned as ``python -m vault_agent.cli mcp --vault V`` (what the Claude
Desktop config in docs/mcp.md runs) on a copy of a vault built from the bundled data.
Truth comes from the files and from ``git`` itself, never from the code under test.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

from tests.support.mcp_vault import HEATING_NOTE, HEATING_TEXT, NODE, OFFICE_CSV, fresh_copy

TOOLS = {
    "search", "ask", "read", "list", "history", "observations", "status",
    "remember", "recall", "write_note", "append_note",
}  # fmt: skip


@pytest.fixture
def vault_dir(tmp_path_factory, tmp_path) -> Path:
    return fresh_copy(tmp_path_factory.getbasetemp(), tmp_path / "v")


def params(root: Path, *extra: str) -> StdioServerParameters:
    """The server as a desktop app starts it; ``extra`` adds flags (``--no-warm`` where a
    test never searches: warming the index costs a second or two of CPU it would not use)."""
    env = {"VAULT_MCP_TOKEN": "", "PYTHONUNBUFFERED": "1"}
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "vault_agent.cli", "mcp", "--vault", str(root), *extra],
        env=env,
        cwd=str(root),
    )


def run(root: Path, body, name: str = "test-desktop", warm: bool = False) -> object:
    """Run ``body(client)`` against a new server on ``root``; ``warm``: the server warms
    its search index at start, as it does by default."""

    async def main():
        info = Implementation(name=name, version="1.0")
        extra = () if warm else ("--no-warm",)
        async with Client(params(root, *extra), client_info=info, read_timeout_seconds=120) as c:
            return await body(c)

    return anyio.run(main)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def session_lines(root: Path) -> list[dict]:
    out = []
    for p in sorted((root / "agents" / NODE / "sessions").rglob("*.jsonl")):
        out += [json.loads(x) for x in p.read_text().splitlines() if x.strip()]
    return out


def test_lists_all_tools_with_typed_schemas(vault_dir):
    async def body(c):
        return (await c.list_tools()).tools

    tools = {t.name: t for t in run(vault_dir, body)}
    assert set(tools) == TOOLS
    search = tools["search"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["k"]["type"] == "integer"
    assert "ctx" not in search["properties"]
    assert tools["write_note"].input_schema["required"] == ["path", "content"]
    for t in tools.values():
        assert len(t.description) > 40, t.name  # every tool explains itself to the model
    assert tools["read"].annotations.read_only_hint is True
    assert tools["write_note"].annotations.read_only_hint is False


def test_read_list_and_denials(vault_dir):
    async def body(c):
        return {
            "read": await c.call_tool("read", {"path": HEATING_NOTE}),
            "list": await c.call_tool("list", {"path": "knowledge-base"}),
            "root": await c.call_tool("list", {}),
            "cache": await c.call_tool("read", {"path": f"agents/{NODE}/local-cache/hlc"}),
            "dotdot": await c.call_tool("read", {"path": "knowledge-base/../../etc/passwd"}),
            "abs": await c.call_tool("read", {"path": "/etc/passwd"}),
            "git": await c.call_tool("read", {"path": ".git/config"}),
            "denied_write": await c.call_tool("write_note", {"path": "README.md", "content": "x"}),
            "other_node": await c.call_tool(
                "append_note", {"path": "agents/kitchen/sessions/x.md", "text": "hi"}
            ),
        }

    r = run(vault_dir, body)
    assert not r["read"].is_error
    assert r["read"].structured_content["content"] == HEATING_TEXT
    assert r["read"].structured_content["paths"] == [HEATING_NOTE]
    listed = {e["path"] for e in r["list"].structured_content["entries"]}
    assert listed == {f"knowledge-base/{p.name}" for p in (vault_dir / "knowledge-base").iterdir()}
    root_listed = {e["path"].rstrip("/") for e in r["root"].structured_content["entries"]}
    assert ".git" not in root_listed and "agents" in root_listed
    assert r["cache"].is_error and "'!agents/*/local-cache/**'" in r["cache"].content[0].text
    for key in ("dotdot", "abs", "git"):
        assert r[key].is_error, key
        assert r[key].structured_content["allowed"] is False
    assert "'..' is not allowed" in r["dotdot"].content[0].text
    assert r["denied_write"].is_error
    assert (
        "write denied: README.md matches none of [mcp] write" in r["denied_write"].content[0].text
    )
    assert r["other_node"].is_error and "matches none" in r["other_node"].content[0].text
    assert not (vault_dir / "agents" / "kitchen").exists()
    # every call is in the session log, denied ones too; committed when the server stopped
    lines = session_lines(vault_dir)
    assert [x["tool"] for x in lines] == [
        "read", "list", "list", "read", "read", "read", "read", "write_note", "append_note",
    ]  # fmt: skip
    assert [x["allowed"] for x in lines] == [True] * 3 + [False] * 6
    assert {x["client"] for x in lines} == {"test-desktop"}
    assert git(vault_dir, "status", "--porcelain", "agents/") == ""
    body_ = git(vault_dir, "log", "-1", "--format=%B")
    assert "Vault-Kind: agent" in body_ and "Vault-Agent: test-desktop" in body_


def test_writes_are_committed_with_the_agent_named(vault_dir):
    note = "knowledge-base/tea.md"

    async def body(c):
        out = [
            await c.call_tool(
                "write_note",
                {
                    "path": note,
                    "content": "# Tea\n\nGreen tea at 80 °C.",
                    "frontmatter": {"tags": ["drinks"]},
                },
            ),  # fmt: skip
            await c.call_tool("append_note", {"path": note, "text": "Steep 2 minutes."}),
            await c.call_tool("write_note", {"path": note, "content": "again"}),
            await c.call_tool(
                "remember", {"fact": "The user drinks green tea.", "topic": "drinks"}
            ),
            await c.call_tool("remember", {"fact": "the user drinks  green tea"}),
            await c.call_tool("recall", {"topic_or_query": "green tea"}),
            await c.call_tool(
                "append_note", {"path": f"agents/{NODE}/sessions/2026-chat.md", "text": "Hi."}
            ),
        ]
        return out

    wn, ap, again, rem, dup, rec, sess = run(vault_dir, body, name="Claude Desktop")
    assert not wn.is_error and not ap.is_error and not sess.is_error
    text = (vault_dir / note).read_text()
    assert text == "---\ntags:\n- drinks\n---\n# Tea\n\nGreen tea at 80 °C.\nSteep 2 minutes.\n"
    assert again.is_error and "exists" in again.content[0].text
    mem = rem.structured_content["path"]
    assert mem.startswith(f"agents/{NODE}/memory/") and not rem.structured_content["duplicate"]
    assert dup.structured_content == {"path": mem, "duplicate": True, "paths": [mem]}
    fact = (vault_dir / mem).read_text()
    assert "source: agent:Claude Desktop" in fact and "The user drinks green tea." in fact
    assert rec.structured_content["facts"][0]["path"] == mem
    # four writes, four commits naming the agent; nothing left uncommitted
    log = git(vault_dir, "log", "--format=%s|%(trailers:key=Vault-Kind,valueonly)|"
              "%(trailers:key=Vault-Agent,valueonly)", "-n", "5")  # fmt: skip
    agent_commits = [x for x in log.split("\n\n") if "|agent" in x.replace("\n", "")]
    assert len(agent_commits) >= 4
    assert git(vault_dir, "status", "--porcelain") == ""
    for path in (note, mem, f"agents/{NODE}/sessions/2026-chat.md"):
        assert git(vault_dir, "log", "--format=%(trailers:key=Vault-Agent,valueonly)", "-1", "--",
                   path).strip() == "Claude Desktop"  # fmt: skip
    # `vault log --kind agent` shows them
    out = subprocess.run(
        [sys.executable, "-m", "vault_agent.cli", "log", "--kind", "agent", "--vault",
         str(vault_dir), "--json"], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    entries = json.loads(out)
    assert len(entries) >= 4 and all(e["kind"] == "agent" for e in entries)
    assert any(note in e["paths"] for e in entries)


def csv_rows() -> list[dict[str, str]]:
    """The raw CSV's rows by column name (its rows lead with a row number the header lacks)."""
    with open(OFFICE_CSV, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return [dict(zip(header, row[1:], strict=True)) for row in reader]


def csv_hourly_means(day: str, column: str) -> dict[str, float]:
    """Truth from the raw CSV: the mean of ``column`` per UTC hour of ``day``."""
    sums: dict[str, list[float]] = {}
    for row in csv_rows():
        if row["date"].startswith(day):
            hour = f"{row['date'][:10]}T{row['date'][11:13]}:00:00Z"
            sums.setdefault(hour, []).append(float(row[column]))
    return {h: sum(v) / len(v) for h, v in sums.items()}


def test_history_matches_the_raw_csv(vault_dir):
    async def body(c):
        return (
            await c.call_tool(
                "history",
                {
                    "sensor": "office-temperature",
                    "since": "2015-02-05",
                    "until": "2015-02-05",
                    "every": "1h",
                },
            ),  # fmt: skip
            await c.call_tool("history", {"sensor": "office co2", "agg": "max", "every": "1d"}),
            await c.call_tool("history", {"sensor": "kitchen-temp"}),
            await c.call_tool("history", {"sensor": "office-co2", "since": "2015-03-01"}),
            await c.call_tool("history", {"sensor": "office-co2", "every": "fortnight"}),
        )

    hourly, daily_max, unknown, nodata, bad = run(vault_dir, body)
    truth = csv_hourly_means("2015-02-05", "Temperature")
    points = hourly.structured_content["points"]
    assert [p["t"] for p in points] == sorted(truth)
    for p in points:
        assert p["value"] == pytest.approx(truth[p["t"]], abs=1e-4)
    assert hourly.structured_content["paths"] == ["agents/office/sensors/2015/02/2015-02-05.jsonl"]
    assert f"{truth['2015-02-05T12:00:00Z']:.1f}" in hourly.content[0].text
    # daily maxima of CO2 over the whole recording, from the CSV
    maxima: dict[str, float] = {}
    for row in csv_rows():
        d = row["date"][:10]
        maxima[d] = max(maxima.get(d, 0.0), float(row["CO2"]))
    got = {p["t"][:10]: p["value"] for p in daily_max.structured_content["points"]}
    assert got == pytest.approx(maxima)
    assert unknown.is_error and "no sensor called 'kitchen-temp'; known: office-co2" in (
        unknown.content[0].text
    )
    assert nodata.is_error and "covers 2015-02-04 … 2015-02-10" in nodata.content[0].text
    assert bad.is_error and "every='fortnight'" in bad.content[0].text


def test_search_and_observations(vault_dir):
    async def body(c):
        return (
            await c.call_tool("search", {"query": "boiler pressure refill", "k": 3}),
            await c.call_tool(
                "observations", {"node": NODE, "since": "2015-02-07", "until": "2015-02-07"}
            ),
            await c.call_tool("observations", {"since": "2015-02-09", "until": "2015-02-01"}),
            await c.call_tool("status", {}),
        )

    search, obs, bad, status = run(vault_dir, body, warm=True)
    assert search.structured_content["hits"][0]["path"] == HEATING_NOTE
    assert HEATING_NOTE in search.content[0].text
    # truth: the observation files whose window starts on 2015-02-07
    want = set()
    for p in (vault_dir / "agents" / NODE / "observations").rglob("*.md"):
        if "\n  start: '2015-02-07" in p.read_text():
            want.add(p.relative_to(vault_dir).as_posix())
    assert want and set(obs.structured_content["paths"]) == want
    assert bad.is_error and "until='2015-02-01' is before since='2015-02-09'" in bad.content[0].text
    assert [n["node"] for n in status.structured_content["nodes"]] == [NODE]
    (node,) = status.structured_content["nodes"]
    assert node["agent"] == "stopped"  # no agent runs on the test vault
    assert f"- node {NODE}: agent {node['agent_text']}," in status.content[0].text
    assert status.structured_content["conflicts"] == []


def test_resources(vault_dir):
    async def body(c):
        listed = await c.list_resources()
        note = await c.read_resource(f"vault://{HEATING_NOTE}")
        recent = await c.read_resource("vault://recent-observations")
        return listed, note, recent

    listed, note, recent = run(vault_dir, body)
    uris = {str(r.uri) for r in listed.resources}
    assert f"vault://{HEATING_NOTE}" in uris and "vault://recent-observations" in uris
    assert note.contents[0].text == HEATING_TEXT
    newest = sorted((vault_dir / "agents" / NODE / "observations").rglob("*.md"))[-1]
    assert newest.relative_to(vault_dir).as_posix() in recent.contents[0].text


def test_bad_config_is_one_line_error(vault_dir):
    toml = vault_dir / "agents" / NODE / "node.toml"
    toml.write_text(toml.read_text() + '\n[mcp]\nread = "everything"\n')
    r = subprocess.run(
        [sys.executable, "-m", "vault_agent.cli", "mcp", "--vault", str(vault_dir)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        env={**os.environ, "VAULT_DEBUG": ""},
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "Error: agents/office/node.toml: [mcp] read must be a list of path globs (strings)"
    ]
