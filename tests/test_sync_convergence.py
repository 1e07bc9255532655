"""Convergence, checked by hypothesis: 3–5 nodes and a hub, random writes, edits of shared
files on several nodes, partitions and syncs in random pairs. After a final full round
through the hub every tree is identical, every record written anywhere is present
exactly once, every version that lost a conflict survives (as a conflict copy or in the
JSON merge) and ``vault check`` passes everywhere."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from tests.test_sync_support import make_nodes, rollup, snapshot
from vault_agent.sync.peers import add_peer
from vault_agent.sync.sync import sync_all
from vault_agent.vault.check import check_tree

KB = ("knowledge-base/pump.md", "knowledge-base/garden.md")
SHARED = "global-state.json"
KEYS = ("heating", "away", "guests")
SENSORS = ("kitchen-temp", "hall-humidity")


class SyncMachine(RuleBasedStateMachine):
    """Random writes and syncs over real vaults; checks run in :meth:`teardown`."""

    @initialize(n=st.integers(min_value=3, max_value=5))
    def make(self, n: int) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vault-sync-"))
        self.nodes = make_nodes(self.tmp, [f"n{i}" for i in range(n)])
        self.offline: set[int] = set()
        self.next_roll = [0] * n
        self.rollups: dict[str, set[tuple[str, str]]] = {v.node: set() for v in self.nodes}
        self.observations: set[str] = set()
        self.counter = 0
        self.kb_versions: set[str] = set()
        self.kb_superseded: set[str] = set()
        self.json_values: set[tuple[str, str]] = set()
        self.json_superseded: set[tuple[str, str]] = set()

    def _node(self, i: int):
        return self.nodes[i % len(self.nodes)]

    @precondition(lambda self: hasattr(self, "nodes"))
    @rule(i=st.integers(0, 4), count=st.integers(1, 4), sensor=st.sampled_from(SENSORS))
    def write_rollups(self, i: int, count: int, sensor: str) -> None:
        v = self._node(i)
        k = self.nodes.index(v)
        rows = [rollup(v.node, self.next_roll[k] + j, sensor=sensor) for j in range(count)]
        self.next_roll[k] += count
        v.append_rollups(rows)
        self.rollups[v.node] |= {(r.sensor, r.start) for r in rows}

    @precondition(lambda self: hasattr(self, "nodes"))
    @rule(i=st.integers(0, 4))
    def write_observation(self, i: int) -> None:
        v = self._node(i)
        rel, _ = v.write_observation(f"Note {self.counter} from {v.node}", title="note")
        self.counter += 1
        self.observations.add(rel)

    @precondition(lambda self: hasattr(self, "nodes"))
    @rule(i=st.integers(0, 4), path=st.sampled_from(KB))
    def edit_knowledge(self, i: int, path: str) -> None:
        v = self._node(i)
        p = v.root / path
        if p.exists():
            self.kb_superseded.add(p.read_text())
        text = f"{v.node} edit {self.counter}\n"
        self.counter += 1
        v.write_file(path, text, overwrite=True)
        self.kb_versions.add(text)

    @precondition(lambda self: hasattr(self, "nodes"))
    @rule(i=st.integers(0, 4), key=st.sampled_from(KEYS))
    def edit_shared(self, i: int, key: str) -> None:
        v = self._node(i)
        data = v.read_shared(SHARED)
        if key in data:
            self.json_superseded.add((key, data[key]))
        value = f"{v.node}-{self.counter}"
        self.counter += 1
        data[key] = value
        v.write_shared(SHARED, data)
        self.json_values.add((key, value))

    @precondition(lambda self: hasattr(self, "nodes"))
    @rule(i=st.integers(0, 4))
    def toggle_partition(self, i: int) -> None:
        self.offline ^= {i % len(self.nodes)}

    @precondition(lambda self: hasattr(self, "nodes"))
    @rule(i=st.integers(0, 4))
    def sync_with_hub(self, i: int) -> None:
        k = i % len(self.nodes)
        if k not in self.offline:
            report = sync_all(self.nodes[k], peer="hub")
            assert report.ok, report.as_dict()
            assert report.refused == (), report.as_dict()

    @precondition(lambda self: hasattr(self, "nodes"))
    @rule(i=st.integers(0, 4), j=st.integers(0, 4))
    def sync_pair(self, i: int, j: int) -> None:
        a, b = i % len(self.nodes), j % len(self.nodes)
        if a == b or a in self.offline or b in self.offline:
            return
        va, vb = self.nodes[a], self.nodes[b]
        name = f"peer-{vb.node}"
        if name not in {r.name for r in va.repo.remotes}:
            add_peer(va, name, str(vb.root))
        report = sync_all(va, peer=name)
        assert report.ok, report.as_dict()
        assert report.refused == (), report.as_dict()

    def teardown(self) -> None:
        if not hasattr(self, "nodes"):
            return
        try:
            self._final_round_and_check()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _final_round_and_check(self) -> None:
        for _ in range(2):
            for v in self.nodes:
                report = sync_all(v, peer="hub")
                assert report.ok and report.refused == (), report.as_dict()
        snaps = [snapshot(v) for v in self.nodes]
        assert all(s == snaps[0] for s in snaps[1:]), "trees differ after a full round"
        assert len({v.head() for v in self.nodes}) == 1
        v = self.nodes[0]
        for node, expected in self.rollups.items():
            seen = Counter((r.sensor, r.start) for r in v.iter_rollups(node))
            assert set(seen) == expected, f"rollups of {node} lost or invented"
            assert max(seen.values(), default=1) == 1, f"rollups of {node} duplicated"
        assert set(v.observation_files()) == self.observations
        texts = {(v.root / p).read_text() for p in snaps[0] if p.startswith("knowledge-base/")}
        lost = (self.kb_versions - self.kb_superseded) - texts
        assert not lost, f"knowledge-base versions lost: {lost}"
        pairs = set()
        for p in snaps[0]:
            if p.startswith("shared-memory/") and p.endswith(".json"):
                pairs |= {
                    (k, x)
                    for k, x in json.loads((v.root / p).read_text()).items()
                    if isinstance(x, str)
                }
        lost_json = (self.json_values - self.json_superseded) - pairs
        assert not lost_json, f"shared-memory values lost: {lost_json}"
        for node in self.nodes:
            assert check_tree(node.root) == [], node.node
            assert node.pending() == []


SyncMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_convergence = pytest.mark.slow(SyncMachine.TestCase)
