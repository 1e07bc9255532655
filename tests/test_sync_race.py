"""Push races converge (issue 14.4): three nodes syncing with one hub at the same moment.

Each round every node writes a note and a rollup, then the three call ``sync_all`` at
once (threads released by a barrier). Pushes collide at the hub; the loser fetches,
merges and pushes again. Every sync must end ``ok`` (never unreachable, never in
backoff) and, after one quiet round, every tree and the hub's are equal and hold every
note exactly once. Figures (rounds, push attempts, seconds) are printed.
"""

from __future__ import annotations

import threading
import time

import pygit2
import pytest

from tests.test_sync_support import make_nodes, rollup, snapshot
from vault_agent.sync import state as st
from vault_agent.sync.sync import SyncReport, sync_all

ROUNDS = 20
NODES = ["node-a", "node-b", "node-c"]


def _round(vaults, rnd: int) -> dict[str, SyncReport]:
    for v in vaults:
        v.write_file(f"knowledge-base/{v.node}-{rnd:02d}.md", f"# {v.node} round {rnd}\n")
        v.append_rollups([rollup(v.node, rnd, value=20.0 + rnd)])
    barrier = threading.Barrier(len(vaults))
    out: dict[str, SyncReport] = {}
    errors: list[BaseException] = []

    def go(v) -> None:
        try:
            barrier.wait()
            out[v.node] = sync_all(v)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=go, args=(v,)) for v in vaults]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return out


@pytest.mark.slow
def test_three_nodes_twenty_simultaneous_rounds_all_ok_and_converge(tmp_path):
    vaults = make_nodes(tmp_path, NODES)
    t0 = time.monotonic()
    attempts = pushes = 0
    for rnd in range(ROUNDS):
        for node, report in _round(vaults, rnd).items():
            statuses = [(p.peer, p.status, p.error) for p in report.peers]
            assert report.ok, (rnd, node, statuses)
            assert all(s == "ok" for _, s, _ in statuses), (rnd, node, statuses)
            attempts += sum(p.push_attempts for p in report.peers)
            pushes += sum(p.pushed for p in report.peers)
    elapsed = time.monotonic() - t0
    for v in vaults:  # nobody is in backoff: the hub was reachable all along
        assert st.load(v)["hub"].next_try is None and st.load(v)["hub"].failures == 0
    # quiet rounds carry the last merges everywhere: a node whose quiet sync still merges
    # makes a new tree that the nodes before it need one more pass to fetch
    for v in [*vaults, *vaults]:
        assert sync_all(v).ok
    trees = {v.node: v.repo.head.peel(pygit2.Commit).tree_id for v in vaults}
    hub = pygit2.Repository(str(tmp_path / "hub.git"))
    assert set(trees.values()) == {hub.references["refs/heads/main"].peel(pygit2.Commit).tree_id}
    snaps = [snapshot(v) for v in vaults]
    assert snaps[0] == snaps[1] == snaps[2]
    notes = sorted(p for p in snaps[0] if p.startswith("knowledge-base/node-"))
    assert notes == sorted(f"knowledge-base/{n}-{r:02d}.md" for n in NODES for r in range(ROUNDS))
    for v in vaults:
        starts = [r.start for n in NODES for r in v.iter_rollups(n)]
        assert len(starts) == len(NODES) * ROUNDS
        assert v.pending() == []
    # the races happened (else this test proves nothing): more attempts than pushes
    assert attempts > pushes, (attempts, pushes)
    print(
        f"race: {len(NODES)} nodes x {ROUNDS} rounds, {pushes} pushes in {attempts} "
        f"attempts, {elapsed:.1f} s"
    )


@pytest.mark.slow
def test_simultaneous_vault_sync_processes_all_exit_0(tmp_path):
    """The issue's set-up with real processes: three ``vault sync --json`` at once."""
    import json
    import os
    import subprocess
    import sys

    vaults = make_nodes(tmp_path, NODES)
    env = {k: v for k, v in os.environ.items() if k != "VAULT_SYNC_CRASH_AT"}
    for rnd in range(5):
        for v in vaults:
            v.write_file(f"knowledge-base/{v.node}-p{rnd}.md", f"# {v.node} {rnd}\n")
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "vault_agent.cli", "sync", "--vault", str(v.root), "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for v in vaults
        ]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, (rnd, out, err)
            report = json.loads(out)
            assert [x["status"] for x in report["peers"]] == ["ok"], report
    for v in [*vaults, vaults[0]]:
        assert sync_all(v).ok
    snaps = [snapshot(v) for v in vaults]
    assert snaps[0] == snaps[1] == snaps[2]
    assert sum(p.startswith("knowledge-base/node-") for p in snaps[0]) == 3 * 5


def test_a_push_a_concurrent_local_push_overwrote_is_pushed_again(tmp_path):
    """libgit2's local transport forces the hub's ref (no compare-and-swap), so of two
    pushes at one moment the later replaces the earlier. The overwritten node's push must
    not count as done: it is detected, and its next sync merges and pushes again."""
    from vault_agent.sync import transport
    from vault_agent.sync.peers import configured

    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    (peer,) = configured(a)
    hub = pygit2.Repository(str(tmp_path / "hub.git"))
    for v in (a, b):
        v.write_file(f"knowledge-base/{v.node}.md", f"# {v.node}\n")
        v.commit(f"{v.node} note", "edit")
    transport.push(a.repo, peer, 30)  # a's push lands ...
    b.repo.remotes["hub"].push(["+refs/heads/main:refs/heads/main"])  # ... b's replaces it
    assert "knowledge-base/node-a.md" not in hub.revparse_single("main").tree
    with pytest.raises(transport.PushRejected, match="overwritten by a concurrent push"):
        transport._check_local_push_kept(a.repo, peer)
    assert sync_all(a).ok and sync_all(b).ok
    tree = pygit2.Repository(str(tmp_path / "hub.git")).revparse_single("main").tree
    assert "knowledge-base/node-a.md" in tree and "knowledge-base/node-b.md" in tree
