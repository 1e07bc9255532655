"""The sync commands through click's CliRunner (real vaults in tmp_path)."""

from __future__ import annotations

import json
import tomllib

import pytest
from click.testing import CliRunner

from tests.test_sync_support import make_hub, make_nodes
from vault_agent.cli import main
from vault_agent.sync.sync import sync_all
from vault_agent.vault import Vault


def run(*args: str, ok: bool = True):
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def test_peer_add_list_remove(tmp_path):
    hub = make_hub(tmp_path)
    run("init", str(tmp_path / "v"), "--node", "alpaca-1")
    vp = str(tmp_path / "v")
    out = run("peer", "add", "nas", str(hub), "--vault", vp).output
    assert "nas ->" in out
    run(  # not reachable from a test: --force adds it without trying
        "peer",
        "add",
        "llama",
        "ssh://llama.local/home/pi/vault",
        "--no-push",
        "--force",
        "--vault",
        vp,
    )
    cfg = tomllib.loads((tmp_path / "v/agents/alpaca-1/node.toml").read_text())
    assert [p["name"] for p in cfg["peers"]] == ["nas", "llama"]
    assert cfg["peers"][1]["push"] is False
    v = Vault.open(vp)
    assert v.repo.remotes["nas"].url == str(hub)
    assert v.pending() == []  # node.toml was committed
    rows = json.loads(run("peer", "list", "--json", "--vault", vp).output)
    assert [r["name"] for r in rows] == ["nas", "llama"]
    assert rows[0]["last_success"] is None and rows[0]["reachable"] is None
    before = run("peer", "list", "--vault", vp).output
    assert before.count("not synced yet (the next vault sync tries it)") == 2, before
    assert "never" not in before
    run("sync", "--peer", "nas", "--vault", vp)
    rows = json.loads(run("peer", "list", "--json", "--vault", vp).output)
    assert rows[0]["last_success"] and rows[0]["reachable"] is True
    assert (rows[0]["ahead"], rows[0]["behind"]) == (0, 0)
    text = run("peer", "list", "--vault", vp).output
    assert "nas" in text and "reachable" in text and "not synced yet" in text  # llama only
    run("peer", "remove", "llama", "--vault", vp)
    cfg = tomllib.loads((tmp_path / "v/agents/alpaca-1/node.toml").read_text())
    assert [p["name"] for p in cfg["peers"]] == ["nas"]
    assert "llama" not in [r.name for r in Vault.open(vp).repo.remotes]


@pytest.mark.parametrize(
    "args,message",
    [
        (("peer", "add", "Bad Name", "/x"), "peer name"),
        (("peer", "add", "ok", "ftp://x/y"), "unsupported peer URL"),
        (("peer", "remove", "ghost"), "no peer named 'ghost'"),
        (("sync", "--peer", "ghost"), "no peer named 'ghost'"),
        (("conflicts", "resolve", "knowledge-base/none.md", "--keep", "ours"), "no open conflict"),
    ],
)
def test_errors_are_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.delenv("VAULT_DEBUG", raising=False)
    run("init", str(tmp_path / "v"), "--node", "alpaca-1")
    res = CliRunner().invoke(main, [*args, "--vault", str(tmp_path / "v")])
    assert res.exit_code == 1
    assert message in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_sync_json_status_and_conflicts(tmp_path):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    a.write_file("knowledge-base/x.md", "base\n")
    sync_all(a)
    sync_all(b)
    a.write_file("knowledge-base/x.md", "A\n", overwrite=True)
    b.write_file("knowledge-base/x.md", "B\n", overwrite=True)
    run("sync", "--vault", str(a.root))
    rep = json.loads(run("sync", "--json", "--vault", str(b.root)).output)
    assert rep["ok"] and rep["peers"][0]["peer"] == "hub"
    (c,) = rep["conflicts"]
    assert c["path"] == "knowledge-base/x.md"

    status = json.loads(run("status", "--json", "--vault", str(b.root)).output)
    assert status["sync"]["peers"][0]["name"] == "hub"
    assert status["sync"]["peers"][0]["last_success"]
    assert [x["copy"] for x in status["sync"]["conflicts"]] == [c["copy"]]
    text = run("status", "--vault", str(b.root)).output
    assert "last sync:" in text and "ahead 0, behind 0" in text

    listed = json.loads(run("conflicts", "--json", "--vault", str(b.root)).output)
    assert listed == [
        {
            "copy": c["copy"],
            "original": "knowledge-base/x.md",
            "node": "node-a",
            "when": listed[0]["when"],
        }
    ]
    assert "knowledge-base/x.md" in run("conflicts", "--vault", str(b.root)).output
    out = json.loads(
        run(
            "conflicts", "--vault", str(b.root), "resolve", c["copy"], "--keep", "theirs", "--json"
        ).output
    )
    assert out["keep"] == "theirs" and out["commit"]
    assert (b.root / "knowledge-base/x.md").read_text() == "A\n"
    assert run("conflicts", "--vault", str(b.root)).output.strip() == "no open conflicts"


def test_sync_exit_status_when_a_peer_is_unreachable(tmp_path):
    run("init", str(tmp_path / "v"), "--node", "n1")
    vp = str(tmp_path / "v")
    res = run("peer", "add", "gone", str(tmp_path / "missing.git"), "--vault", vp, ok=False)
    assert res.exit_code == 1 and "no such folder" in res.output and "--force" in res.output
    run("peer", "add", "gone", str(tmp_path / "missing.git"), "--force", "--vault", vp)
    res = run("sync", "--vault", str(tmp_path / "v"), ok=False)
    assert res.exit_code == 1
    assert "gone: unreachable" in res.output and "does not exist" in res.output


def test_every_sync_command_has_help():
    for args in (
        ["peer"],
        ["peer", "add"],
        ["peer", "list"],
        ["peer", "remove"],
        ["sync"],
        ["conflicts"],
        ["conflicts", "resolve"],
    ):
        out = run(*args, "--help").output
        assert "Usage:" in out and len(out.splitlines()) > 4


def test_status_section_before_any_sync(tmp_path):
    from vault_agent.sync.status import status_section

    run("init", str(tmp_path / "v"), "--node", "n1")
    v = Vault.open(tmp_path / "v")
    key, data, lines = status_section(v)
    assert key == "sync" and data == {"peers": [], "conflicts": []}
    assert "vault peer add" in lines[0]
    run("peer", "add", "nas", str(tmp_path / "hub.git"), "--force", "--vault", str(v.root))
    key, data, lines = status_section(v)
    (row,) = data["peers"]
    assert row["ahead"] is None and row["last_success"] is None
    assert any("never" in x for x in lines)
