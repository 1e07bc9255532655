"""Load benchmark of ``vault serve``: concurrent clients against history and status.

Builds a vault from the bundled data (UCI occupancy-detection training + test files on
node ``office``: 5 sensors, ~2 weeks of 5-minute rollups; the PIR motion sensor S6 of
UCI room-occupancy-estimation on node ``pir-6``), starts ``vault serve`` as its own
process on 127.0.0.1 (so client and server do not share an interpreter), then runs
``--clients`` clients for ``--duration`` seconds, each looping over a mix of requests:

- ``GET /api/status``
- ``GET /api/history?sensor=…&range=7d&width=390`` (a phone) and ``…&width=1400``
- ``GET /api/history?sensor=…&range=30d&width=1400``
- ``GET /api/history?sensor=s6-motion&range=7d`` (binary: on-intervals and per-step on-time)

Prints per-endpoint request counts, p50/p95/max latency (ms) and failures (non-200 or
transport errors), then the totals. Exits 1 if anything failed. Usage::

    python benchmarks/web.py [--clients 20] [--duration 60] [--vault PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

MAX_DURATION_S = 600
MAX_CLIENTS = 200


def build_vault(root: Path) -> Path:
    """A vault replaying the bundled data sets (see the module docstring)."""
    from vault_agent.sensors.datasets import resolve
    from vault_agent.sensors.replay import configure_node, replay
    from vault_agent.vault import Vault

    v, _ = Vault.init(root, "office")
    for name in ("occupancy-detection/datatraining.txt", "occupancy-detection/datatest.txt"):
        path = resolve(name)
        replay(v, path, configure_node(v, path), backfill=True, commit=True)
    pir = Vault(v.root, "pir-6")
    room = resolve("room-occupancy-estimation")
    replay(pir, room, configure_node(pir, room, "S6"), backfill=True, commit=True)
    return v.root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(vault: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "VAULT_WEB_TOKEN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault_agent.cli", "serve"]
        + ["--vault", str(vault), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"vault serve exited: {proc.stderr.read().decode()[-500:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("vault serve did not answer within 60 s")


REQUESTS = (
    ("status", "/api/status"),
    ("history 7d phone", "/api/history?sensor=office-temperature&range=7d&width=390"),
    ("history 7d wide", "/api/history?sensor=office-co2&range=7d&width=1400"),
    ("history 30d", "/api/history?sensor=office-humidity&range=30d&width=1400"),
    ("history binary", "/api/history?sensor=s6-motion&range=7d&width=390"),
)


async def client(
    base: str, i: int, until: float, times: dict[str, list[float]], fails: dict[str, list[str]]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        k = i  # clients start at different points of the mix
        while time.monotonic() < until:
            name, path = REQUESTS[k % len(REQUESTS)]
            k += 1
            t0 = time.perf_counter()
            try:
                r = await c.get(path)
                ok = r.status_code == 200
                why = f"HTTP {r.status_code}: {r.text[:100]}"
            except httpx.HTTPError as e:
                ok, why = False, f"{type(e).__name__}: {e}"
            dt = (time.perf_counter() - t0) * 1000
            times[name].append(dt)
            if not ok:
                fails[name].append(why)


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[int(p) - 1]


async def run(base: str, clients: int, duration: float):
    times: dict[str, list[float]] = defaultdict(list)
    fails: dict[str, list[str]] = defaultdict(list)
    until = time.monotonic() + duration
    await asyncio.gather(*(client(base, i, until, times, fails) for i in range(clients)))
    return times, fails


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    ap.add_argument("--duration", type=float, default=60, help="seconds (default 60, max 600)")
    ap.add_argument("--vault", type=Path, help="an existing vault (default: build one)")
    a = ap.parse_args()
    if not 0 < a.duration <= MAX_DURATION_S:
        ap.error(f"--duration must be in (0, {MAX_DURATION_S}] seconds")
    if not 0 < a.clients <= MAX_CLIENTS:
        ap.error(f"--clients must be in 1…{MAX_CLIENTS}")
    with tempfile.TemporaryDirectory() as tmp:
        if a.vault:
            vault = a.vault
        else:
            t0 = time.perf_counter()
            vault = build_vault(Path(tmp) / "vault")
            print(f"vault built from the bundled data in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        proc = start_server(vault, port)
        try:
            base = f"http://127.0.0.1:{port}"
            for _, path in REQUESTS:  # warm the query cache once, as a user's first visit
                httpx.get(base + path, timeout=120).raise_for_status()
            times, fails = asyncio.run(run(base, a.clients, a.duration))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{a.clients} clients for {a.duration:.0f} s against {base}")
    heads = ("requests", "p50 ms", "p95 ms", "max ms")
    print(f"{'endpoint':<18} " + " ".join(f"{h:>8}" for h in heads) + f" {'failed':>7}")
    all_t: list[float] = []
    for name, _ in REQUESTS:
        xs = times[name]
        all_t += xs
        print(
            f"{name:<18} {len(xs):>8} {pct(xs, 50):>8.1f} {pct(xs, 95):>8.1f} "
            f"{max(xs, default=float('nan')):>8.1f} {len(fails[name]):>7}"
        )
    nfail = sum(len(f) for f in fails.values())
    print(
        f"{'all':<18} {len(all_t):>8} {pct(all_t, 50):>8.1f} {pct(all_t, 95):>8.1f} "
        f"{max(all_t, default=float('nan')):>8.1f} {nfail:>7}"
    )
    print(f"throughput: {len(all_t) / a.duration:.1f} requests/s")
    for name, f in fails.items():
        for why in f[:3]:
            print(f"failure ({name}): {why}")
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
