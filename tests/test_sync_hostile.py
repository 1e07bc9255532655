"""Malicious and broken peers: clear refusal, the local vault untouched, the rest goes on."""

from __future__ import annotations

import zlib

import pygit2

from tests.test_sync_support import git, head_and_status, make_nodes, rollup, snapshot
from vault_agent.sync.peers import add_peer
from vault_agent.sync.sync import sync_all
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree
from vault_agent.vault.repo import parse_trailers


def _setup(tmp_path):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    a.append_rollups([rollup("node-a", i, value=20.0 + i) for i in range(4)])
    sync_all(a)
    sync_all(b)
    rel = a.rollup_files("node-a")[0]
    assert (b.root / rel).read_bytes() == (a.root / rel).read_bytes()
    return a, b, rel


def _mallory_clone(tmp_path, hub_url: str):
    m = tmp_path / "mallory"
    git(tmp_path, "clone", "-q", hub_url, str(m))
    return m


def test_peer_history_rewriting_another_nodes_rollups_is_refused(tmp_path):
    a, b, rel = _setup(tmp_path)
    hub = str(tmp_path / "hub.git")
    m = _mallory_clone(tmp_path, hub)
    original = (a.root / rel).read_bytes()
    (m / rel).write_bytes(original.replace(b'"mean":20.0', b'"mean":99.0'))
    (m / "knowledge-base/legit.md").write_text("# A fine page\n")
    git(m, "commit", "-qam", "tamper")
    git(m, "add", "-A")
    git(m, "commit", "-qm", "add page")
    git(m, "push", "-q", "origin", "main")

    report = sync_all(b)
    (res,) = report.peers
    assert res.status == "ok"
    assert [r.path for r in res.refused] == [rel]
    assert "not by its owner node node-a" in res.refused[0].reason
    assert (b.root / rel).read_bytes() == original  # untouched
    assert (b.root / "knowledge-base/legit.md").exists()  # the rest goes on
    head = b.repo.head.peel(pygit2.Commit)
    assert any(k == "Vault-Refused" and v.startswith(rel) for k, v in parse_trailers(head.message))
    # the owner keeps appending; its new lines still arrive
    a.append_rollups([rollup("node-a", 10)])
    sync_all(a)
    sync_all(b)
    assert (b.root / rel).read_bytes() == (a.root / rel).read_bytes()
    assert b"99.0" not in (b.root / rel).read_bytes()
    assert check_tree(b.root) == [] and check_tree(a.root) == []


def test_forged_append_and_fake_observation_in_another_nodes_folder(tmp_path):
    a, b, rel = _setup(tmp_path)
    m = _mallory_clone(tmp_path, str(tmp_path / "hub.git"))
    forged = rollup("node-a", 50).to_json() + "\n"
    with open(m / rel, "a") as fh:  # an append passes rule 2 but not rule 3
        fh.write(forged)
    fake = "agents/node-a/observations/2025/10/20251014T000000Z-node-a-000099-fake.md"
    (m / fake).parent.mkdir(parents=True, exist_ok=True)
    (m / fake).write_text(
        "---\nid: 20251014T000000Z-node-a-000099\nnode: node-a\n"
        "created: '2025-10-14T00:00:00Z'\nkind: observation\n---\nFake.\n"
    )
    git(m, "add", "-A")
    git(m, "commit", "-qm", "forge")
    git(m, "push", "-q", "origin", "main")
    report = sync_all(b)
    assert sorted(r.path for r in report.refused) == sorted([rel, fake])
    assert not (b.root / fake).exists()
    assert forged.encode() not in (b.root / rel).read_bytes()
    # b pushed its merge, which repaired the hub: a, the owner, gets its own files back
    own = (a.root / rel).read_bytes()
    report_a = sync_all(a)
    assert report_a.ok and report_a.refused == ()
    assert (a.root / rel).read_bytes() == own and not (a.root / fake).exists()
    c, _ = Vault.init(tmp_path / "node-c", "node-c", from_url=str(tmp_path / "hub.git"))
    assert not (c.root / fake).exists()
    assert (c.root / rel).read_bytes() == (a.root / rel).read_bytes()


