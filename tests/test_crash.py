"""Crash test: a child appending rollups is SIGKILLed at random moments, many times.

Afterwards every append that had returned (the child acks it on a pipe after the call
returned) is in the files, and every file parses once Vault.open has repaired a torn
tail (moved to local-cache/quarantine, never deleted). Every third kill also tears
the append in flight like a power cut would (only bytes past the last acknowledged
size), so the repair runs between real appends.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.core_fixtures import NODE, make_vault
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree

CHILD = Path(__file__).parent / "support" / "crash_child.py"
ROUNDS = 60


def _one_round(
    root: Path, rnd: int, rng: random.Random, acked: set[tuple[str, str]], sizes: dict[str, int]
) -> None:
    """Start the child, kill it at a random moment, record what it acknowledged."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), str(rnd), str(rng.randrange(1 << 30))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready == b"ready\n", proc.stderr.read() if proc.stderr else ready
    time.sleep(rng.uniform(0.0, 0.12))
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue  # a torn last ack line is not an ack
        if parts[0] == "ack":
            acked.add((parts[1], parts[2]))
        elif parts[0] == "size" and parts[2].isdigit():
            sizes[parts[1]] = int(parts[2])


def _power_cut(root: Path, rng: random.Random, sizes: dict[str, int]) -> bool:
    """Tear the newest file like a power cut during an append that had not returned.

    Only bytes past the last acknowledged size may be lost (they were never fsynced
    for an append that returned); a cut-off line, possibly NUL-padded, is left at the
    end. Returns True if a torn tail was left.
    """
    files = sorted((root / "agents" / NODE / "sensors").rglob("*.jsonl"))
    if not files:
        return False
    p = files[-1]
    rel = p.relative_to(root).as_posix()
    size = p.stat().st_size
    keep = rng.randint(sizes.get(rel, 0), size)
    with open(p, "r+b") as fh:
        data = fh.read()
        cut = data.rfind(b"\n", 0, keep) + 1  # the in-flight write started at a line start
        cut = max(cut, sizes.get(rel, 0))
        line = data[:cut].splitlines()[-1] if cut else b'{"v":1,"node":"alpaca-1"}'
        fragment = line[: rng.randint(1, len(line) - 1)] + b"\x00" * rng.choice((0, 0, 7))
        fh.truncate(cut)
        fh.seek(cut)
        fh.write(fragment)
    return True


@pytest.mark.slow
def test_sigkill_during_appends_loses_no_acknowledged_rollup(tmp_path):
    v = make_vault(tmp_path)
    rng = random.Random(20251014)
    acked: set[tuple[str, str]] = set()
    sizes: dict[str, int] = {}
    tears = 0
    for rnd in range(ROUNDS):
        _one_round(v.root, rnd, rng, acked, sizes)
        if rnd % 3 == 2:  # every third kill is a power cut that tore the append in flight
            tears += _power_cut(v.root, rng, sizes)
    assert len(acked) > ROUNDS  # the children did real work between kills
    assert tears >= ROUNDS // 3 - 1

    v = Vault.open(v.root)  # repairs a torn tail left by the last kill
    errors: list = []
    present = {(r.sensor, r.start) for r in v.iter_rollups(NODE, errors=errors)}
    assert errors == []
    missing = acked - present
    assert not missing, f"{len(missing)} acknowledged rollups lost, e.g. {sorted(missing)[:3]}"
    sensors_dir = f"agents/{NODE}/sensors"
    assert check_tree(v.root, [str(v.path(sensors_dir))]) == []
    # every tear was repaired on the next open, its fragment kept in quarantine
    quarantined = v.quarantined()
    # every simulated tear, plus any line a real SIGKILL happened to cut mid-write
    assert len(quarantined) >= tears
    for q in quarantined:
        data = v.path(q).read_bytes()
        assert data.startswith(b"{")
