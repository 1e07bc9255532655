"""README's "A node, step by step" runs as written, in order, in a fresh HOME.

The commands are read from README.md (so the test breaks when the README drifts) and
run as written (``vault`` is this interpreter's; the venv activation is checked to
name the venv the install commands make). Each step's effect is checked against
truth computed here from the raw data file (csv), not by the code under test.
"""

from __future__ import annotations

import csv
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path

import pygit2
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "datasets" / "occupancy-detection" / "datatraining.txt"
SECTION = "## A node, step by step"


def quickstart_commands() -> list[str]:
    """The commands of the README's quick-start block, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    block = text.split(SECTION, 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    out = []
    for line in block.splitlines():
        cmd = line.split("  #", 1)[0].strip()
        if cmd:
            out.append(cmd)
    return out


def raw_days_and_co2_max() -> tuple[set[str], float, str]:
    """Recorded days, the highest CO2 (ppm) and its day, from the csv itself."""
    days: set[str] = set()
    best, best_day = -1.0, ""
    with DATA.open(newline="") as f:
        rows = csv.reader(f)
        header = next(rows)  # the data rows carry a row number the header does not name
        date_col, co2_col = header.index("date") + 1, header.index("CO2") + 1
        for row in rows:
            day = row[date_col][:10]
            days.add(day)
            if float(row[co2_col]) > best:
                best, best_day = float(row[co2_col]), day
    return days, best, best_day


def argv(cmd: str, home: Path) -> list[str]:
    parts = [str(home) + p[1:] if p.startswith("~") else p for p in shlex.split(cmd)]
    assert parts[0] == "vault", cmd
    return [sys.executable, "-m", "vault_agent.cli", *parts[1:]]


@pytest.mark.slow
def test_readme_quick_start_runs_as_written(tmp_path):
    cmds = quickstart_commands()
    assert [c.split()[:2] for c in cmds] == [
        [".", ".venv/bin/activate"],
        ["vault", "init"],
        ["cd", "~/vault"],
        ["vault", "init"],
        ["vault", "peer"],
        ["vault", "replay"],
        ["vault", "agent"],
        ["vault", "ask"],
    ], cmds
    assert ".venv/bin/pip install" in (ROOT / "README.md").read_text(encoding="utf-8")
    cmds = cmds[1:]  # the activation: `vault` below is this interpreter's
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("VAULT_PATH", "VAULT_DEBUG", "OLLAMA_HOST")
    }
    env |= {"HOME": str(home), "OLLAMA_HOST": "127.0.0.1:9"}  # no LLM answers here
    cwd = home
    days, co2_max, co2_day = raw_days_and_co2_max()

    def run(cmd: str) -> subprocess.CompletedProcess:
        p = subprocess.run(
            argv(cmd, home), cwd=cwd, env=env, capture_output=True, text=True, timeout=600
        )
        assert p.returncode == 0, f"{cmd}: {p.stderr}"
        assert "Traceback" not in p.stderr, p.stderr
        return p

    # 1. init: a vault in ~/vault, node alpaca-1, and the line telling where to go next
    out = run(cmds[0]).stdout
    vault = home / "vault"
    assert (vault / "vault.toml").is_file() and (vault / "agents/alpaca-1/node.toml").is_file()
    assert f"cd {vault}" in out
    node_toml = tomllib.loads((vault / "agents/alpaca-1/node.toml").read_text())
    assert node_toml["llm"]["backend"] == "none"
    # 2. cd
    cwd = Path(cmds[1].split()[1].replace("~", str(home), 1))
    assert cwd == vault
    # 3. a hub on this machine, and the peer that names it
    run(cmds[2])
    hub = home / "hub.git"
    assert (hub / "HEAD").is_file()
    run(cmds[3])
    node_toml = tomllib.loads((vault / "agents/alpaca-1/node.toml").read_text())
    assert {"name": "nas", "url": str(hub)}.items() <= node_toml["peers"][0].items()
    cmds = cmds[1:]  # the steps below keep their numbers
    # 4. replay: a rollup file for every recorded day
    run(cmds[3])
    rollups = sorted(p.stem for p in (vault / "agents/alpaca-1/sensors").rglob("*.jsonl"))
    assert set(rollups) == days
    # 5. agent run: stop it with Ctrl-C once it caught up; then day notes for the
    #    recorded days (complete ones), everything committed, synced and indexed
    lines: list[str] = []
    proc = subprocess.Popen(
        argv(cmds[4], home), cwd=cwd, env=env, stderr=subprocess.PIPE, text=True
    )
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any("event=catchup " in x for x in lines):
        time.sleep(0.5)
    assert any("event=catchup " in x for x in lines), "".join(lines)
    time.sleep(3)  # the catch-up commit is made on the next tick
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 0, "".join(lines)
    reader.join(5)
    log = "".join(lines)
    assert "Traceback" not in log
    assert "event=sync nas=ok" in log and "event=catchup_span" in log, log
    notes = sorted(p.stem for p in (vault / "agents/alpaca-1/daily").rglob("*.md"))
    assert set(notes) == days, (notes, sorted(days))  # every recorded day got its note
    repo = pygit2.Repository(str(vault))
    assert repo.status() == {} or all(p.startswith(".vault/") for p in repo.status()), repo.status()
    assert pygit2.Repository(str(hub)).head.target == repo.head.target, "not synced at exit"
    assert (vault / ".vault" / "index").is_dir()
    assert "event=stop" in log and "event=progress" in log
    # 6. ask: the answer names the highest CO2 of the raw data and its day
    answer = run(cmds[5]).stdout
    assert f"{co2_max:g}" in answer or f"{round(co2_max)}" in answer, answer
    assert co2_day in answer, answer
    assert "local time in Europe/Brussels" in answer, answer  # what the README says
    assert datetime.fromisoformat(co2_day)  # a real date
