"""``vault demo``: a NAS hub and three nodes from the bundled real data, end to end.

Nodes (one recorded node ↔ one vault node):

- ``alpaca-1``: room-occupancy-estimation node S1 (temperature, light, sound);
- ``alpaca-2``: room-occupancy-estimation node S6 (PIR motion);
- ``office``: occupancy-detection (temperature, humidity, light, CO2), partitioned
  from the hub until the last round, as a node that was offline for days.

Each round replays one more recorded day on every node (backfill, through the same
:class:`~vault_agent.agent.daemon.Agent` as ``vault agent run``), then the connected
nodes sync with the hub. A final round syncs everyone twice so all trees converge;
then one node answers :data:`QUESTIONS` (computed from the rollup lines, no index
needed, so the first answer comes right after the sync), indexes its copy for
``vault search``/text questions and builds the site; a last sync round carries the
logged questions to every node, so all end on one tree.

Every step that can take more than 2 s reports ``(step, done, total)`` to ``progress``
(``vault demo`` draws it with rich on stderr); the lines a person reads go to ``echo``.
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
# What the product answers well, on days every demo run replays (``--days 2`` too): a
# number with its time, a time, times of motion, a which-day, what a node noticed, and
# a day with no data (the answer says what the data covers instead of a value).
QUESTIONS = (
    "What was the highest CO2 in the office on 2015-02-05?",
    "When did the office light first go on, on 2015-02-05?",
    "When was there motion in the room on 2017-12-22?",
    "Which day was the coldest in the office?",
    "What did the office node notice on 2015-02-05?",
    "How warm was the office on 2015-03-01?",
)
MAX_CITED = 3  # cited lines shown per answer in the demo's output (the rest counted)
Progress = Callable[[str, int, int], None]  # (step, done, total); total 0: unknown


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
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build and run the demo under ``root`` (must be absent or empty).

    ``echo`` receives the lines to read; ``progress`` receives ``(step, done, total)``
    as each step advances (see the module docstring).

    Returns a report dict (nodes, head commits, questions and answers, site path,
    timings in seconds).

    Raises:
        VaultError: ``root`` is not empty.
    """
    say = echo or (lambda s: None)
    step: Progress = progress or (lambda label, done, total: None)
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
    connected = [s for s in NODES if not s.partitioned]
    for r in range(rounds):
        label = f"round {r + 1}/{rounds}"
        todo = len(NODES) + len(connected)
        for i, spec in enumerate(NODES):
            node_days = plan[spec.node]
            step(f"{label}: replaying a recorded day on {spec.node}", i, todo)
            if r < len(node_days):
                _replay_day(vaults[spec.node], spec, node_days[r])
        for i, spec in enumerate(connected, len(NODES)):
            step(f"{label}: syncing {spec.node} with the hub", i, todo)
            _sync(vaults[spec.node])
        say(
            f"round {r + 1}/{rounds}: replayed one recorded day per node; synced "
            + ", ".join(s.node for s in NODES if not s.partitioned)
        )
    timings["replay_s"] = round(time.monotonic() - t, 1)

    t = time.monotonic()
    for k in range(2):  # the partitioned node comes back; two rounds carry everything everywhere
        for i, spec in enumerate(NODES):
            step(f"syncing {spec.node} with the hub", k * len(NODES) + i, 2 * len(NODES))
            say(f"sync {spec.node}: {_sync(vaults[spec.node])}")
    timings["sync_s"] = round(time.monotonic() - t, 1)

    coordinator = vaults[NODES[0].node]
    answers = _ask_all(coordinator, say, step, timings)
    _index(coordinator, say, step, timings)
    site_dir = _build_site(coordinator, say, step, timings) if site else None
    # the logged questions travel too: the coordinator pushes, then every node pulls,
    # so the demo ends with all nodes and the hub on one tree
    t = time.monotonic()
    for i, spec in enumerate(NODES):
        step(f"syncing {spec.node} with the hub", i, len(NODES))
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


def _ask_all(
    v: Vault, say: Callable[[str], None], step: Progress, timings: dict[str, float]
) -> list[dict]:
    """Ask :data:`QUESTIONS` on ``v`` and print each answer in full with its cited lines."""
    from ..query import Store

    t = time.monotonic()
    say(f"\nasking {v.node} {len(QUESTIONS)} questions (no LLM: answers computed from the files)")
    store = Store(v.root)  # one warm query layer for all questions
    out = []
    for i, q in enumerate(QUESTIONS):
        step(f"asking: {q}", i, len(QUESTIONS))
        d = ask(v, q, log=True, store=store, use_llm=False).as_dict()
        out.append(d)
        say("\n" + "\n".join(answer_lines(d)))
    timings["ask_s"] = round(time.monotonic() - t, 1)
    return out


def answer_lines(d: dict[str, Any], max_cited: int = MAX_CITED) -> list[str]:
    """A question and its answer as a person reads them: ``Q:``, the whole answer, then
    at most ``max_cited`` cited lines or notes (each a whole vault path) and a count of
    the rest. ``d`` is :meth:`vault_agent.ask.ask.AskResult.as_dict`."""
    lines = [f"Q: {d['question']}"]
    body = d.get("answer", "").strip().splitlines() or [""]
    lines.append(f"A: {body[0]}")
    lines += [f"   {ln}" for ln in body[1:] if ln.strip()]
    cited = [c["path"] for c in d.get("citations") or []]
    for n, path in enumerate(cited[:max_cited], 1):
        lines.append(f"   cited [{n}] {path}")
    if len(cited) > max_cited:
        lines.append(f"   … and {len(cited) - max_cited} more cited")
    return lines


def _index(v: Vault, say: Callable[[str], None], step: Progress, timings: dict[str, float]) -> None:
    t = time.monotonic()
    step(f"indexing {v.node}'s copy for search (loading the embedder)", 0, 0)
    Indexer(v).update(progress=lambda done, total: step("indexing for search", done, total))
    timings["index_s"] = round(time.monotonic() - t, 1)
    say(f"\nindexed {v.node}'s copy for vault search (BM25 + vectors) in {timings['index_s']} s")


def _build_site(
    v: Vault, say: Callable[[str], None], step: Progress, timings: dict[str, float]
) -> Path | None:
    t = time.monotonic()
    step("building the site", 0, 0)
    report = build_site(v, on_progress=lambda ph, done, total: step(f"site: {ph}", done, total))
    timings["site_s"] = round(time.monotonic() - t, 1)
    html = Path(getattr(report, "html_dir", v.root / ".vault" / "site"))
    say(f"site: {html}/index.html (built in {timings['site_s']} s)")
    return html