def test_force_pushed_history_loses_nothing(tmp_path):
    a, b, rel = _setup(tmp_path)
    b.write_file("knowledge-base/b.md", "# B\n")
    sync_all(b)
    before = snapshot(b)
    hub = pygit2.Repository(str(tmp_path / "hub.git"))
    m = _mallory_clone(tmp_path, str(tmp_path / "hub.git"))
    # 1. history cut short: the last two commits dropped, force-pushed
    git(m, "reset", "-q", "--hard", "HEAD~2")
    git(m, "push", "-q", "--force", "origin", "main")
    report = sync_all(b)
    assert report.peers[0].status == "ok" and report.peers[0].pushed
    assert snapshot(b) == before
    assert hub.references["refs/heads/main"].target == b.repo.head.target  # hub repaired
    # 2. history rewritten: the commit that added node-a's rollups amended by mallory
    git(m, "fetch", "-q", "origin")
    added = git(m, "log", "--format=%H", "--diff-filter=A", "origin/main", "--", rel).split()[-1]
    git(m, "reset", "-q", "--hard", added)
    (m / rel).write_text((m / rel).read_text().splitlines(keepends=True)[0])
    git(m, "commit", "-q", "-a", "--amend", "--reset-author", "-m", "rewrite")
    git(m, "push", "-q", "--force", "origin", "main")
    report = sync_all(b)
    (res,) = report.peers
    assert res.status == "ok"
    assert [r.path for r in res.refused] == [rel]
    assert snapshot(b) == before  # nothing lost
    sync_all(a)
    assert snapshot(a) == before  # the hub was repaired


def _corrupt_new_loose_object(repo_path, repo: pygit2.Repository, oid: pygit2.Oid) -> None:
    h = str(oid)
    p = repo_path / ".git" / "objects" / h[:2] / h[2:]
    p.chmod(0o644)
    p.write_bytes(zlib.compress(b"blob 5\x00junk!"))  # right header, wrong hash


def test_peer_with_a_corrupt_object_is_refused_and_others_still_sync(tmp_path):
    a, b, _ = _setup(tmp_path)
    c, _ = Vault.init(tmp_path / "node-c", "node-c", from_url=str(tmp_path / "hub.git"))
    c.write_file("knowledge-base/c.md", "# from c, soon corrupt\n")
    c.commit("c page", "edit")
    blob = c.repo.head.peel(pygit2.Commit).tree["knowledge-base/c.md"].id
    _corrupt_new_loose_object(c.root, c.repo, blob)
    add_peer(b, "c", str(c.root))
    a.write_file("knowledge-base/a.md", "# from a\n")
    sync_all(a)
    head_before = b.repo.head.target
    report = sync_all(b)
    by = {p.peer: p for p in report.peers}
    assert by["hub"].status == "ok"  # the rest goes on
    assert by["c"].status in ("unreachable", "error")
    assert by["c"].error
    assert not report.ok
    assert (b.root / "knowledge-base/a.md").exists()
    assert not (b.root / "knowledge-base/c.md").exists()
    assert b.repo.descendant_of(b.repo.head.target, head_before)
    assert b.pending() == [] and check_tree(b.root) == []


def test_peer_that_is_not_a_vault(tmp_path):
    a, b, _ = _setup(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q", "-b", "main")
    (plain / "README.md").write_text("just a repo\n")
    git(plain, "add", "-A")
    git(plain, "commit", "-qm", "readme")
    other, _ = Vault.init(tmp_path / "other", "node-x")  # a different vault
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "file.txt").write_text("no git here\n")
    for name, where in (
        ("plain", plain),
        ("other", other.root),
        ("folder", folder),
        ("missing", tmp_path / "nope"),
    ):
        add_peer(b, name, str(where))
    before = head_and_status(b), snapshot(b)
    report = sync_all(b)
    by = {p.peer: p for p in report.peers}
    assert by["plain"].status == "refused" and "not a vault" in by["plain"].error
    assert by["other"].status == "refused" and "another vault" in by["other"].error
    assert by["folder"].status == "unreachable"
    assert by["missing"].status == "unreachable" and "does not exist" in by["missing"].error
    assert by["hub"].status in ("ok", "up-to-date")
    assert snapshot(b) == before[1]
    assert b.pending() == []
    assert check_tree(b.root) == []
    # nothing was pushed into the foreign working copy
    assert other.repo.head.target == pygit2.Repository(str(other.root)).head.target


def test_symlinks_and_git_folders_from_a_peer_are_refused(tmp_path):
    a, b, _ = _setup(tmp_path)
    m = _mallory_clone(tmp_path, str(tmp_path / "hub.git"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (m / "knowledge-base/escape").symlink_to(outside)
    (m / "knowledge-base/sub/.git").mkdir(parents=True)
    (m / "knowledge-base/sub/.git/config").write_text("[core]\n")
    (m / "knowledge-base/fine.md").write_text("# fine\n")
    git(m, "add", "-A")
    git(m, "commit", "-qm", "sneaky")
    git(m, "push", "-q", "origin", "main")
    report = sync_all(b)
    refused = {r.path for r in report.refused}
    assert "knowledge-base/escape" in refused
    assert not (b.root / "knowledge-base/escape").exists()
    assert not (b.root / "knowledge-base/sub/.git/config").exists()
    assert (b.root / "knowledge-base/fine.md").exists()
    assert list(outside.iterdir()) == []
