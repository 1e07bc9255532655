"""The agent daemon on real recorded data: one pass, SIGTERM, SIGKILL and restart."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vault_agent.agent.daemon import Agent, AgentOptions
from vault_agent.sensors.datasets import resolve as resolve_dataset
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree

OFFICE = resolve_dataset("occupancy-detection")
DAY1 = datetime(2015, 2, 5, tzinfo=UTC)
DAY2 = datetime(2015, 2, 6, tzinfo=UTC)


def rollup_key_lines(v: Vault) -> list[tuple]:
    """Rollup content without the HLC stamp (which differs between runs)."""
    out = []
    for r in v.iter_rollups(v.node):
        d = json.loads(r.to_json())
        d.pop("hlc", None)
        out.append(tuple(sorted(d.items())))
    return sorted(out)


def agent_cmd(vault: Path, *extra: str, pace: tuple[str, ...] = ("--backfill",)) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vault_agent.cli",
        "agent",
        "run",
        "--vault",
        str(vault),
        "--replay",
        str(OFFICE),
        *pace,
        "--no-sync",
        "--no-index",
        "--commit-interval",
        "0.5",
        *extra,
    ]


def test_agent_once_replays_rolls_up_and_commits(tmp_path):
    v, _ = Vault.init(tmp_path / "office", "office")
    code = Agent(
        v,
        AgentOptions(
            once=True, replay=OFFICE, backfill=True, since=DAY1, until=DAY2, sync=False, index=False
        ),
    ).run()
    assert code == 0
    rollups = list(v.iter_rollups("office"))
    assert rollups, "no rollups written"
    # 5-minute windows over one recorded day: 4 numeric sensors at least, ~288 windows each
    sensors = {r.sensor for r in rollups}
    assert len(sensors) >= 4
    assert all(r.start.startswith("2015-02-05") for r in rollups)
    assert 200 < len(rollups) / len(sensors) <= 288
    mine = [p for p in v.pending() if p.startswith("agents/office/") and "local-cache" not in p]
    assert mine == [], f"uncommitted after the run: {mine}"
    state = json.loads((v.cache_dir() / "agent-state.json").read_text())
    assert state["running"] is False and state["counts"].get("rollup", 0) > 0
    assert (v.cache_dir() / "agent.log").read_text().count("event=stop") == 1
    assert check_tree(v.root) == []


@pytest.mark.slow
def test_sigterm_flushes_commits_and_exits_zero(tmp_path):
    v, _ = Vault.init(tmp_path / "office", "office")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vault_agent.cli",
            "agent",
            "run",
            "--vault",
            str(v.root),
            "--replay",
            str(OFFICE),
            "--speed",
            "3000",
            "--no-sync",
            "--no-index",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=10)
    assert code == 0, proc.stderr.read()
    assert time.monotonic() - t < 5
    v = Vault.open(v.root)
    assert [p for p in v.pending() if "/sensors/" in p] == []
    assert list(v.iter_rollups("office")), "nothing was flushed"
    assert not (v.cache_dir() / "agent.lock").exists()


@pytest.mark.slow
def test_sigkill_and_restart_loses_nothing_and_duplicates_nothing(tmp_path):
    window = ["--since", "2015-02-05", "--until", "2015-02-06"]  # two days, inclusive
    ref, _ = Vault.init(tmp_path / "ref", "office")
    subprocess.run(agent_cmd(ref.root, *window), check=True, capture_output=True)
    expected = rollup_key_lines(ref)
    assert expected

    v, _ = Vault.init(tmp_path / "killed", "office")
    rng = random.Random(1234)
    kills = 0
    # Replayed at 4000x real time the two days take ~43 s, far longer than the ~20 s the
    # twelve interrupted runs get, so every kill lands mid-replay (not after the end).
    for _ in range(12):
        proc = subprocess.Popen(
            agent_cmd(v.root, *window, pace=("--speed", "4000")),
            stderr=subprocess.PIPE,
            text=True,
        )
        # start counting once the agent runs (start-up time varies with the machine's load)
        for line in proc.stderr:
            if "event=start" in line:
                break
        time.sleep(rng.uniform(0.3, 2.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        proc.stderr.close()
    assert kills >= 10
    partial = rollup_key_lines(Vault.open(v.root))
    assert 0 < len(partial) < len(expected), "the kills did not land mid-replay"
    subprocess.run(agent_cmd(v.root, *window), check=True, capture_output=True)
    v = Vault.open(v.root)
    assert rollup_key_lines(v) == expected
    assert check_tree(v.root) == []


def test_agent_syncs_a_joined_node_to_its_hub(tmp_path):
    import pygit2

    from vault_agent.sync.peers import add_peer
    from vault_agent.sync.sync import sync_all
    from vault_agent.vault.hub import init_bare

    hub = tmp_path / "hub.git"
    init_bare(hub)
    first, _ = Vault.init(tmp_path / "a", "alpaca-1")
    add_peer(first, "nas", str(hub))
    assert sync_all(first).ok
    office, _ = Vault.init(tmp_path / "b", "office", from_url=str(hub))
    code = Agent(
        office,
        AgentOptions(
            once=True,
            replay=OFFICE,
            backfill=True,
            since=DAY1,
            until=DAY2,
            index=False,
            log_stderr=False,
        ),
    ).run()
    assert code == 0
    tree = pygit2.Repository(str(hub)).revparse_single("refs/heads/main").peel(pygit2.Tree)
    assert "agents/office/sensors/2015/02/2015-02-05.jsonl" in tree, "the hub lacks the rollups"
