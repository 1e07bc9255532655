"""A real ``vault sync`` process SIGKILLed during fetch, merge and push: the vault stays
consistent and the next sync completes the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.test_sync_support import make_nodes, rollup, snapshot
from vault_agent.sync.sync import sync_all
from vault_agent.sync.transport import CRASH_ENV
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree

VAULT = [sys.executable, "-m", "vault_agent.cli"]


def _run_sync(v: Vault, crash_at: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "VAULT_DEBUG": "1"}
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [*VAULT, "sync", "--vault", str(v.root), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("point", ["fetch", "merge", "merge-index", "push"])
def test_sigkill_during_sync_then_next_sync_completes(tmp_path, point):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    for i in range(30):  # enough objects for the transfer callbacks to fire
        a.write_file(f"knowledge-base/a-{i}.md", f"# page {i}\n" + "text\n" * i)
    a.append_rollups([rollup("node-a", i) for i in range(20)])
    assert sync_all(a).ok
    b.append_rollups([rollup("node-b", i) for i in range(20)])
    b.write_file("knowledge-base/b.md", "# from b\n")
    for i in range(10):
        b.write_file(f"knowledge-base/b-{i}.md", f"# b {i}\n")
    head_before = b.head()

    crashed = _run_sync(b, point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    # right after the kill the vault opens; HEAD never points at a commit whose files
    # are not in place (a merge killed half-way is finished from its journal)
    v = Vault.open(b.root)
    before = v.repo.revparse_single(head_before).id
    assert v.repo.head.target == before or v.repo.descendant_of(v.repo.head.target, before)
    journal = v.state_dir("sync") / "journal.json"
    assert journal.exists() == (point in ("merge", "merge-index"))

    done = _run_sync(v, None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["recovered"] == (point in ("merge", "merge-index"))
    assert sync_all(a).ok
    assert sync_all(v).ok
    assert snapshot(a) == snapshot(v)
    assert v.pending() == [] and a.pending() == []
    assert check_tree(v.root) == [] and check_tree(a.root) == []
    starts = [r.start for r in v.iter_rollups("node-b")]
    assert len(starts) == len(set(starts)) == 20
    assert len(list(a.iter_rollups("node-a"))) == 20
    assert not (v.state_dir("sync") / "journal.json").exists()


def test_stale_fetch_locks_of_a_killed_sync_are_cleared(tmp_path):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    a.write_file("knowledge-base/a.md", "# a\n")
    assert sync_all(a).ok
    assert sync_all(b).ok
    gitdir = b.root / ".git"
    (gitdir / "FETCH_HEAD.lock").write_text("")
    (gitdir / "refs/remotes/hub/main.lock").write_text("")
    a.write_file("knowledge-base/a2.md", "# a2\n")
    assert sync_all(a).ok
    report = sync_all(b)
    assert report.ok, report.as_dict()
    assert (b.root / "knowledge-base/a2.md").exists()
    assert not (gitdir / "FETCH_HEAD.lock").exists()
