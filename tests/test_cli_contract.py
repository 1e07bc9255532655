"""The CLI's contract, command by command: every command has working --help, and its
main error path prints one line on stderr (``Error: …``), no traceback, and the
documented exit status (`vault --help`: 1 error, 2 bad usage).

A command without an entry in ERRORS is still checked with an unknown option (exit 2).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from vault_agent.cli import main
from vault_agent.cli.common import SEARCH_KINDS
from vault_agent.vault import Vault

NOT_A_VAULT = "is not inside a vault"


def _walk(name: str, cmd: click.Command):
    yield name, cmd
    if isinstance(cmd, click.Group):
        for sub, c in sorted(cmd.commands.items()):
            yield from _walk(f"{name} {sub}", c)


def all_commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(main)
    out = []
    for n in main.list_commands(ctx):
        out += list(_walk(n, main.get_command(ctx, n)))
    return out


COMMANDS = all_commands()
LEAVES = [n for n, c in COMMANDS if not isinstance(c, click.Group) or c.invoke_without_command]


@pytest.fixture(scope="module")
def vault(tmp_path_factory) -> Vault:
    v, _ = Vault.init(tmp_path_factory.mktemp("c") / "v", "alpaca-1")
    return v


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("outside")


def busy_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def errors(v: Vault, out: Path) -> dict[str, tuple[list[str], int, str]]:
    """command → (arguments, exit status, words the one line must hold)."""
    nv = ["--vault", str(out)]
    vv = ["--vault", str(v.root)]
    return {
        "agent install-service": (nv, 1, NOT_A_VAULT),
        "agent logs": (nv, 1, NOT_A_VAULT),
        "agent run": (["--replay", "X", "--speed", "0", *vv], 2, "--speed"),
        "agent status": (nv, 1, NOT_A_VAULT),
        "ask": (["what?", *nv], 1, NOT_A_VAULT),
        "check": (nv, 1, NOT_A_VAULT),
        "commit": (nv, 1, NOT_A_VAULT),
        "conflicts": (nv, 1, NOT_A_VAULT),
        "conflicts diff": (["knowledge-base/none.md", *vv], 1, "no open conflict"),
        "conflicts resolve": (["knowledge-base/none.md", "--keep", "ours", *vv], 1, "no open"),
        "demo": ([str(v.root)], 1, "not empty"),
        "hooks install": (nv, 1, NOT_A_VAULT),
        "index": (nv, 1, NOT_A_VAULT),
        "init": ([str(out / "j"), "--node", "n2", "--from", str(out / "missing")], 1, "missing"),
        "log": (["-n", "-1", *vv], 2, "--limit"),
        "observations": (["--kind", "observations", *vv], 2, "'observation', 'memory'"),
        "observe": (nv, 1, NOT_A_VAULT),
        "peer add": (["nas", str(out / "nohub.git"), *vv], 1, "--force"),
        "peer list": (nv, 1, NOT_A_VAULT),
        "peer remove": (["ghost", *vv], 1, "ghost"),
        "replay": (["occupancy-detection", "--tz", "Mars/Base", *vv], 2, "Mars/Base"),
        "search": (["motion", "--kind", "bogus", *vv], 2, "'knowledge'"),
        "sensors": (nv, 1, NOT_A_VAULT),
        "sensors read": (["nope", *vv], 1, "no sensor 'nope'"),
        "site build": (nv, 1, NOT_A_VAULT),
        "status": (nv, 1, NOT_A_VAULT),
        "sync": (["--peer", "ghost", *vv], 1, "ghost"),
        "watch": (nv, 1, NOT_A_VAULT),
    }


def one_line_error(r, code: int, words: str) -> None:
    assert r.exit_code == code, (r.exit_code, r.output)
    assert "Traceback" not in r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: ") and words in lines[0], lines[0]


@pytest.mark.parametrize("name", [n for n, _ in COMMANDS])
def test_help(name):
    r = CliRunner().invoke(main, [*name.split(), "--help"])
    assert r.exit_code == 0 and r.output.startswith("Usage: ")
    assert r.stderr == ""


@pytest.mark.parametrize("name", LEAVES)
def test_main_error_path(name, vault, outside, monkeypatch):
    monkeypatch.delenv("VAULT_DEBUG", raising=False)
    monkeypatch.delenv("VAULT_PATH", raising=False)
    table = errors(vault, outside)
    args, code, words = table.get(name, (["--no-such-option"], 2, "--no-such-option"))
    r = CliRunner().invoke(main, [*name.split(), *args])
    one_line_error(r, code, words)


def test_more_error_paths(vault, outside, monkeypatch):
    """The cases of issue 19 point 8 not covered by the table above."""
    monkeypatch.delenv("VAULT_DEBUG", raising=False)
    vv = ["--vault", str(vault.root)]
    run = CliRunner().invoke
    one_line_error(run(main, ["log", "--since", "99999999d", *vv]), 2, "out of range")
    one_line_error(run(main, ["log", "--node", "../x", *vv]), 2, "'../x'")
    one_line_error(run(main, ["log", "--since", "2020-01-02", "--until", "2020-01-01", *vv]), 2, "")
    one_line_error(run(main, ["search", "x", "--kind", "observations", *vv]), 2, "'observation'")
    with busy_port() as s:
        port = s.getsockname()[1]
        r = run(main, ["site", "serve", "--port", str(port), "--no-watch", *vv])
    one_line_error(r, 1, f"127.0.0.1:{port}")
    assert "--port" in r.stderr
    assert not (vault.root / ".vault" / "site").exists(), "it built the site before failing"


def test_stale_index_lock_hint(tmp_path, monkeypatch):
    monkeypatch.delenv("VAULT_DEBUG", raising=False)
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    lock = v.root / ".git" / "index.lock"
    lock.write_text("")
    (v.root / "knowledge-base" / "boiler.md").write_text("# Boiler\n")
    r = CliRunner().invoke(main, ["commit", "-m", "boiler", "--vault", str(v.root)])
    one_line_error(r, 1, str(lock))
    assert "remove" in r.stderr


def test_not_a_vault_says_how_to_get_there(outside, monkeypatch):
    monkeypatch.delenv("VAULT_PATH", raising=False)
    r = CliRunner().invoke(main, ["status", "--vault", str(outside)])
    one_line_error(r, 1, NOT_A_VAULT)
    assert all(w in r.stderr for w in ("cd DIR", "--vault DIR", "VAULT_PATH"))


def test_search_kinds_are_the_indexed_kinds():
    from vault_agent.index.chunker import TEXT_KINDS

    assert set(SEARCH_KINDS) == {*TEXT_KINDS, "observation", "memory", "rollup"}


def test_broken_command_module_fails_loudly(monkeypatch):
    """A command whose module does not import is one line naming the module, exit 1."""
    from vault_agent import cli

    monkeypatch.setitem(cli.COMMANDS, "broken", "vault_agent.cli.no_such_module:cmd")
    monkeypatch.delenv("VAULT_DEBUG", raising=False)
    r = CliRunner().invoke(main, ["broken"])
    one_line_error(r, 1, "vault_agent.cli.no_such_module")


def vault_proc(*args: str, cwd: Path, pipe_to_head: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "vault_agent.cli", *args]
    env = {k: v for k, v in os.environ.items() if k not in ("VAULT_DEBUG", "VAULT_PATH")}
    if not pipe_to_head:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    line = " ".join(f"'{a}'" for a in cmd) + " | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}"
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for PIPESTATUS")
def test_closed_pipe_is_quiet(vault):
    for _ in range(30):  # enough history that the output outgrows the pipe's buffer
        (vault.root / "knowledge-base" / "n.md").write_text(f"# N\n\n{_}\n")
        vault.commit(f"note {_}", "edit")
    p = vault_proc("log", "-n", "30", "--json", cwd=vault.root, pipe_to_head=True)
    assert p.stdout.strip() == "0", p.stdout
    assert p.stderr == "", p.stderr


def test_real_process_error_has_no_traceback(outside):
    p = vault_proc("log", "-n", "-1", cwd=outside)
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
