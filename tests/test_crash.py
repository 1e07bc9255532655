"""Crash test: a child appending rollups is SIGKILLed at random moments, many times.

Afterwards every append that had returned (the child acks it on a pipe after the call
returned) is in the files, and every file parses once Vault.open has repaired a torn
tail (moved to local-cache/quarantine, never deleted).
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


def _one_round(root: Path, rnd: int, rng: random.Random) -> set[tuple[str, str]]:
    """Start the child, kill it at a random moment, return the rollups it acked."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(root), str(rnd),
                             str(rng.randrange(1 << 30))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready == b"ready\n", proc.stderr.read() if proc.stderr else ready
    time.sleep(rng.uniform(0.0, 0.12))
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    acked = set()
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ack":  # a torn last ack line is not an ack
            acked.add((parts[1], parts[2]))
    return acked


@pytest.mark.slow
def test_sigkill_during_appends_loses_no_acknowledged_rollup(tmp_path):
    v = make_vault(tmp_path)
    rng = random.Random(20251014)
    acked: set[tuple[str, str]] = set()
    for rnd in range(ROUNDS):
        acked |= _one_round(v.root, rnd, rng)
    assert len(acked) > ROUNDS  # the children did real work between kills

    v = Vault.open(v.root)  # repairs a torn tail left by the last kill
    errors: list = []
    present = {(r.sensor, r.start) for r in v.iter_rollups(NODE, errors=errors)}
    assert errors == []
    missing = acked - present
    assert not missing, f"{len(missing)} acknowledged rollups lost, e.g. {sorted(missing)[:3]}"
    sensors_dir = f"agents/{NODE}/sensors"
    assert check_tree(v.root, [str(v.path(sensors_dir))]) == []
    # whatever was cut off was kept in quarantine, never deleted
    for q in v.quarantined():
        data = v.path(q).read_bytes()
        assert data and (data.startswith(b"{") or not data.strip(b"\x00"))
