"""``vault demo``: a NAS hub and three nodes from the bundled real data, end to end.

Nodes (one recorded node ↔ one vault node):

- ``alpaca-1``: room-occupancy-estimation node S1 (temperature, light, sound);
- ``alpaca-2``: room-occupancy-estimation node S6 (PIR motion);
- ``office``: occupancy-detection (temperature, humidity, light, CO2), partitioned
  from the hub until the last round, as a node that was offline for days.

Each round replays one more recorded day on every node (backfill, through the same
:class:`~vault_agent.agent.daemon.Agent` as ``vault agent run``), then the connected
nodes sync with the hub. A final round syncs everyone twice so all trees converge;
then one node indexes, answers three questions and builds the site, and a last sync
round carries the logged questions to every node, so all end on one tree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..ask.ask import ask
from ..errors import VaultError
from ..index.indexer import Indexer
from ..sensors import datasets
from ..site.build import build_site
from ..sync import transport
from ..sync.peers import add_peer
from ..sync.sync import sync_all
from ..vault import Vault
from ..vault.hub import init_bare
from .daemon import Agent, AgentOptions, sync_summary


@dataclass(frozen=True)
class DemoNode:
    """A demo node: vault node id, bundled data set, recorded source node, partitioned?"""

    node: str
    dataset: str
    source: str | None
    partitioned: bool = False


NODES = (
    DemoNode("alpaca-1", "room-occupancy-estimation", "S1"),
    DemoNode("alpaca-2", "room-occupancy-estimation", "S6"),
    DemoNode("office", "occupancy-detection", None, partitioned=True),
)
QUESTIONS = (
    "When was the CO2 highest in the office?",
    "How warm was it on 2017-12-22?",
    "When was there motion in the room?",
)


def recorded_days(path: Path, source: str | None) -> list[datetime]:
    """UTC midnights of the days present in a data file, in order (via the replay reader)."""
    from ..sensors import replay as rp

    fmt = rp.detect_format(path)
    src = source or fmt.default_source
    days: dict = {}
    for row in rp.iter_rows(path, fmt, fmt.columns_of(src)[:1], []):
        days.setdefault(row.t.date(), None)
    return [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]


def _sync(v: Vault) -> str:
    return sync_summary(sync_all(v, force=True))


def run_demo(
    root: Path,
    days: int | None = None,
    site: bool = True,
    echo: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Build and run the demo under ``root`` (must be absent or empty).

    Returns a report dict (nodes, head commits, questions and answers, site path,
    timings in seconds).

    Raises:
        VaultError: ``root`` is not empty.
    """
    say = echo or (lambda s: None)
    t0 = time.monotonic()
    root = Path(root).resolve()
    if root.exists() and any(root.iterdir()):
        raise VaultError(f"{root} is not empty; give the demo a new folder")
    hub = root / "nas" / "homelab-ai.git"
    init_bare(hub)
    say(f"NAS hub: {hub}")
    vaults: dict[str, Vault] = {}
    for i, spec in enumerate(NODES):
        path = root / spec.node
        if i == 0:
            v, _ = Vault.init(path, spec.node, name="homelab-ai")
        else:
            v, _ = Vault.init(path, spec.node, from_url=str(hub), clone=transport.clone)
        add_peer(v, "nas", str(hub))
        if i == 0:
            _sync(v)
        vaults[spec.node] = v
        src = f" {spec.source}" if spec.source else ""
        part = ", partitioned" if spec.partitioned else ""
        say(f"node {spec.node}: {path} (replays {spec.dataset}{src}{part})")

    plan = {s.node: recorded_days(datasets.resolve(s.dataset), s.source) for s in NODES}
    rounds = max(len(d) for d in plan.values())
    if days:
        rounds = min(rounds, days)
    timings: dict[str, float] = {}
    t = time.monotonic()
    for r in range(rounds):
        for spec in NODES:
            node_days = plan[spec.node]
            if r >= len(node_days):
                continue
            _replay_day(vaults[spec.node], spec, node_days[r])
        for spec in NODES:
            if not spec.partitioned:
                _sync(vaults[spec.node])
        say(
            f"round {r + 1}/{rounds}: replayed one recorded day per node; synced "
            + ", ".join(s.node for s in NODES if not s.partitioned)
        )
    timings["replay_s"] = round(time.monotonic() - t, 1)

    t = time.monotonic()
    for _ in range(2):  # the partitioned node comes back; two rounds carry everything everywhere
        for spec in NODES:
            say(f"sync {spec.node}: {_sync(vaults[spec.node])}")
    timings["sync_s"] = round(time.monotonic() - t, 1)

    coordinator = vaults[NODES[0].node]
    answers = _ask_all(coordinator, say, timings)
    site_dir = _build_site(coordinator, say, timings) if site else None
    # the logged questions travel too: the coordinator pushes, then every node pulls,
    # so the demo ends with all nodes and the hub on one tree
    t = time.monotonic()
    for spec in NODES:
        say(f"sync {spec.node}: {_sync(vaults[spec.node])}")
    timings["final_sync_s"] = round(time.monotonic() - t, 1)
    heads = {n: v.head() for n, v in vaults.items()}
    converged = len(set(heads.values())) == 1
    say(
        "heads: "
        + ", ".join(f"{n} {h[:10] if h else '-'}" for n, h in heads.items())
        + (" (one tree)" if converged else " (NOT converged)")
    )
    timings["total_s"] = round(time.monotonic() - t0, 1)
    say(f"done in {timings['total_s']} s")
    for line in browse_hints(root, coordinator, site_dir):
        say(line)
    return {
        "root": str(root),
        "hub": str(hub),
        "nodes": list(vaults),
        "heads": heads,
        "converged": converged,
        "answers": answers,
        "site": str(site_dir) if site_dir else None,
        "timings": timings,
    }


