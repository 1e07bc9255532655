"""Benchmark ``vault site build`` against a plain ``mkdocs build`` of the same Markdown.

Builds a synthetic vault of about ``--pages`` pages (day pages of several nodes, plus
one observation page for every ~10 days), then measures in the same run:

1. ``build_site(clean=True)``: Markdown generation + MkDocs/material HTML (full build);
2. ``mkdocs build`` (the CLI, in a subprocess) of the very same generated Markdown and
   config into another folder: the baseline;
3. an incremental ``build_site`` after one rollup line is appended to one day;
4. an incremental ``build_site`` with nothing changed.

Prints the times and the ratios to the baseline. Usage::

    python benchmarks/site.py [--pages 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from vault_agent.site.build import build_site
from vault_agent.vault import Rollup, Vault

NODES = ("alpaca-1", "alpaca-2", "llama")
SENSORS = (
    ("temp", "temperature", "°C", 20.0, 4.0),
    ("humidity", "humidity", "%RH", 45.0, 10.0),
    ("co2", "co2", "ppm", 600.0, 300.0),
)
ISO = "%Y-%m-%dT%H:%M:%SZ"


def rollups_of_day(node: str, day: datetime) -> list[Rollup]:
    """24 hourly windows × 3 sensors with a daily cycle (deterministic)."""
    import math

    out = []
    for h in range(24):
        start = day + timedelta(hours=h)
        for sensor, q, unit, base, amp in SENSORS:
            mean = base + amp * math.sin((h - 9) / 24 * 2 * math.pi) + (day.toordinal() % 7) * 0.1
            out.append(
                Rollup(
                    node=node,
                    sensor=sensor,
                    quantity=q,
                    unit=unit,
                    start=start.strftime(ISO),
                    end=(start + timedelta(hours=1)).strftime(ISO),
                    count=60,
                    mean=round(mean, 3),
                    min=round(mean - amp * 0.05, 3),
                    max=round(mean + amp * 0.05, 3),
                    last=round(mean, 3),
                    stddev=0.1,
                    hlc="bench",
                )
            )
    return out


def make_vault(root: Path, pages: int) -> Vault:
    """A vault whose site has about ``pages`` pages."""
    days_per_node = max(1, int(pages / len(NODES) / 1.1))
    t0 = datetime(2018, 1, 1, tzinfo=UTC)
    first = None
    for node in NODES:
        if first is None:
            first, _ = Vault.init(root, node)
        v = Vault(root, node)
        batch: list[Rollup] = []
        for d in range(days_per_node):
            batch += rollups_of_day(node, t0 + timedelta(days=d))
            if len(batch) > 20000:
                v.append_rollups(batch, fsync=False)
                batch = []
        v.append_rollups(batch, fsync=False)
        for d in range(0, days_per_node, 10):
            day = t0 + timedelta(days=d, hours=15)
            v.write_observation(
                f"Temperature peaked at {20 + d % 4} °C in the afternoon.",
                title=f"Afternoon peak {d}",
                sensors=["temp"],
                window={
                    "start": day.strftime(ISO),
                    "end": (day + timedelta(hours=1)).strftime(ISO),
                },
                confidence=0.6,
                created=day + timedelta(hours=1),
            )
        v.commit(f"{days_per_node} days of {node}", "rollup")
    return Vault.open(root, NODES[0])


def plain_mkdocs(v: Vault, out: Path) -> float:
    """Seconds for ``mkdocs build`` (CLI) of the generated Markdown with the same config."""
    cfg_path = v.root / ".vault" / "site-mkdocs.yml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    cfg["site_dir"] = str(out)
    plain = cfg_path.with_name("bench-mkdocs.yml")
    plain.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    t = time.perf_counter()
    subprocess.run(
        [str(mkdocs), "build", "-q", "-f", str(plain)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10000, help="about this many pages")
    ap.add_argument("--keep", type=Path, default=None, help="build in this folder and keep it")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory() if args.keep is None else None
    root = Path(tmp.name if tmp else args.keep) / "vault"
    t = time.perf_counter()
    v = make_vault(root, args.pages)
    print(f"vault made in {time.perf_counter() - t:.1f} s ({root})")

    full = build_site(v, clean=True)
    pages = full.pages_written
    print(
        f"vault site build --clean : {full.seconds:7.1f} s  {pages} pages "
        f"({full.html_rendered} rendered)"
    )
    base = plain_mkdocs(v, root.parent / "plain-site")
    print(f"plain mkdocs build       : {base:7.1f} s  same Markdown and config")
    print(f"ratio full / plain       : {full.seconds / base:7.2f}")

    day = datetime(2018, 1, 5, tzinfo=UTC)
    one = rollups_of_day(NODES[1], day)[:1]
    late = day + timedelta(hours=23, minutes=30)
    one = [
        Rollup(
            **{
                **one[0].__dict__,
                "start": late.strftime(ISO),
                "mean": 99.0,
                "max": 99.5,
                "end": (late + timedelta(minutes=29)).strftime(ISO),
            }
        )
    ]
    Vault(root, NODES[1]).append_rollups(one)
    Vault(root, NODES[1]).commit("one late rollup", "rollup")
    inc = build_site(v)
    print(
        f"incremental, one day     : {inc.seconds:7.1f} s  {inc.pages_written} pages written, "
        f"{inc.html_rendered} rendered"
    )
    print(f"ratio incremental / plain: {inc.seconds / base:7.3f}")
    same = build_site(v)
    print(f"incremental, no change   : {same.seconds:7.1f} s  {same.pages_written} written")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
