"""Benchmark: ``vault history`` of one sensor over 30 days, warm and cold, vs a json scan.

Run: ``python benchmarks/query.py`` (about a minute). Builds a vault whose node ``bench``
has 35 days of 5-minute rollups for 5 sensors (50,400 lines, written by
``Vault.append_rollups`` as a running node would), then prints p50/p95 latency of:

* warm (in-process, the Store open and its cache current): ``store.series`` of one sensor
  over 30 days, per window (8,640 points) and hourly (720 points);
* cold (a new ``vault history … --json`` process, the cache file in ``.vault/query/``
  already built; plus the first run, which builds it);
* the baseline, measured in the same run: a plain Python scan of the same 30 day files
  (``json.loads`` per line, keep the sensor's ``start``/``mean``), in-process and as a
  new ``python -c`` process.

Goal (issue 13): warm ≤ 200 ms.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vault_agent.query import Store  # noqa: E402
from vault_agent.vault import Rollup, Vault  # noqa: E402

DAYS = 35
SENSORS = ("temperature", "humidity", "light", "co2", "pressure")
START = date(2025, 1, 1)
SINCE, UNTIL = date(2025, 1, 3), date(2025, 2, 1)  # 30 days, inclusive


def build(root: Path) -> Vault:
    """A vault with DAYS days of 5-minute rollups of SENSORS on node ``bench``."""
    v, _ = Vault.init(root, "bench")
    t0 = datetime.combine(START, datetime.min.time(), UTC)
    for d in range(DAYS):
        rollups = []
        for w in range(288):
            s = t0 + timedelta(days=d, seconds=300 * w)
            e = s + timedelta(seconds=300)
            for i, q in enumerate(SENSORS):
                m = 20 + i * 10 + 3 * math.sin((d * 288 + w) / 40)
                rollups.append(
                    Rollup("bench", f"bench-{q}", q, "", s.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           e.strftime("%Y-%m-%dT%H:%M:%SZ"), 5, mean=m, min=m - 0.3,
                           max=m + 0.4, last=m, stddev=0.1, hlc="x")
                )  # fmt: skip
        v.append_rollups(rollups, fsync=False)
    return v


def pct(xs: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    xs = sorted(xs)
    return statistics.median(xs) * 1000, xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def json_scan(root: Path, sensor: str) -> list[tuple[str, float]]:
    """The baseline: read the 30 day files and json-decode every line."""
    out = []
    d = SINCE
    while d <= UNTIL:
        p = root / f"agents/bench/sensors/{d:%Y/%m}/{d:%Y-%m-%d}.jsonl"
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r["sensor"] == sensor:
                    out.append((r["start"], r["mean"]))
        d += timedelta(days=1)
    return out


SCAN_SRC = (
    "import json,sys\nfrom datetime import date,timedelta\n"
    "d=date(2025,1,3);out=[]\n"
    "while d<=date(2025,2,1):\n"
    "    p=f'{sys.argv[1]}/agents/bench/sensors/{d:%Y/%m}/{d:%Y-%m-%d}.jsonl'\n"
    "    out+=[(r['start'],r['mean']) for r in map(json.loads,open(p)) "
    "if r['sensor']=='bench-temperature']\n"
    "    d+=timedelta(days=1)\n"
    "print(json.dumps(out))\n"
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "v"
        t = time.perf_counter()
        build(root)
        took = time.perf_counter() - t
        print(f"built {DAYS} days × {len(SENSORS)} sensors × 288 windows in {took:.1f} s")
        cmd = [sys.executable, "-m", "vault_agent.cli", "history", "bench-temperature",
               "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(), "--json"]  # fmt: skip
        t = time.perf_counter()
        first = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True)
        first_s = time.perf_counter() - t
        n_points = len(json.loads(first.stdout)[0]["points"])

        store = Store(root)
        store.series("bench-temperature", SINCE, UNTIL)  # open + cache current
        warm = timed(lambda: store.series("bench-temperature", SINCE, UNTIL), 15)
        warm_h = timed(lambda: store.series("bench-temperature", SINCE, UNTIL, 3600), 20)
        scan = timed(lambda: json_scan(root, "bench-temperature"), 20)
        assert len(json_scan(root, "bench-temperature")) == n_points
        store.close()

        cold = timed(lambda: subprocess.run(cmd, cwd=root, capture_output=True, check=True), 8)
        scan_cmd = [sys.executable, "-c", SCAN_SRC, str(root)]
        cold_scan = timed(lambda: subprocess.run(scan_cmd, capture_output=True, check=True), 8)

    print(f"vault history, one sensor, 30 days ({n_points} windows):")
    rows = [
        ("warm  store.series per window", warm),
        ("warm  store.series hourly", warm_h),
        ("warm  baseline json scan", scan),
        ("cold  vault history --json (process)", cold),
        ("cold  baseline json scan (process)", cold_scan),
    ]
    for label, xs in rows:
        p50, p95 = pct(xs)
        print(f"  {label:40s} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    print(f"  {'first run (builds .vault/query cache)':40s} {first_s * 1000:8.1f} ms")
    p50 = pct(warm)[0]
    print(f"goal warm ≤ 200 ms: {'met' if p50 <= 200 else 'NOT met'} (p50 {p50:.1f} ms)")
    print(f"load average after the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
