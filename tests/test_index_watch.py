"""`vault watch`: a person's edits are committed (Vault-Kind: edit) and reindexed."""

from __future__ import annotations

import threading

from tests.test_index_indexer import EMB, make_vault, paths_in
from vault_agent.index.indexer import Indexer
from vault_agent.index.watch import ignored, run_batch, watch
from vault_agent.vault import Rollup
from vault_agent.vault import repo as git


def test_batch_commits_edits_not_program_files_and_reindexes(tmp_path):
    v = make_vault(tmp_path / "v")
    ix = Indexer(v, EMB)
    ix.update()
    (v.root / "knowledge-base/solar.md").write_text("# Solar\n\nPanels face south.\n")
    (v.root / "knowledge-base/bad.md").write_text("---\ntitle: [oops\n---\nx\n")
    v.append_rollups(
        [
            Rollup(
                node="alpaca-1",
                sensor="kitchen-temp",
                quantity="temperature",
                unit="°C",
                start="2025-10-15T06:00:00Z",
                end="2025-10-15T06:05:00Z",
                count=300,
                mean=20.0,
                min=19.0,
                max=21.0,
            )
        ]
    )
    b = run_batch(v, ix)
    assert b.committed == ["knowledge-base/solar.md"] and b.refused == ["knowledge-base/bad.md"]
    last = git.history(v.repo, limit=1)[0]
    assert last.kind == "edit" and last.id == b.commit
    pending = v.pending()
    assert "agents/alpaca-1/sensors/2025/10/2025-10-15.jsonl" in pending  # left to the agent
    assert "knowledge-base/bad.md" in pending
    assert paths_in(ix, "panels") == {"knowledge-base/solar.md"}
    assert any(p.path == "knowledge-base/bad.md" for p in b.index.problems)


def test_ignored_paths():
    assert ignored(".git/index") and ignored(".vault/index/meta.json")
    assert ignored("agents/a/local-cache/raw.jsonl") and ignored("knowledge-base/x.md.tmp")
    assert not ignored("knowledge-base/x.md")


def test_watch_picks_up_an_edit(tmp_path):
    v = make_vault(tmp_path / "v")
    ix = Indexer(v, EMB)
    ix.update()
    batches = []
    stop = threading.Event()
    started = threading.Event()

    def on_batch(b):
        batches.append(b)
        started.set()  # the first batch runs once the observer is watching
        if "knowledge-base/pond.md" in b.committed:
            stop.set()

    def edit_after_start():
        if started.wait(30):
            (v.root / "knowledge-base/pond.md").write_text("# Pond\n\nThe pump runs at noon.\n")

    t = threading.Thread(target=edit_after_start)
    t.start()
    timer = threading.Timer(60, stop.set)  # bound the test
    timer.start()
    try:
        n = watch(v, ix, debounce_s=0.3, stop=stop, on_batch=on_batch)
    finally:
        timer.cancel()
        t.join()
    assert n >= 2 and batches[0].committed == []
    assert ["knowledge-base/pond.md"] in [b.committed for b in batches]
    assert "knowledge-base/pond.md" not in v.pending()
    assert paths_in(ix, "pump") == {"knowledge-base/pond.md"}
