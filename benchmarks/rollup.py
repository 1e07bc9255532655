"""Benchmark: replay + rollup throughput vs a bare numpy aggregation, and sampler RSS.

Run: ``python benchmarks/rollup.py`` (about 20 s). Prints

* readings/s of ``replay()`` (backfill) over the bundled room-occupancy file, once per
  recorded node S1…S7 (each into its own vault, as one node each), rollups written
  to real files with fsync and committed per day;
* readings/s of a bare numpy aggregation of the same values (count, mean, min, max,
  std per 5-minute window per sensor), measured in the same run: the baseline;
* the ratio, and the same for the office data set;
* RSS of a Sampler running 12 in-process sensors every 10 ms for 3 s.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vault_agent.sensors import replay as rp  # noqa: E402
from vault_agent.sensors.config import parse_sensors  # noqa: E402
from vault_agent.sensors.rollup import RollupEngine  # noqa: E402
from vault_agent.sensors.sampler import Sampler  # noqa: E402
from vault_agent.vault import Vault  # noqa: E402

ROOM = ROOT / "datasets" / "room-occupancy-estimation" / "Occupancy_Estimation.csv"
OFFICE = ROOT / "datasets" / "occupancy-detection" / "datatraining.txt"


def rss_kib() -> int:
    """Resident set size of this process now, KiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def numpy_aggregate(epochs: np.ndarray, values: np.ndarray, window: int = 300) -> float:
    """Per-window count/mean/min/max/std of every column with numpy; returns seconds."""
    t0 = time.perf_counter()
    starts = (epochs // window).astype(np.int64)
    _, inv = np.unique(starts, return_inverse=True)
    n = np.bincount(inv)
    for col in values.T:
        s = np.bincount(inv, weights=col)
        s2 = np.bincount(inv, weights=col * col)
        mean = s / n
        _std = np.sqrt(np.maximum(s2 / n - mean * mean, 0))
        lo = np.full(n.size, np.inf)
        hi = np.full(n.size, -np.inf)
        np.minimum.at(lo, inv, col)
        np.maximum.at(hi, inv, col)
    return time.perf_counter() - t0


def load_room() -> tuple[np.ndarray, np.ndarray, float]:
    """(epochs, values of the 15 replayed columns, parse seconds)."""
    t0 = time.perf_counter()
    cols = [c.column for c in rp.ROOM.columns]
    with open(ROOM, newline="") as fh:
        rows = list(csv.DictReader(fh))
    ep = np.array(
        [
            datetime.strptime(r["Date"] + " " + r["Time"], "%d-%m-%Y %H:%M:%S").timestamp()
            for r in rows
        ]
    )
    vals = np.array([[float(r[c]) for c in cols] for r in rows])
    return ep, vals, time.perf_counter() - t0


def bench_replay(tmp: Path) -> None:
    total_readings, total_s = 0, 0.0
    print("replay (backfill) of room-occupancy-estimation, one vault node per recorded node:")
    for src in rp.sources(ROOM):
        v, _ = Vault.init(tmp / f"room-{src.lower()}", f"room-{src.lower()}")
        t0 = time.perf_counter()
        st = rp.replay(v, ROOM, rp.configure_node(v, ROOM, src), commit=True)
        dt = time.perf_counter() - t0
        total_readings += st.readings
        total_s += dt
        print(
            f"  {src}: {st.rows} rows, {st.readings:6d} readings, {st.rollups:5d} rollups, "
            f"{st.commits} commits in {dt:5.2f} s ({st.readings / dt:8.0f} readings/s)"
        )
    ep, vals, parse_s = load_room()
    agg_s = numpy_aggregate(ep, vals)
    n = vals.size
    print(
        f"  all 7 nodes: {total_readings} readings in {total_s:.2f} s "
        f"= {total_readings / total_s:.0f} readings/s"
    )
    print(
        f"  numpy baseline, same {n} values: aggregate only {agg_s * 1000:.1f} ms "
        f"({n / agg_s:.0f} readings/s); csv parse + aggregate {parse_s + agg_s:.2f} s "
        f"({n / (parse_s + agg_s):.0f} readings/s)"
    )
    print(
        f"  ratio replay/numpy-aggregate: {(total_readings / total_s) / (n / agg_s):.4f}; "
        f"replay/numpy-parse+aggregate: "
        f"{(total_readings / total_s) / (n / (parse_s + agg_s)):.3f}"
    )
    v, _ = Vault.init(tmp / "office", "office")
    t0 = time.perf_counter()
    st = rp.replay(v, OFFICE, rp.configure_node(v, OFFICE), commit=True)
    dt = time.perf_counter() - t0
    print(
        f"occupancy-detection datatraining.txt: {st.rows} rows, {st.readings} readings, "
        f"{st.rollups} rollups in {dt:.2f} s ({st.readings / dt:.0f} readings/s)"
    )
    t0 = time.perf_counter()
    st2 = rp.replay(v, OFFICE, rp.configure_node(v, OFFICE))
    print(
        f"  re-run (resume, all windows already written): {time.perf_counter() - t0:.2f} s, "
        f"{st2.readings} new readings"
    )


class _Constant:
    quantities = ("temperature",)

    def __init__(self) -> None:
        self.x = 0.0

    def read(self) -> dict[str, float]:
        self.x += 0.01
        return {"temperature": 20.0 + (self.x % 1.0)}

    def close(self) -> None:
        pass


def bench_sampler(tmp: Path) -> None:
    v, _ = Vault.init(tmp / "sampler", "sampler")
    specs = parse_sensors(
        [{"id": f"t{i}", "driver": "cpu_temperature", "interval_s": 0.01} for i in range(12)]
    )
    before = rss_kib()
    stop = threading.Event()
    eng = RollupEngine(v, specs, window_s=1)
    s = Sampler(v, specs, eng, stop, driver_factory=lambda spec: _Constant(), close_every_s=0.5)
    th = threading.Thread(target=s.run)
    th.start()
    time.sleep(3.0)
    during = rss_kib()
    stop.set()
    th.join()
    reads = sum(st.reads for st in s.state.values())
    print(
        f"sampler: 12 sensors every 10 ms for 3 s: {reads} reads ({reads / 3:.0f}/s), "
        f"{eng.rollups_written} rollups (1 s windows); RSS {before / 1024:.1f} MiB before, "
        f"{during / 1024:.1f} MiB while sampling (+{(during - before) / 1024:.1f} MiB)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        bench_replay(Path(d))
        bench_sampler(Path(d))


if __name__ == "__main__":
    main()
