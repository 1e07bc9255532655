"""Two and three nodes syncing through a bare hub: the merge rules end to end (real repos)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pygit2
import pytest

from tests.test_sync_support import make_hub, make_nodes, rollup, snapshot
from vault_agent.sync.conflicts import list_conflicts, resolve
from vault_agent.sync.peers import add_peer
from vault_agent.sync.sync import sync_all
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree
from vault_agent.vault.hlc import Timestamp
from vault_agent.vault.repo import parse_trailers


@pytest.fixture
def ab(tmp_path):
    return make_nodes(tmp_path, ["node-a", "node-b"])


def settle(*nodes: Vault) -> None:
    """Two rounds through the hub: every node ends at the same commit."""
    for _ in range(2):
        for v in nodes:
            report = sync_all(v)
            assert report.ok, report.as_dict()


def test_additions_of_different_writers_merge_and_converge(ab):
    a, b = ab
    a.append_rollups([rollup("node-a", i) for i in range(3)])
    b.append_rollups([rollup("node-b", i) for i in range(2)])
    ra, _ = a.write_observation("Kitchen warm", title="warm")
    rb, _ = b.write_observation("Hall motion", title="motion")
    settle(a, b)
    assert snapshot(a) == snapshot(b)
    assert a.head() == b.head()
    assert (b.root / ra).exists() and (a.root / rb).exists()
    assert len(list(a.iter_rollups("node-b"))) == 2
    assert len(list(b.iter_rollups("node-a"))) == 3
    assert check_tree(a.root) == [] and check_tree(b.root) == []
    assert a.pending() == [] and b.pending() == []


def test_rollups_grow_on_both_sides_without_loss(ab):
    a, b = ab
    a.append_rollups([rollup("node-a", 0)])
    settle(a, b)
    a.append_rollups([rollup("node-a", 1)])
    sync_all(a)
    a.append_rollups([rollup("node-a", 2)])  # b fetches while a is ahead again
    sync_all(b)
    settle(a, b)
    got = [r.start for r in b.iter_rollups("node-a")]
    assert len(got) == len(set(got)) == 3


def test_text_conflict_keeps_ours_and_writes_theirs_as_copy(ab):
    a, b = ab
    a.write_file("knowledge-base/pump.md", "# Pump\n\nServiced in May.\n")
    settle(a, b)
    a.write_file("knowledge-base/pump.md", "# Pump\n\nServiced in June by A.\n", overwrite=True)
    b.write_file("knowledge-base/pump.md", "# Pump\n\nServiced in July by B.\n", overwrite=True)
    sync_all(a)
    report = sync_all(b)
    assert len(report.conflicts) == 1
    c = report.conflicts[0]
    assert c.path == "knowledge-base/pump.md" and c.writer == "node-a"
    assert c.copy.startswith("knowledge-base/pump.sync-conflict-") and c.copy.endswith("-node-a.md")
    assert "July by B" in (b.root / c.path).read_text()
    assert "June by A" in (b.root / c.copy).read_text()
    head = b.repo.head.peel(pygit2.Commit)
    trailers = parse_trailers(head.message)
    assert ("Vault-Kind", "merge") in trailers
    assert ("Vault-Conflict", f"{c.path} -> {c.copy}") in trailers
    settle(a, b)
    assert snapshot(a) == snapshot(b)
    assert [x.copy for x in list_conflicts(a)] == [c.copy]


def test_non_overlapping_text_edits_merge_by_lines(ab):
    a, b = ab
    a.write_file("knowledge-base/notes.md", "one\n\ntwo\n\nthree\n\nfour\n")
    settle(a, b)
    a.write_file("knowledge-base/notes.md", "ONE\n\ntwo\n\nthree\n\nfour\n", overwrite=True)
    b.write_file("knowledge-base/notes.md", "one\n\ntwo\n\nthree\n\nFOUR\n", overwrite=True)
    settle(a, b)
    assert (a.root / "knowledge-base/notes.md").read_text() == "ONE\n\ntwo\n\nthree\n\nFOUR\n"
    assert list_conflicts(a) == []


def test_shared_json_merges_key_by_key(ab):
    a, b = ab
    a.write_shared("global-state.json", {"heating": "on", "away": False})
    settle(a, b)
    a.write_shared("global-state.json", {"heating": "off", "away": False, "a_only": 1})
    b.write_shared("global-state.json", {"heating": "eco", "away": True, "b_only": 2})
    sync_all(a)
    report = sync_all(b)
    merged = b.read_shared("global-state.json")
    assert merged == {"heating": "eco", "away": True, "a_only": 1, "b_only": 2}
    (c,) = report.conflicts
    assert c.keys == ("heating",)
    assert json.loads((b.root / c.copy).read_text())["heating"] == "off"  # loser kept
    settle(a, b)
    assert a.read_shared("global-state.json") == merged


def test_edit_beats_delete(ab):
    a, b = ab
    a.write_file("knowledge-base/old.md", "# Old\n")
    settle(a, b)
    (a.root / "knowledge-base/old.md").unlink()
    b.write_file("knowledge-base/old.md", "# Old\n\nStill useful.\n", overwrite=True)
    settle(a, b)
    assert (a.root / "knowledge-base/old.md").read_text().endswith("Still useful.\n")
    # an unopposed delete does travel
    (a.root / "knowledge-base/old.md").unlink()
    settle(a, b)
    assert not (b.root / "knowledge-base/old.md").exists()


def test_conflict_copy_is_never_copied_again(ab):
    a, b = ab
    a.write_file("knowledge-base/x.md", "base\n")
    settle(a, b)
    a.write_file("knowledge-base/x.md", "A\n", overwrite=True)
    b.write_file("knowledge-base/x.md", "B\n", overwrite=True)
    settle(a, b)
    (copy,) = list_conflicts(a)
    a.write_file(copy.copy, "A edits the copy\n", overwrite=True)
    b.write_file(copy.copy, "B edits the copy\n", overwrite=True)
    sync_all(a)
    report = sync_all(b)
    assert report.conflicts == ()
    assert [r.path for r in report.refused] == [copy.copy]
    settle(a, b)
    assert len(list_conflicts(a)) == 1 == len(list_conflicts(b))


def test_hlc_advances_past_merged_records(ab):
    """A peer's stamp ahead of our clock, but within [sync] max_skew (1 day), is adopted
    (a stamp beyond it is kept but not adopted: tests/test_sync_peer_stamps.py)."""
    a, b = ab
    ahead = datetime.now(UTC) + timedelta(hours=2)
    future = ahead.strftime("%Y%m%dT%H%M%S.000Z") + "-0007"
    r = rollup("node-a", 0)
    a.append_rollups([type(r)(**{**r.__dict__, "hlc": future})])
    settle(a, b)
    assert b.hlc.last >= Timestamp.parse(future)
    assert b.hlc.now() > future


def test_three_nodes_transitive_and_mesh(tmp_path):
    a, b, c = make_nodes(tmp_path, ["node-a", "node-b", "node-c"])
    # a and c also peer directly (mesh); c's working copy is not bare, so a only fetches
    add_peer(a, "c", str(c.root))
    a.write_file("knowledge-base/from-c.md", "x\n")  # noise on a
    rc, _ = c.write_observation("Only c wrote this", title="c-note")
    c.commit("Observation", "observation")  # a peer's work travels once committed
    report = sync_all(a)
    by = {p.peer: p for p in report.peers}
    assert by["c"].status == "ok" and not by["c"].pushed
    assert (a.root / rc).exists()
    sync_all(b)  # b gets c's note through the hub, transitively (c never synced)
    assert (b.root / rc).exists()
    for v in (a, b, c, a, b, c):
        sync_all(v)
    assert snapshot(a) == snapshot(b) == snapshot(c)


def test_resolve_conflicts_keeps_history(ab):
    a, b = ab
    for keep, expect in (("ours", "B\n"), ("theirs", "A\n"), ("both", "B\n")):
        name = f"knowledge-base/{keep}.md"
        a.write_file(name, "base\n")
        settle(a, b)
        a.write_file(name, "A\n", overwrite=True)
        b.write_file(name, "B\n", overwrite=True)
        sync_all(a)
        sync_all(b)
        (c,) = [x for x in list_conflicts(b) if x.original == name]
        out = resolve(b, name, keep)
        assert (b.root / name).read_text() == expect
        assert not (b.root / c.copy).exists()
        if keep == "both":
            assert (b.root / out["kept_as"]).read_text() == "A\n"
        head = b.repo.head.peel(pygit2.Commit)
        assert ("Vault-Kind", "conflict") in parse_trailers(head.message)
        # the loser is still in history
        assert head.parents[0].tree[c.copy].data == b"A\n"
        settle(a, b)
    assert list_conflicts(a) == [] and snapshot(a) == snapshot(b)


def test_unrelated_and_empty_hub(tmp_path):
    hub = make_hub(tmp_path, "empty.git")
    v, _ = Vault.init(tmp_path / "solo", "solo")
    add_peer(v, "hub", str(hub))
    r = sync_all(v)
    assert r.peers[0].pushed and r.peers[0].status == "ok"
    assert pygit2.Repository(str(hub)).references["refs/heads/main"].target == v.repo.head.target


def test_criss_cross_mesh_merges_do_not_conflict_on_a_single_writers_file(tmp_path):
    """Found by the hypothesis test: node.toml 'conflicts' after criss-cross merges."""
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    add_peer(a, "b", str(b.root))
    add_peer(b, "a", str(a.root))
    a.write_file("knowledge-base/a.md", "a\n")
    b.write_file("knowledge-base/b.md", "b\n")
    sync_all(a, peer="b")
    sync_all(b, peer="a")  # both merged each other: two merge bases now
    add_peer(a, "extra", str(tmp_path / "nowhere.git"))  # a's node.toml moves on
    b.write_file("knowledge-base/b2.md", "b2\n")
    for _ in range(2):
        ra = sync_all(a, peer="b")
        rb = sync_all(b, peer="a")
        assert ra.conflicts == () == rb.conflicts
        assert ra.refused == () == rb.refused
    assert snapshot(a) == snapshot(b)
    assert [p["name"] for p in b.node_config("node-a")["peers"]] == ["hub", "b", "extra"]
