"""``vault sync`` commits only what ``vault commit`` accepts (issue 19.5).

The issue's scenario: a committed rollup line is rewritten and a folder
``agents/Bad Name/`` appears. Before, sync committed and pushed both, peers refused
them, and every round added merge commits without the trees ever converging. Now sync
commits the rest, leaves both uncommitted and reports them; the committed trees
converge and the commit count stops growing.
"""

from __future__ import annotations

import json

import pygit2
import pytest
from click.testing import CliRunner

from tests.test_sync_support import make_nodes, rollup
from vault_agent.cli import main
from vault_agent.sync.sync import sync_all
from vault_agent.vault.precommit import summary_of


def _commits(repo: pygit2.Repository) -> int:
    return sum(1 for _ in repo.walk(repo.head.target))


def _hub_commits(tmp_path) -> int:
    hub = pygit2.Repository(str(tmp_path / "hub.git"))
    return sum(1 for _ in hub.walk(hub.references["refs/heads/main"].target))


def test_sync_leaves_what_commit_refuses_uncommitted_and_peers_converge(tmp_path):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    a.append_rollups([rollup("node-a", i, value=20.0 + i) for i in range(3)])
    assert sync_all(a).ok and sync_all(b).ok
    rel = a.rollup_files("node-a")[0]
    committed = (a.root / rel).read_bytes()
    rewritten = committed.replace(b'"mean":21.0', b'"mean":99.0', 1)
    assert rewritten != committed
    (a.root / rel).write_bytes(rewritten)
    (a.root / "agents/Bad Name").mkdir()
    (a.root / "agents/Bad Name/x.md").write_text("# x\n")
    a.write_file("knowledge-base/fine.md", "# a fine page\n")
    # what `vault commit` says about the same changes (the truth to match)
    refused_by_commit = CliRunner().invoke(main, ["commit", "--vault", str(a.root)])
    assert refused_by_commit.exit_code == 1
    assert "append-only" in refused_by_commit.output and "Bad Name" in refused_by_commit.output

    report = sync_all(a)
    assert report.ok
    assert sorted({p.path for p in report.not_committed}) == [
        "agents/Bad Name/x.md",
        rel,
    ]
    assert any("append-only" in p.message for p in report.not_committed)
    head = a.repo.head.peel(pygit2.Commit)
    assert head.tree[rel].data == committed  # the rewrite was not committed
    assert "agents/Bad Name/x.md" not in {e.path for e in a.repo.index}
    assert "knowledge-base/fine.md" in head.tree  # the rest was
    assert sorted(a.pending()) == ["agents/Bad Name/x.md", rel]
    assert (a.root / rel).read_bytes() == rewritten  # the person's file is untouched

    counts = []
    for _ in range(3):
        b.write_file("knowledge-base/b.md", "# b\n", overwrite=True)  # same after round 1
        for v in (a, b, a):
            r = sync_all(v)
            assert r.ok, r.as_dict()
            assert r.refused == ()  # peers never see a change to refuse
        counts.append(_hub_commits(tmp_path))
        assert a.repo.head.peel(pygit2.Commit).tree_id == b.repo.head.peel(pygit2.Commit).tree_id
    assert counts[1] == counts[2], counts  # no merge commit per round any more
    assert _commits(a.repo) == _commits(b.repo) == counts[-1]
    assert (b.root / rel).read_bytes() == committed
    assert not (b.root / "agents/Bad Name").exists()


def test_vault_sync_reports_what_it_did_not_commit(tmp_path):
    (a,) = make_nodes(tmp_path, ["node-a"])
    (a.root / "agents/Bad Name").mkdir()
    (a.root / "agents/Bad Name/x.md").write_text("# x\n")
    for i in range(5):
        a.write_file(f"knowledge-base/p{i}.md", f"# {i}\n")
    res = CliRunner().invoke(main, ["sync", "--vault", str(a.root)])
    assert res.exit_code == 1, res.output
    assert "not committed: agents/Bad Name/x.md: folder agents/Bad Name" in res.output
    assert "1 changed file(s) not committed" in res.output
    msg = a.repo.head.peel(pygit2.Commit).message.splitlines()[0]
    names = sorted(f"knowledge-base/p{i}.md" for i in range(5))
    assert msg == "Commit pending changes before sync: " + ", ".join(names[:3]) + " and 2 more"
    assert msg == summary_of("Commit pending changes before sync", names)
    out = json.loads(CliRunner().invoke(main, ["sync", "--vault", str(a.root), "--json"]).output)
    assert out["ok"] is True and out["committed"] is None
    assert [p["path"] for p in out["not_committed"]] == ["agents/Bad Name/x.md"]


def _committed_rollup(v) -> str:
    v.append_rollups([rollup(v.node, i) for i in range(2)])
    v.commit("Rollups", "rollup")
    return v.rollup_files(v.node)[0]


def _committed_observation(v) -> str:
    rel, _ = v.write_observation("Kitchen warm", title="warm")
    v.commit("Observation", "observation")
    return rel


@pytest.mark.parametrize(
    ("make", "rule"),
    [(_committed_rollup, "append-only"), (_committed_observation, "immutable")],
)
def test_deleting_a_committed_rollup_or_note_is_refused_by_commit_and_sync(tmp_path, make, rule):
    (a,) = make_nodes(tmp_path, ["node-a"])
    rel = make(a)
    assert rel in a.repo.head.peel(pygit2.Commit).tree
    (a.root / rel).unlink()
    a.write_file("knowledge-base/fine.md", "# a fine page\n")

    result = CliRunner().invoke(main, ["commit", "--vault", str(a.root)])
    assert result.exit_code == 1
    named = [line for line in result.output.splitlines() if line.startswith(rel + ":")]
    assert len(named) == 1 and rule in named[0] and "deleted" in named[0]
    assert rel in a.repo.head.peel(pygit2.Commit).tree  # nothing committed

    report = sync_all(a)
    assert report.ok
    assert [p.path for p in report.not_committed] == [rel]
    head = a.repo.head.peel(pygit2.Commit)
    assert rel in head.tree  # the deletion stays uncommitted…
    assert "knowledge-base/fine.md" in head.tree  # …the rest is committed
    assert a.pending() == [rel]
    assert not (a.root / rel).exists()  # the person's working copy is left as it is
