"""The agent lock, state file, status section and systemd unit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from vault_agent.agent.lock import AgentLock, pid_alive, read_lock_pid
from vault_agent.agent.service import install_unit
from vault_agent.agent.state import AgentState
from vault_agent.agent.status import status_section
from vault_agent.cli import main
from vault_agent.errors import LockedError


def test_second_agent_refused(tmp_path):
    lock = AgentLock(tmp_path / "agent.lock")
    lock.acquire()
    # a live process (our parent) holding the lock: the second agent is refused
    (tmp_path / "other.lock").write_text(f"{os.getppid()}\n")
    with pytest.raises(LockedError, match=str(os.getppid())):
        AgentLock(tmp_path / "other.lock").acquire()
    lock.release()
    assert not (tmp_path / "agent.lock").exists()


def test_stale_lock_taken_over(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(proc.stdout)
    assert not pid_alive(dead)
    path = tmp_path / "agent.lock"
    path.write_text(f"{dead}\n")
    with AgentLock(path) as lock:
        assert lock.took_stale
        assert read_lock_pid(path) == os.getpid()
    assert not path.exists()


def test_status_section_reports_state(vault):
    state = AgentState(vault.cache_dir() / "agent-state.json", os.getpid(), "live")
    state.mark("commit")
    state.error("sync")
    state.save()
    with AgentLock(vault.cache_dir() / "agent.lock"):
        key, data, lines = status_section(vault)
        assert key == "agent" and data["running"] and data["pid"] == os.getpid()
        assert data["errors"] == {"sync": 1}
        assert "commit" in data["last"]
        assert "running" in lines[0]
    _, data, lines = status_section(vault)
    assert not data["running"] and lines[0].endswith("not running")


def test_status_cli_includes_agent(vault):
    res = CliRunner().invoke(main, ["status", "--vault", str(vault.root), "--json"])
    assert res.exit_code == 0, res.output
    assert '"agent"' in res.output


def test_install_service_writes_unit(vault, tmp_path):
    path = install_unit(vault.root, vault.node, user_mode=False, user="pi", dest=tmp_path / "u")
    text = path.read_text()
    assert path.name == "vault-agent-alpaca-1.service"
    assert f"agent run --vault {vault.root}" in text
    assert "User=pi" in text and "WantedBy=multi-user.target" in text
    res = CliRunner().invoke(
        main,
        ["agent", "install-service", "--vault", str(vault.root), "--dest", str(tmp_path / "u2")],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "u2" / "vault-agent-alpaca-1.service").exists()