def browse_hints(root: Path, coordinator: Vault, site_dir: Path | None) -> list[str]:
    """What to run next to look at the demo (commands with real paths)."""
    v = coordinator.root
    lines = ["", "browse it:"]
    if site_dir:
        lines.append(
            f"  vault site serve --vault {v}     # the static site ({site_dir}/index.html)"
        )
    lines += [
        f"  vault serve --vault {v}          # live pages: sensors, observations, ask",
        f"  vault observations --vault {v} -n 10",
        f'  vault ask --vault {v} "which day was the coldest in the office?"',
        f"  cd {root / 'office'} && vault log -n 5     # any node: its history",
    ]
    return lines


def _replay_day(v: Vault, spec: DemoNode, day: datetime) -> None:
    """Replay one recorded day through the agent (backfill, no sync: the demo syncs)."""
    from ..sensors import replay as rp

    path = datasets.resolve(spec.dataset)
    rp.configure_node(v, path, source=spec.source)
    opts = AgentOptions(
        once=True,
        replay=path,
        source=spec.source,
        backfill=True,
        since=day,
        until=day + timedelta(days=1),
        sync=False,
        index=False,
        log_stderr=False,
    )
    Agent(v, opts).run()


def _ask_all(v: Vault, say: Callable[[str], None], timings: dict[str, float]) -> list[dict]:
    t = time.monotonic()
    say(f"indexing {v.node}'s copy for search (BM25 + vectors)…")
    Indexer(v).update()
    timings["index_s"] = round(time.monotonic() - t, 1)
    say(f"indexed in {timings['index_s']} s; asking {len(QUESTIONS)} questions")
    out = []
    for q in QUESTIONS:
        res = ask(v, q, log=True)
        d = res.as_dict() if hasattr(res, "as_dict") else dict(res)
        out.append(d)
        how = "" if d.get("llm", True) else " (no LLM: computed from the vault's files)"
        say(f"\nQ: {q}\nA{how}: {d.get('answer', '').strip()[:600]}")
        for c in d.get("citations", [])[:5]:
            say(f"   cited: {c if isinstance(c, str) else c.get('path')}")
    timings["ask_s"] = round(time.monotonic() - t - timings["index_s"], 1)
    return out


def _build_site(v: Vault, say: Callable[[str], None], timings: dict[str, float]) -> Path | None:
    t = time.monotonic()
    report = build_site(v)
    timings["site_s"] = round(time.monotonic() - t, 1)
    html = Path(getattr(report, "html_dir", v.root / ".vault" / "site"))
    say(f"site: {html}/index.html")
    return html
