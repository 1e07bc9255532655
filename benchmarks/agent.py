"""Agent resource use: steady-state RSS and CPU % while sampling, and backfill throughput.

Steady state: one `vault agent run` replays occupancy-detection in real time × 60
(5 sensors at one reading per second each, as a node sampling 5 sensors at 1 Hz)
for --seconds (default 120). RSS and CPU time are read from /proc every second
after a warm-up; the baseline is an idle Python process that imported the same CLI
(the floor any agent pays), measured in the same run.

Backfill: `vault agent run --replay … --backfill` over the whole room-occupancy file
(node S1: 3 sensors) vs the bare replay() library call in this process: readings/s
and the ratio (agent overhead: start-up, lock, commits, observer).

    python benchmarks/agent.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vault_agent.sensors.datasets import resolve as resolve_dataset
from vault_agent.sensors.replay import configure_node, replay
from vault_agent.vault import Vault

TICK = os.sysconf("SC_CLK_TCK")


def proc_sample(pid: int) -> tuple[int, float]:
    """(RSS in KiB, CPU seconds user+system) of a process from /proc."""
    rss = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / TICK


def watch(proc: subprocess.Popen, seconds: float, warmup: float) -> tuple[float, float, float]:
    """Mean RSS (MiB), peak RSS (MiB) and CPU % over ``seconds`` after ``warmup``."""
    time.sleep(warmup)
    rss0, cpu0 = proc_sample(proc.pid)
    t0 = time.monotonic()
    samples = [rss0]
    while time.monotonic() - t0 < seconds and proc.poll() is None:
        time.sleep(1)
        rss, cpu = proc_sample(proc.pid)
        samples.append(rss)
    wall = time.monotonic() - t0
    return (sum(samples) / len(samples) / 1024, max(samples) / 1024, 100 * (cpu - cpu0) / wall)


def steady_state(tmp: Path, seconds: float) -> None:
    v, _ = Vault.init(tmp / "steady", "office")
    base = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import vault_agent.cli, vault_agent.agent.daemon, time; time.sleep(1000)",
        ]
    )
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vault_agent.cli",
            "agent",
            "run",
            "--vault",
            str(v.root),
            "--replay",
            "occupancy-detection",
            "--speed",
            "60",
            "--no-sync",
            "--no-index",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        b_rss, _, _ = watch(base, 3, 2)
        a_rss, a_peak, a_cpu = watch(agent, seconds, 10)
    finally:
        for p in (base, agent):
            p.terminate()
            p.wait()
    print(
        f"steady state ({seconds:.0f} s, 5 sensors at 1 Hz): agent RSS mean {a_rss:.1f} MiB, "
        f"peak {a_peak:.1f} MiB, CPU {a_cpu:.1f} % of one core"
    )
    print(
        f"  baseline (idle interpreter with the same imports): RSS {b_rss:.1f} MiB; "
        f"agent/baseline RSS ratio {a_rss / b_rss:.2f}"
    )


def backfill(tmp: Path) -> None:
    data = resolve_dataset("room-occupancy-estimation")
    v, _ = Vault.init(tmp / "lib", "alpaca-1")
    t = time.perf_counter()
    stats = replay(v, data, configure_node(v, data, "S1"), backfill=True)
    lib_s = time.perf_counter() - t
    v2, _ = Vault.init(tmp / "agent", "alpaca-1")
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vault_agent.cli",
            "agent",
            "run",
            "--vault",
            str(v2.root),
            "--replay",
            str(data),
            "--source",
            "S1",
            "--backfill",
            "--no-sync",
            "--no-index",
        ],
        check=True,
        capture_output=True,
    )
    agent_s = time.perf_counter() - t
    n = stats.readings
    print(f"backfill room-occupancy S1: {n} readings, {stats.rollups} rollups")
    print(f"  replay() in process: {lib_s:.2f} s = {n / lib_s:,.0f} readings/s")
    print(
        f"  vault agent run --backfill (start-up, observer, commits included): "
        f"{agent_s:.2f} s = {n / agent_s:,.0f} readings/s; ratio {agent_s / lib_s:.2f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        backfill(Path(d))
        steady_state(Path(d), args.seconds)


if __name__ == "__main__":
    main()
