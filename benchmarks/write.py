"""Write path benchmark: crash-safe rollup appends and the git cost of a month of rollups.

Prints, measured in the same run:

1. appends/s of one rollup line via ``Vault.append_rollups`` (validate, HLC, one
   ``write`` + ``fsync``) against a plain ``os.write`` of the same line to an
   ``O_APPEND`` file (no fsync) — the baseline — and the ratio; also
   ``append_rollups(fsync=False)`` (the library's own overhead), ``os.write`` +
   ``fsync`` (what the disk allows) and one append per 5-sensor window (what the
   agent does every 300 s).
2. packed git size per rollup line after 30 simulated days x 5 sensors at 300 s
   windows (43,200 lines) with one commit per day, after ``git gc``.

Usage: python benchmarks/write.py [--appends N] [--days 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vault_agent.vault import Rollup, Vault

T0 = datetime(2025, 10, 1, tzinfo=UTC)
WINDOW_S = 300
SENSORS = (  # id, quantity, unit, daily mean, daily swing, noise, decimals of the raw reading
    ("kitchen-temp", "temperature", "°C", 21.0, 2.5, 0.05, 2),
    ("kitchen-humidity", "humidity", "%", 45.0, 8.0, 0.3, 1),
    ("office-co2", "co2", "ppm", 600.0, 250.0, 8.0, 0),
    ("office-light", "illuminance", "lux", 120.0, 300.0, 4.0, 1),
)
MOTION = "hall-motion"


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Simulator:
    """Plausible 1 Hz readings rolled up per 300 s window (diurnal cycle + AR(1) noise)."""

    def __init__(self, node: str, seed: int = 7) -> None:
        self.node = node
        self.rng = random.Random(seed)
        self.drift = {s[0]: 0.0 for s in SENSORS}

    def window(self, start: datetime) -> list[Rollup]:
        """The 5 rollups (4 numeric, 1 motion) of the window starting at ``start``."""
        end = start + timedelta(seconds=WINDOW_S)
        hour = start.hour + start.minute / 60
        out = []
        for sid, quantity, unit, mean, swing, noise, dec in SENSORS:
            d = self.drift[sid] = 0.98 * self.drift[sid] + self.rng.gauss(0, noise)
            base = mean + swing * math.sin((hour - 9) / 24 * 2 * math.pi) + d
            if quantity == "illuminance":
                base = max(0.0, base)
            vals = [round(base + self.rng.gauss(0, noise), dec) for _ in range(0, WINDOW_S, 10)]
            m = sum(vals) / len(vals)
            sd = math.sqrt(sum((x - m) ** 2 for x in vals) / len(vals))
            lo, hi = min(vals), max(vals)
            out.append(
                Rollup(
                    node=self.node,
                    sensor=sid,
                    quantity=quantity,
                    unit=unit,
                    start=_iso(start),
                    end=_iso(end),
                    count=WINDOW_S,
                    mean=m,
                    min=lo,
                    max=hi,
                    last=vals[-1],
                    stddev=sd,
                    min_at=_iso(start + timedelta(seconds=10 * vals.index(lo))),
                    max_at=_iso(start + timedelta(seconds=10 * vals.index(hi))),
                )
            )
        busy = 7 <= start.hour <= 9 or 17 <= start.hour <= 22
        events = self.rng.randint(0, 6) if busy else int(self.rng.random() < 0.03)
        out.append(
            Rollup(
                node=self.node,
                sensor=MOTION,
                quantity="motion",
                unit="",
                start=_iso(start),
                end=_iso(end),
                count=WINDOW_S,
                events=events,
                on_s=float(min(WINDOW_S, events * self.rng.randint(5, 40))),
                last=float(events > 0),
            )
        )
        return out


def _rate(fn, n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t)


def bench_appends(work: Path, n: int) -> dict[str, float]:
    """Appends/s: vault with fsync, vault without fsync, plain os.write, 5-sensor windows."""
    v, _ = Vault.init(work / "appends", "bench")
    sim = Simulator("bench")
    lines = [r for k in range(n) for r in sim.window(T0 + timedelta(seconds=WINDOW_S * k))][:n]
    windows = [sim.window(T0 + timedelta(days=40, seconds=WINDOW_S * k)) for k in range(n // 5)]
    stamped = [r.to_json() + "\n" for r in lines]

    plain = work / "plain.jsonl"
    fd = os.open(plain, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        base = _rate(lambda i: os.write(fd, stamped[i].encode("utf-8")), n)
    finally:
        os.close(fd)
    fd = os.open(work / "plain-fsync.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        raw_fsync = _rate(lambda i: (os.write(fd, stamped[i].encode("utf-8")), os.fsync(fd)), n)
    finally:
        os.close(fd)
    no_fsync = _rate(lambda i: v.append_rollups([lines[i]], fsync=False), n)
    v2, _ = Vault.init(work / "appends2", "bench")
    with_fsync = _rate(lambda i: v2.append_rollups([lines[i]]), n)
    per_window = _rate(lambda i: v2.append_rollups(windows[i]), len(windows))
    return {
        "plain": base,
        "raw_fsync": raw_fsync,
        "no_fsync": no_fsync,
        "fsync": with_fsync,
        "window": per_window,
    }


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_git(work: Path, days: int) -> dict[str, float]:
    """Simulate ``days`` of 5 sensors at 300 s windows, commit daily, gc, measure the pack."""
    v, _ = Vault.init(work / "month", "alpaca-1")
    sim = Simulator(v.node, seed=11)
    per_day = 86400 // WINDOW_S
    n_lines = 0
    t = time.perf_counter()
    for day in range(days):
        d0 = T0 + timedelta(days=day)
        for k in range(per_day):
            rs = sim.window(d0 + timedelta(seconds=WINDOW_S * k))
            v.append_rollups(rs, fsync=False)
            n_lines += len(rs)
        v.commit(f"{v.node}: rollups of {d0:%Y-%m-%d}", "rollup")
    sim_s = time.perf_counter() - t
    base = v.root / "agents" / v.node / "sensors"
    raw = sum(p.stat().st_size for p in base.rglob("*.jsonl"))
    git_dir = v.root / ".git"
    objects_before_gc = _du(git_dir / "objects")
    subprocess.run(["git", "gc", "--quiet"], cwd=v.root, check=True)
    pack = sum(p.stat().st_size for p in (git_dir / "objects" / "pack").glob("*.pack"))
    subprocess.run(["git", "gc", "--quiet", "--aggressive"], cwd=v.root, check=True)
    pack_aggr = sum(p.stat().st_size for p in (git_dir / "objects" / "pack").glob("*.pack"))
    return {
        "lines": n_lines,
        "raw": raw,
        "loose": objects_before_gc,
        "pack": pack,
        "pack_aggressive": pack_aggr,
        "commits": days,
        "sim_s": sim_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=500, help="appends per measurement")
    ap.add_argument("--days", type=int, default=30, help="simulated days for the git size")
    ap.add_argument("--keep", default=None, help="keep the vaults in this folder")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="vault-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        a = bench_appends(work, args.appends)
        print(f"appends ({args.appends} single-line appends each, same run, {work})")
        print(f"  plain os.write, no fsync (baseline) {a['plain']:>10,.0f} /s")
        print(
            f"  Vault.append_rollups, no fsync      {a['no_fsync']:>10,.0f} /s"
            f"   ({a['no_fsync'] / a['plain']:.3f} x baseline)"
        )
        print(
            f"  Vault.append_rollups + fsync        {a['fsync']:>10,.0f} /s"
            f"   ({a['fsync'] / a['plain']:.4f} x baseline, "
            f"{1000 / a['fsync']:.2f} ms per append)"
        )
        print(
            f"  plain os.write + fsync (disk bound) {a['raw_fsync']:>10,.0f} /s"
            f"   (Vault+fsync is {a['fsync'] / a['raw_fsync']:.2f} x this)"
        )
        print(
            f"  5-sensor window + fsync             {a['window']:>10,.0f} windows/s"
            f" ({5 * a['window']:,.0f} lines/s; the agent needs 1 per 300 s)"
        )
        g = bench_git(work, args.days)
        n = g["lines"]
        print(
            f"git ({args.days} days x 5 sensors x {86400 // WINDOW_S} windows = {n:,} lines, "
            f"{g['commits']} daily commits, simulated in {g['sim_s']:.1f} s)"
        )
        print(f"  raw JSONL                {g['raw'] / 1e6:8.2f} MB  {g['raw'] / n:7.1f} B/line")
        print(
            f"  .git/objects before gc   {g['loose'] / 1e6:8.2f} MB  {g['loose'] / n:7.1f} B/line"
        )
        print(
            f"  pack after git gc        {g['pack'] / 1e6:8.2f} MB  {g['pack'] / n:7.1f} B/line"
            f"  ({g['raw'] / g['pack']:.1f}x smaller than raw)"
        )
        print(
            f"  pack after gc --aggressive {g['pack_aggressive'] / 1e6:6.2f} MB  "
            f"{g['pack_aggressive'] / n:7.1f} B/line"
        )
        year = g["pack"] / n * 5 * 288 * 365 / 1e6
        print(f"  => one node with 5 sensors adds ~{year:.1f} MB of git history per year")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
