"""Sync after a long partition: 3 nodes each offline 90 days, then one full sync round.

Each node writes 5 sensors' 300 s rollups (288 lines per sensor per day, generated
directly as JSONL), an observation every hour and commits once a day, all offline.
Then a full round through a bare hub: every node runs ``sync_all`` (hub topology:
node 1, 2, 3, then 1 and 2 again so all end at the same commit).

Baseline, in the same run, on byte-identical copies of the same repositories: plain
git CLI ``git fetch hub`` + ``git merge --no-edit hub/main`` + ``git push hub main``
in the same order. Figures: wall time of the round and the packed size of every
repository after ``git repack -adq`` (vault / git ratios).

    python benchmarks/sync.py [--days 90] [--nodes 3] [--sensors 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vault_agent.sync.peers import add_peer
from vault_agent.sync.sync import sync_all
from vault_agent.vault import Vault, layout
from vault_agent.vault.hlc import Timestamp
from vault_agent.vault.hub import init_bare
from vault_agent.vault.records import Observation

START = datetime(2025, 7, 1, tzinfo=UTC)
WINDOW_S = 300


def rollup_day(node: str, day: datetime, sensors: int) -> str:
    """One day of synthetic 300 s rollups for ``sensors`` sensors (JSONL text)."""
    lines = []
    for w in range(86400 // WINDOW_S):
        start = day + timedelta(seconds=w * WINDOW_S)
        end = start + timedelta(seconds=WINDOW_S)
        s, e = start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")
        hlc = str(Timestamp(int(end.timestamp() * 1000), 0))
        for k in range(sensors):
            mean = 20.0 + k + 2.0 * ((w % 144) / 144.0)
            lines.append(
                f'{{"v":1,"node":"{node}","sensor":"s{k}-temp","quantity":"temperature",'
                f'"unit":"°C","start":"{s}","end":"{e}","count":300,"mean":{mean:.3f},'
                f'"min":{mean - 0.2:.3f},"max":{mean + 0.2:.3f},"last":{mean:.3f},'
                f'"stddev":0.08,"hlc":"{hlc}"}}'
            )
    return "\n".join(lines) + "\n"


def observation(node: str, t: datetime, seq: int) -> tuple[str, str]:
    """(vault path, Markdown) of a synthetic hourly observation."""
    oid = layout.observation_id(node, t, seq)
    obs = Observation(
        id=oid,
        node=node,
        created=layout.iso(t),
        body=(f"Hour {t:%H}: temperatures steady, mean {20 + seq % 7}.{seq % 10} °C; no motion."),
        hlc=str(Timestamp(int(t.timestamp() * 1000), 0)),
        title="hourly",
        sensors=("s0-temp",),
        window={"start": layout.iso(t - timedelta(hours=1)), "end": layout.iso(t)},
        confidence=0.6,
        model="rules/v1",
        sources=(layout.rollup_path(node, t.date()),),
    )
    return layout.observation_path(node, t, seq, "hourly"), obs.to_markdown()


def offline(v: Vault, days: int, sensors: int) -> None:
    """``days`` days of rollups, hourly observations and one commit per day."""
    seq = 0
    for d in range(days):
        day = START + timedelta(days=d)
        rel = layout.rollup_path(v.node, day.date())
        p = v.path(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rollup_day(v.node, day, sensors))
        for h in range(24):
            seq += 1
            orel, text = observation(v.node, day + timedelta(hours=h, minutes=5), seq)
            op = v.path(orel)
            op.parent.mkdir(parents=True, exist_ok=True)
            op.write_text(text)
        v.commit(f"Day {day:%Y-%m-%d}", "rollup")


def git(cwd: Path, *args: str) -> str:
    """Run git quietly; returns stdout."""
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"git {' '.join(args)} in {cwd}: {r.stderr}")
    return r.stdout


def packed_size(repo: Path) -> int:
    """Bytes under objects/ after ``git repack -adq`` (all objects in one pack)."""
    git(repo, "repack", "-adq")
    objects = repo / "objects" if (repo / "objects").is_dir() else repo / ".git" / "objects"
    return sum(f.stat().st_size for f in objects.rglob("*") if f.is_file())


def tree_of(repo: Path) -> str:
    """The tree id of ``main`` (to show both methods end with the same content)."""
    return git(repo, "rev-parse", "main^{tree}").strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--sensors", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vault-bench-sync-"))
    try:
        run(tmp, args)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path, args: argparse.Namespace) -> None:
    """Build the partitioned vaults, then time both sync methods."""
    names = [f"node-{i}" for i in range(args.nodes)]
    vdir, gdir = tmp / "vault", tmp / "git"
    vdir.mkdir()
    hub = vdir / "hub.git"
    init_bare(hub)
    t0 = time.perf_counter()
    first, _ = Vault.init(vdir / names[0], names[0])
    add_peer(first, "hub", str(hub))
    sync_all(first)
    nodes = [first]
    for n in names[1:]:
        v, _ = Vault.init(vdir / n, n, from_url=str(hub))
        add_peer(v, "hub", str(hub))
        nodes.append(v)
    for v in nodes:
        offline(v, args.days, args.sensors)
    gen_s = time.perf_counter() - t0
    shutil.copytree(vdir, gdir, symlinks=True)  # identical repos for the baseline
    for n in names:
        git(gdir / n, "remote", "set-url", "hub", str(gdir / "hub.git"))
    lines = args.days * args.sensors * 86400 // WINDOW_S
    print(
        f"{args.nodes} nodes x {args.days} days offline: {lines} rollup lines and "
        f"{args.days * 24} observations per node, {args.days} commits per node "
        f"(generated in {gen_s:.1f} s)"
    )

    order = names + names[:-1]
    t0 = time.perf_counter()
    for n in order:
        v = Vault.open(vdir / n)
        report = sync_all(v, peer="hub", timeout_s=600)
        if not report.ok or report.conflicts or report.refused:
            raise SystemExit(f"vault sync of {n} failed: {report.as_dict()}")
    vault_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    for n in order:
        repo = gdir / n
        git(repo, "fetch", "-q", "hub")
        git(repo, "merge", "-q", "--no-edit", "hub/main")
        git(repo, "push", "-q", "hub", "main")
    git_s = time.perf_counter() - t0

    vtrees = {tree_of(vdir / n) for n in names}
    gtrees = {tree_of(gdir / n) for n in names}
    vsize = sum(packed_size(vdir / n) for n in names) + packed_size(hub)
    gsize = sum(packed_size(gdir / n) for n in names) + packed_size(gdir / "hub.git")
    print(
        f"same final tree on every node: vault {len(vtrees) == 1}, git {len(gtrees) == 1}, "
        f"vault == git {vtrees == gtrees}"
    )
    print(
        f"full sync round wall time: vault sync {vault_s:.2f} s, git fetch+merge+push "
        f"{git_s:.2f} s, ratio {vault_s / git_s:.2f}"
    )
    print(
        f"packed size (all nodes + hub): vault {vsize / 2**20:.1f} MiB, git "
        f"{gsize / 2**20:.1f} MiB, ratio {vsize / gsize:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
