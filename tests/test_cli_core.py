"""The core CLI (init, status, commit, log, check, hooks) through CliRunner and a real process."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import click
import pytest

from tests.support.core_fixtures import NODE, cli, git, make_vault, rollup, vault_proc
from vault_agent.cli import COMMANDS, main
from vault_agent.errors import NotAVaultError
from vault_agent.vault import Vault


def _log(root, *args):
    r = cli("log", "--vault", str(root), "--json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_init_write_commit_log_cli_runner(tmp_path):
    root = tmp_path / "v"
    r = cli("init", str(root), "--node", NODE)
    assert r.exit_code == 0 and f"as node {NODE}" in r.output
    v = Vault.open(root)
    v.append_rollups([rollup(i=0)])
    v.commit("1 rollup file", "rollup")
    (root / "knowledge-base/boiler.md").write_text("# Boiler\n\nServiced in May.\n")
    r = cli("commit", "--vault", str(root), "-m", "Boiler notes")
    assert r.exit_code == 0 and r.output.startswith("committed ")
    log = _log(root)
    assert [(c["summary"], c["node"], c["kind"]) for c in log] == [
        ("Boiler notes", NODE, "edit"),
        ("1 rollup file", NODE, "rollup"),
        (f"Create vault v with node {NODE}", NODE, "init"),
    ]
    assert log[0]["paths"] == ["knowledge-base/boiler.md"]
    assert ["Vault-Kind", "edit"] in log[0]["trailers"]
    r = cli("log", "--vault", str(root))
    first = r.output.splitlines()[0].split()
    assert first[2:5] == [NODE, "edit", "Boiler"] and first[1].endswith("Z")


def test_commit_default_message_and_nothing_to_commit(tmp_path):
    v = make_vault(tmp_path)
    r = cli("commit", "--vault", str(v.root))
    assert r.exit_code == 0 and r.output.strip() == "nothing to commit"
    v.write_shared("global-state.json", {"away": True})
    r = cli("commit", "--vault", str(v.root))
    assert r.exit_code == 0
    c = _log(v.root)[0]
    assert c["summary"] == "Edit shared-memory/global-state.json" and c["kind"] == "edit"


def test_commit_records_deletions(tmp_path):
    v = make_vault(tmp_path)
    v.path("knowledge-base/old.md").write_text("# old\n")
    cli("commit", "--vault", str(v.root), "-m", "add")
    v.path("knowledge-base/old.md").unlink()
    r = cli("commit", "--vault", str(v.root), "-m", "remove old note")
    assert r.exit_code == 0, r.output
    assert "old.md" not in {e.name for e in v.repo.head.peel().tree["knowledge-base"]}


def test_log_filters(tmp_path):
    a = make_vault(tmp_path, "alpaca-1", "a")
    a.append_rollups([rollup(i=0)])
    a.commit("rollups", "rollup")
    a.write_observation("hall motion")
    a.commit("one observation", "observation")
    b, _ = Vault.init(tmp_path / "b", "llama", from_url=str(a.root))
    b.path("knowledge-base/x.md").write_text("# x\n")
    b.commit("note", "edit")
    git(b.root, "commit", "-q", "--allow-empty", "-m", "by hand")  # no trailers at all
    root = b.root
    assert [c["summary"] for c in _log(root, "--node", "alpaca-1")] == [
        "one observation",
        "rollups",
        "Create vault a with node alpaca-1",
    ]
    assert [c["summary"] for c in _log(root, "--kind", "observation")] == ["one observation"]
    assert [c["summary"] for c in _log(root, "--node", "llama", "--kind", "edit")] == ["note"]
    assert [c["summary"] for c in _log(root, "--path", "knowledge-base")] == [
        "note",
        "Create vault a with node alpaca-1",
    ]  # the template's README.md
    assert [c["summary"] for c in _log(root, "--path", "agents/alpaca-1/sensors/")] == ["rollups"]
    assert len(_log(root, "--since", "7d")) == 6
    assert _log(root, "--since", "2999-01-01") == []
    assert len(_log(root, "-n", "2")) == 2
    hand = _log(root)[0]
    assert hand["summary"] == "by hand" and hand["node"] == "" and hand["author"] == "Ada"
    r = cli("log", "--vault", str(root), "--since", "someday")
    assert r.exit_code == 2 and "'someday' is not a date" in r.output
    r = cli("log", "--vault", str(root), "--kind", "nonsense")
    assert r.exit_code == 2


def test_status_text_and_json(tmp_path):
    v = make_vault(tmp_path)
    r = cli("status", "--vault", str(v.root), "--json")
    data = json.loads(r.output)
    assert r.exit_code == 0
    assert data["vault"] == "v" and data["node"] == NODE and data["branch"] == "main"
    assert data["head"] == v.head() and data["uncommitted"] == [] and data["problems"] == []
    assert data["nodes"] == [NODE] and data["quarantined"] == []
    v.path("knowledge-base/a.md").write_text("# a\n")
    v.path("knowledge-base/a.sync-conflict-20251014-101500-llama.md").write_text("# a'\n")
    r = cli("status", "--vault", str(v.root))
    assert r.exit_code == 0
    assert f"node    {NODE}" in r.output and f"main @ {v.head()[:10]}" in r.output
    assert "uncommitted: 2 file(s)" in r.output and "  knowledge-base/a.md" in r.output
    assert "open conflict copies: 1" in r.output
    assert "problems: 0" in r.output


def test_status_from_a_subfolder(tmp_path):
    v = make_vault(tmp_path)
    r = cli("status", "--json", cwd=v.root / "knowledge-base")
    assert r.exit_code == 0 and json.loads(r.output)["root"] == str(v.root)


def test_errors_are_one_line_without_traceback(tmp_path):
    r = cli("status", "--vault", str(tmp_path))
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {tmp_path} is not inside a vault")
    assert all(how in lines[0] for how in ("cd DIR", "--vault DIR", "VAULT_PATH"))
    r = cli("init", str(tmp_path / "v"))
    assert r.exit_code == 2 and "--node NAME is required" in r.output


def test_debug_reraises_and_does_not_leak(tmp_path):
    r = cli("--debug", "status", "--vault", str(tmp_path))
    assert isinstance(r.exception, NotAVaultError)
    assert os.environ.get("VAULT_DEBUG") in (None, "", "0")
    r = cli("status", "--vault", str(tmp_path))  # the next command is plain again
    assert r.exit_code == 1 and not isinstance(r.exception, NotAVaultError)


def test_unexpected_error_is_one_line_too(tmp_path):
    v = make_vault(tmp_path)
    os.remove(v.root / ".git" / "HEAD")  # a broken repository: pygit2 raises GitError
    r = cli("status", "--vault", str(v.root))
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in r.output
    assert "--debug" in lines[0]


def test_subprocess_init_write_commit_log(tmp_path):
    root = tmp_path / "v"
    p = vault_proc("init", str(root), "--node", NODE, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    write = (
        f"from vault_agent.vault import Vault\n"
        f"v = Vault.open({str(root)!r})\n"
        f"print(v.write_observation('Door opened at 07:02', sensors=['front-door'])[0])\n"
    )
    w = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True, timeout=60)
    assert w.returncode == 0, w.stderr
    rel = w.stdout.strip()
    assert (root / rel).is_file()
    p = vault_proc("commit", "-m", "Front door note", "--kind", "observation", cwd=root)
    assert p.returncode == 0 and p.stdout.startswith("committed "), p.stderr
    p = vault_proc("log", "--json", cwd=root)
    log = json.loads(p.stdout)
    assert log[0]["summary"] == "Front door note" and log[0]["kind"] == "observation"
    assert log[0]["paths"] == [rel]
    # plain git log shows the same audit trail
    g = git(
        root,
        "log",
        "-1",
        "--format=%(trailers:key=Vault-Node,valueonly)%(trailers:key=Vault-Kind,valueonly)",
    )
    assert g.stdout.split() == [NODE, "observation"]
    p = vault_proc("check", cwd=root)
    assert p.returncode == 0 and "ok" in p.stdout


def test_subprocess_error_line_and_debug_traceback(tmp_path):
    p = vault_proc("status", cwd=tmp_path)
    assert p.returncode == 1 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {tmp_path} is not inside a vault")
    assert "cd DIR" in lines[0]
    p = vault_proc("--debug", "status", cwd=tmp_path)
    assert p.returncode == 1
    assert "Traceback (most recent call last)" in p.stderr and "NotAVaultError" in p.stderr
    p = vault_proc("status", cwd=tmp_path, env={"VAULT_DEBUG": "1"})
    assert "Traceback" in p.stderr


def _loadable_commands() -> list[tuple[str, click.Command]]:
    out = []
    for name, spec in sorted(COMMANDS.items()):
        mod, _, attr = spec.partition(":")
        try:
            cmd = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError):
            continue  # that part has not landed yet
        out.append((name, cmd))
    return out


def _walk(name: str, cmd: click.Command):
    yield name, cmd
    if isinstance(cmd, click.Group):
        for sub_name, sub in sorted(cmd.commands.items()):
            yield from _walk(f"{name} {sub_name}", sub)


def test_every_command_has_help():
    """Fails when a command or subcommand has no help text (sqlite-utils' test)."""
    assert main.help and len(main.help.strip()) > 20
    missing = []
    walked = 0
    for name, cmd in _loadable_commands():
        for full, c in _walk(name, cmd):
            walked += 1
            if not (c.help or "").strip():
                missing.append(full)
            for param in c.params:
                if isinstance(param, click.Option) and not (param.help or "").strip():
                    missing.append(f"{full} {param.opts[0]}")
    assert walked >= 6  # at least the core commands
    assert missing == []


@pytest.mark.parametrize("name", [n for n, _ in _loadable_commands()])
def test_help_runs(name):
    r = cli(name, "--help")
    assert r.exit_code == 0 and "Usage:" in r.output


def test_top_level_help_lists_core_commands():
    r = cli("--help")
    assert r.exit_code == 0
    for name in ("init", "status", "commit", "log", "check", "hooks"):
        assert f"  {name} " in r.output


def test_init_llm_on_an_existing_vault_sets_only_the_llm(tmp_path):
    """The first init says "set one with: vault init PATH --node N --llm …": that works."""
    root = tmp_path / "v"
    r = cli("init", str(root), "--node", NODE, "--llm", "none")
    assert r.exit_code == 0, r.output
    v = Vault.open(root)
    before = v.head()
    r = cli("init", str(root), "--node", NODE, "--llm", "ollama:qwen2.5:0.5b")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"{root} is already a vault (node {NODE}); LLM: ollama qwen2.5:0.5b"
    llm = Vault.open(root).node_config()["llm"]
    assert (llm["backend"], llm["model"]) == ("ollama", "qwen2.5:0.5b")
    log = _log(root)
    assert log[0]["paths"] == [f"agents/{NODE}/node.toml"] and log[0]["kind"] == "config"
    assert log[1]["id"] == before
    # the same again changes nothing and commits nothing
    head = Vault.open(root).head()
    r = cli("init", str(root), "--node", NODE, "--llm", "ollama:qwen2.5:0.5b")
    assert r.exit_code == 0 and r.output.strip().endswith("nothing to do"), r.output
    assert Vault.open(root).head() == head


def test_peer_add_unreachable_ssh_says_why(tmp_path):
    """The reason is git's first line (ssh's), not its generic last one."""
    root = make_vault(tmp_path).root
    r = cli("peer", "add", "nas", "ssh://127.0.0.1:9/srv/hub.git", "--vault", str(root))
    assert r.exit_code == 1
    assert "cannot be reached (ssh: connect to host 127.0.0.1 port 9" in r.stderr, r.stderr
    assert "repository exists" not in r.stderr and "Traceback" not in r.stderr
