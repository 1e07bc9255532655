"""``vault observe`` and ``vault observations`` through click's CliRunner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from tests.support import FakeOllama, Reply
from tests.support import rollups as R
from vault_agent.cli import main
from vault_agent.vault import Vault
from vault_agent.vault import repo as git

NODE = "alpaca-1"
DAY = datetime(2025, 10, 15, tzinfo=UTC)
H = timedelta(hours=1)


def vault_data(v: Vault) -> None:  # what the shared ``vault`` fixture holds: a week of motion
    morning = lambda t: 2 if 7 <= t.hour < 9 else 0  # noqa: E731
    v.append_rollups(R.binary(NODE, "hall-motion", DAY - timedelta(days=5), DAY, morning))
    v.append_rollups(
        R.binary(
            NODE,
            "hall-motion",
            DAY,
            DAY + 24 * H,
            lambda t: 2 if (t.hour, t.minute) == (3, 0) else morning(t),
        )
    )
    cfg = v.node_config()
    cfg["llm"]["backend"] = "none"
    v.write_node_config(cfg)
    v.commit("rollups", "rollup")


def run(v: Vault, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, [*args, "--vault", str(v.root)], catch_exceptions=False)
    return r.exit_code, r.output


def test_observe_dry_run_writes_nothing(vault: Vault) -> None:
    code, out = run(
        vault,
        "observe",
        "--since",
        "2025-10-15",
        "--until",
        "2025-10-15T06:00:00Z",
        "--dry-run",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["dry_run"] is True
    (o,) = data["observations"]
    assert o["window"] == {"start": "2025-10-15T03:00:00Z", "end": "2025-10-15T04:00:00Z"}
    assert o["model"] == "rules/v1" and o["facts"][0]["kind"] == "unusual_event"
    assert vault.observation_files(NODE) == [] and vault.pending() == []
    code, out = run(vault, "observe", "--since", "2025-10-15", "--dry-run")
    assert "1 observations would be written" in out and "Motion on hall-motion at 03:00" in out


def test_observe_backfills_and_commits(vault: Vault) -> None:
    code, out = run(vault, "observe", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["counts"]["observation"] >= 1 and data["counts"]["daily"] >= 5
    assert data["counts"]["memory"] >= 5
    assert vault.pending() == []
    commit = vault.repo[data["commit"]]
    assert ("Vault-Kind", "observation") in git.parse_trailers(commit.message)
    assert ("Vault-Node", NODE) in git.parse_trailers(commit.message)
    # again: nothing new, nothing committed
    code, out = run(vault, "observe")
    assert code == 0 and "0 observations, 0 day notes, 0 memory files written" in out


def test_observe_with_llm(vault: Vault) -> None:
    with FakeOllama(default=Reply.text("Motion in the hall at 03:00 (2 events).")) as srv:
        cfg = vault.node_config()
        cfg["llm"].update(backend="ollama", host=srv.url, timeout_s=2)
        vault.write_node_config(cfg)
        code, out = run(
            vault,
            "observe",
            "--since",
            "2025-10-15T03:00:00Z",
            "--until",
            "2025-10-15T04:00:00Z",
            "--json",
        )
        assert code == 0, out
        assert len(srv.chat_requests()) == 1
    code, out = run(vault, "observations", "--json")
    (o,) = json.loads(out)
    assert o["model"] == "ollama/qwen2.5:0.5b" and o["body"].startswith("Motion in the hall")


def test_observations_listing(vault: Vault) -> None:
    run(vault, "observe")
    code, out = run(vault, "observations", "--json")
    rows = json.loads(out)
    assert code == 0 and rows
    assert {"path", "id", "window", "confidence", "model", "sources", "body"} <= set(rows[0])
    assert rows[0]["window"]["start"] == "2025-10-15T03:00:00Z"
    code, out = run(vault, "observations", "--since", "2025-10-15T04:00:00Z", "--json")
    assert all(r["window"]["start"] >= "2025-10-15T04:00:00Z" for r in json.loads(out))
    code, out = run(vault, "observations", "--node", NODE)
    assert "2025-10-15 03:00–04:00  alpaca-1  0." in out and "rules/v1" in out
    code, out = run(vault, "observations", "--kind", "memory", "--json")
    mems = json.loads(out)
    assert mems and mems[-1]["supersedes"] == mems[-2]["id"]
    code, out = run(vault, "observations", "--since", "2030-01-01")
    assert "no observations in that period" in out


def test_observe_without_rollups(tmp_path) -> None:
    v, _ = Vault.init(tmp_path / "empty", NODE)
    r = CliRunner().invoke(main, ["observe", "--vault", str(v.root)])
    assert r.exit_code == 1 and "has no rollups yet" in r.output


@pytest.mark.parametrize("cmd", ["observe", "observations"])
def test_help(cmd: str) -> None:
    r = CliRunner().invoke(main, [cmd, "--help"])
    assert r.exit_code == 0 and "Example" in r.output


def test_commands_are_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "observer.md").read_text()
    for text in (
        "vault observe",
        "vault observations",
        "ollama pull qwen2.5:0.5b",
        'backend = "llamacpp"',
        "--dry-run",
    ):
        assert text in doc
