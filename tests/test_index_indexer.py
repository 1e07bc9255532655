"""The indexer on tiny real vaults: real git, real Whoosh, real Chroma, real MiniLM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support import FakeOllama
from vault_agent.index.embedders import MiniLMEmbedder, OllamaEmbedder, get_embedder
from vault_agent.index.indexer import Indexer
from vault_agent.index.whoosh_index import Filters
from vault_agent.vault import Rollup, Vault

EMB = MiniLMEmbedder()  # loaded once for the module


def make_vault(root: Path) -> Vault:
    v, _ = Vault.init(root, "alpaca-1")
    kb = root / "knowledge-base"
    kb.mkdir(exist_ok=True)
    (kb / "heating.md").write_text(
        "# Heating\n\nThe boiler starts at 06:00.\n\n## Kitchen\n\n"
        "The kitchen radiator is slow to warm up.\n",
        "utf-8",
    )
    (kb / "garden.md").write_text("# Garden\n\nTomatoes need water every evening.\n", "utf-8")
    v.append_rollups(
        [
            Rollup(
                node="alpaca-1",
                sensor="kitchen-temp",
                quantity="temperature",
                unit="°C",
                start="2025-10-14T06:00:00Z",
                end="2025-10-14T06:05:00Z",
                count=300,
                mean=21.3,
                min=19.8,
                max=23.1,
            )
        ]
    )
    v.write_observation(
        "Motion in the hall at 03:04, unusual for the night.",
        title="Night motion",
        sensors=["hall-motion"],
        window={"start": "2025-10-14T02:00:00Z", "end": "2025-10-14T03:00:00Z"},
    )
    v.commit("seed", "edit")
    return v


@pytest.fixture
def vault(tmp_path) -> Vault:
    return make_vault(tmp_path / "v")


def paths_in(ix: Indexer, query: str, filters: Filters | None = None) -> set[str]:
    return {f["path"] for _, _, f in ix.whoosh().search(query, 20, filters)}


def chroma_paths(ix: Indexer) -> set[str]:
    return {m["path"] for m in ix.chroma().col.get(include=["metadatas"])["metadatas"]}


def test_first_build_indexes_every_kind(vault):
    ix = Indexer(vault, EMB)
    rep = ix.update()
    assert rep.rebuilt and rep.reason == "new index" and not rep.problems
    kinds = {m["kind"] for m in ix.chroma().col.get(include=["metadatas"])["metadatas"]}
    assert kinds == {"knowledge", "rollup", "observation", "readme"}
    assert ix.whoosh().count() == ix.chroma().count() == rep.total_chunks == 6
    meta = ix.read_meta()
    assert meta["embedder"] == "minilm-l6-int8" and meta["commit"] == vault.head()


def test_incremental_new_modified_deleted_unchanged(vault):
    ix = Indexer(vault, EMB)
    ix.update()
    (vault.root / "knowledge-base/garden.md").write_text("# Garden\n\nRoses bloom in June.\n")
    (vault.root / "knowledge-base/new.md").write_text("# Solar\n\nPanels face south.\n")
    (vault.root / "knowledge-base/heating.md").unlink()
    rep = ix.update()
    c = rep.changes
    assert not rep.rebuilt and not c.full_scan
    assert c.new == ("knowledge-base/new.md",)
    assert c.modified == ("knowledge-base/garden.md",)
    assert c.deleted == ("knowledge-base/heating.md",)
    assert c.unchanged == 3
    assert paths_in(ix, "radiator") == set() and "knowledge-base/heating.md" not in chroma_paths(ix)
    assert paths_in(ix, "roses") == {"knowledge-base/garden.md"}
    assert paths_in(ix, "tomatoes") == set()
    assert ix.whoosh().count() == ix.chroma().count()
    vault.commit("edits", "edit")
    again = ix.update()
    assert again.changes.changed == 0 and again.chunks_added == 0


def test_reverted_uncommitted_edit_is_reindexed(vault):
    ix = Indexer(vault, EMB)
    ix.update()
    p = vault.root / "knowledge-base/garden.md"
    original = p.read_text()
    p.write_text("# Garden\n\nCucumbers everywhere.\n")
    assert ix.update().changes.modified == ("knowledge-base/garden.md",)
    p.write_text(original)  # back to the committed text: no longer pending in git
    rep = ix.update()
    assert rep.changes.modified == ("knowledge-base/garden.md",)
    assert paths_in(ix, "tomatoes") == {"knowledge-base/garden.md"}
    assert paths_in(ix, "cucumbers") == set()


def test_files_failing_schema_are_skipped_and_reported(vault):
    kb = vault.root / "knowledge-base"
    (kb / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    (kb / "latin1.md").write_bytes("caf\xe9 au lait".encode("latin-1"))
    day = vault.root / "agents/alpaca-1/sensors/2025/10/2025-10-14.jsonl"
    with open(day, "a") as fh:
        fh.write('{"v":1,"node":"alpaca-1","sensor":"x"}\n')
    rep = Indexer(vault, EMB).update()
    where = {(p.path, p.line) for p in rep.problems}
    assert ("knowledge-base/broken.md", 2) in where
    assert any(p == "knowledge-base/latin1.md" for p, _ in where)
    assert ("agents/alpaca-1/sensors/2025/10/2025-10-14.jsonl", 2) in where
    ix = Indexer(vault, EMB)
    assert paths_in(ix, "radiator") == {"knowledge-base/heating.md"}
    assert "agents/alpaca-1/sensors/2025/10/2025-10-14.jsonl" in paths_in(ix, "kitchen temp")


def test_index_of_another_embedder_is_rebuilt(vault):
    with FakeOllama() as srv:
        cfg = vault.node_config()
        cfg["index"] = {"embedder": "ollama:nomic-embed-text", "ollama_host": srv.url}
        vault.write_node_config(cfg)
        ix = Indexer(vault)
        assert isinstance(ix.embedder, OllamaEmbedder)
        ix.update()
        assert ix.read_meta()["embedder"] == "ollama:nomic-embed-text"
        assert any(r["path"] == "/api/embed" for r in srv.requests)
    reasons: list[str] = []
    ix2 = Indexer(vault, EMB)
    rep = ix2.update(on_rebuild=reasons.append)
    assert rep.rebuilt
    assert reasons == ["embedder changed (ollama:nomic-embed-text → minilm-l6-int8)"]
    assert (
        ix2.chroma().search(EMB.embed(["radiator"])[0], 1)[0][2]["path"]
        == "knowledge-base/heating.md"
    )


def test_corrupt_meta_and_corrupt_whoosh_rebuild(vault):
    ix = Indexer(vault, EMB)
    ix.update()
    ix.meta_path.write_text("{not json")
    rep = Indexer(vault, EMB).update()
    assert rep.rebuilt and rep.reason.startswith("corrupt index")
    for f in (ix.dir / "whoosh").iterdir():
        if f.suffix == ".toc":
            f.write_bytes(b"garbage")
    rep = Indexer(vault, EMB).update()
    assert rep.rebuilt and rep.reason.startswith("corrupt index")
    assert paths_in(Indexer(vault, EMB), "radiator") == {"knowledge-base/heating.md"}


def test_deleted_state_dir_rebuilds(vault):
    Indexer(vault, EMB).update()
    shutil.rmtree(vault.root / ".vault")
    ix = Indexer(vault, EMB)
    rep = ix.update()
    assert rep.rebuilt and rep.reason == "new index" and rep.total_chunks == 6


def test_schema_change_rebuilds(vault):
    ix = Indexer(vault, EMB)
    ix.update()
    meta = json.loads(ix.meta_path.read_text())
    meta["schema"] = 0
    ix.meta_path.write_text(json.dumps(meta))
    from vault_agent.index.indexer import INDEX_SCHEMA

    assert Indexer(vault, EMB).update().reason == f"index schema changed (0 → {INDEX_SCHEMA})"


def test_filters_in_both_indexes(vault):
    ix = Indexer(vault, EMB)
    ix.update()
    f = Filters(kind="rollup", since="2025-10-14", until="2025-10-14")
    assert paths_in(ix, "kitchen", f) == {"agents/alpaca-1/sensors/2025/10/2025-10-14.jsonl"}
    hits = ix.chroma().search(EMB.embed(["kitchen"])[0], 10, f)
    assert {h[2]["kind"] for h in hits} == {"rollup"}
    assert ix.chroma().search(EMB.embed(["x"])[0], 10, Filters(node="nobody")) == []
    assert paths_in(ix, "motion", Filters(since="2025-10-15")) == set()


def test_conflict_copy_indexed_and_marked(vault):
    (vault.root / "knowledge-base/garden.sync-conflict-20251014-101010-llama.md").write_text(
        "# Garden\n\nTheir version: peppers.\n"
    )
    ix = Indexer(vault, EMB)
    ix.update()
    ((_, _, f),) = ix.whoosh().search("peppers", 5)
    assert f["conflict"] is True


def test_unknown_embedder_spec():
    from vault_agent.errors import VaultError

    with pytest.raises(VaultError, match="unknown embedder"):
        get_embedder("word2vec")


def test_minilm_vectors_are_unit_and_semantic():
    v = EMB.embed(["the radiator is cold", "the heater does not warm", "tomatoes in the garden"])
    assert v.shape == (3, 384)
    assert abs(float((v[0] ** 2).sum()) - 1) < 1e-4
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])


def test_index_of_another_whoosh_version_is_rebuilt(vault):
    from vault_agent.index.indexer import whoosh_version

    ix = Indexer(vault, EMB)
    ix.update()
    meta = json.loads(ix.meta_path.read_text())
    meta["whoosh"] = "2.7.5"
    ix.meta_path.write_text(json.dumps(meta))
    rep = Indexer(vault, EMB).update()
    assert rep.reason == f"search library changed (2.7.5 → {whoosh_version()})"


def test_second_writer_is_refused_while_locked(vault):
    from vault_agent.index.indexer import IndexLockedError

    ix = Indexer(vault, EMB)
    with ix.lock(), pytest.raises(IndexLockedError, match="another process"):
        Indexer(vault, EMB).update()


def test_long_chunk_gets_window_vectors_found_by_its_tail(vault):
    filler = " ".join(f"The boiler log line {i} says nothing new." for i in range(25))
    (vault.root / "knowledge-base/long.md").write_text(
        f"# Boiler log\n\n{filler} Finally the expansion vessel lost its pressure.\n"
    )
    ix = Indexer(vault, EMB, window_words=60)
    ix.update()
    ids = ix.chroma().col.get(where={"path": "knowledge-base/long.md"})["ids"]
    assert "knowledge-base/long.md#0" in ids and len(ids) > 3
    assert all(i.startswith("knowledge-base/long.md#0") for i in ids)
    hits = ix.chroma().search(EMB.embed(["expansion vessel pressure lost"])[0], 3)
    assert hits[0][0] == "knowledge-base/long.md#0"
    assert len({h[0] for h in hits}) == len(hits)  # windows collapse to their chunk
    assert Indexer(vault, EMB, window_words=0).update().reason.startswith("chunk size changed")
