"""Readers never follow symlinks, never fail on odd names, never read oversized files
(issues 19.2, 19.3, 19.4): real git, real Whoosh, real Chroma, real MiniLM, real MkDocs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tests.test_sync_support import git, make_nodes
from vault_agent.index.embedders import MiniLMEmbedder
from vault_agent.index.indexer import Indexer
from vault_agent.site.build import build_site
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree
from vault_agent.vault.files import name_problem, vault_files

EMB = MiniLMEmbedder()
SECRET = "TOPSECRETTOKEN root daemon bin"


def _secret(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "note.md").write_text("# Linked\n\n" + SECRET + "\n")
    return outside


def _all_text(folder: Path) -> str:
    out = []
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            out.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def _plant(v: Vault, tmp_path: Path) -> None:
    outside = _secret(tmp_path)
    kb = v.root / "knowledge-base"
    (kb / "boiler.md").write_text("# Boiler\n\nService the boiler in May.\n")
    (kb / "passwd.md").symlink_to(outside / "secret.txt")
    (kb / "host.txt").symlink_to(outside / "secret.txt")
    (kb / "linked").symlink_to(outside)
    with open(os.path.join(os.fsencode(kb), b"caf\xe9.md"), "wb") as fh:
        fh.write(b"# Cafe\n\nEspresso machine descaling.\n")
    open(os.path.join(os.fsencode(kb), b"empty\xff.md"), "wb").close()
    with open(v.root / "vault.toml", "a") as fh:
        fh.write("\n[limits]\nmax_file_mb = 1\n")
    (kb / "huge.md").write_text("# Huge\n\n" + "HUGEWORD filler text. " * 100_000)


def _paths(ix: Indexer) -> set[str]:
    return {m["path"] for m in ix.chroma().col.get(include=["metadatas"])["metadatas"]}


def test_index_and_site_skip_symlinks_odd_names_and_huge_files(tmp_path, caplog):
    v, _ = Vault.init(tmp_path / "v", "node-a")
    _plant(v, tmp_path)
    caplog.set_level(logging.WARNING, logger="vault_agent.vault")

    ix = Indexer(v, EMB)
    ix.update()
    paths = _paths(ix)
    assert "knowledge-base/boiler.md" in paths
    assert not any(p.startswith(("knowledge-base/passwd", "knowledge-base/linked")) for p in paths)
    assert not any("caf" in p or "empty" in p or "huge" in p for p in paths)
    assert [h for h in ix.whoosh().search("TOPSECRETTOKEN", 10, None)] == []
    assert [h for h in ix.whoosh().search("HUGEWORD", 10, None)] == []
    assert {f["path"] for _, _, f in ix.whoosh().search("boiler", 10, None)} == {
        "knowledge-base/boiler.md"
    }
    chroma_docs = ix.chroma().col.get(include=["documents"])["documents"]
    assert not any("TOPSECRETTOKEN" in d for d in chroma_docs)

    report = build_site(v)
    site = _all_text(report.html_dir) + _all_text(report.src_dir)
    assert "Service the boiler in May" in site
    assert "TOPSECRETTOKEN" not in site and "HUGEWORD" not in site
    assert "Espresso" not in site
    assert not list(report.html_dir.rglob("host.txt"))

    skips = [r.getMessage() for r in caplog.records if "event=skip" in r.getMessage()]
    for what in ("passwd.md", "host.txt", "caf\\xe9.md", "empty\\xff.md", "huge.md"):
        hits = [s for s in skips if f"knowledge-base/{what} " in s]
        assert len(hits) == 1, (what, skips)  # reported once, though read by index and site
    assert "over the 1 MiB limit" in next(s for s in skips if "huge.md" in s)

    listed = {p.path: p.message for p in check_tree(v.root)}
    assert "symlink points outside the vault" in listed["knowledge-base/passwd.md"]
    assert "symlink points outside the vault" in listed["knowledge-base/linked"]
    assert "not valid UTF-8" in listed["knowledge-base/caf\\xe9.md"]
    assert "over the 1 MiB limit" in listed["knowledge-base/huge.md"]


def test_a_hub_planting_a_symlink_in_a_clone(tmp_path):
    (a,) = make_nodes(tmp_path, ["node-a"])
    outside = _secret(tmp_path)
    m = tmp_path / "mallory"
    git(tmp_path, "clone", "-q", str(tmp_path / "hub.git"), str(m))
    (m / "knowledge-base/passwd.md").symlink_to(outside / "secret.txt")
    (m / "knowledge-base/ok.md").write_text("# Ok\n\nPlain note.\n")
    git(m, "add", "-A")
    git(m, "commit", "-qm", "plant")
    git(m, "push", "-q", "origin", "main")

    c, _ = Vault.init(tmp_path / "c", "node-c", from_url=str(tmp_path / "hub.git"))
    assert (c.root / "knowledge-base/passwd.md").is_symlink()  # the clone holds it…
    assert "knowledge-base/passwd.md" not in set(vault_files(c.root))  # …no reader opens it
    ix = Indexer(c, EMB)
    ix.update()
    assert "knowledge-base/ok.md" in _paths(ix)
    assert "knowledge-base/passwd.md" not in _paths(ix)
    assert [h for h in ix.whoosh().search("TOPSECRETTOKEN", 10, None)] == []
    report = build_site(c)
    assert "TOPSECRETTOKEN" not in _all_text(report.html_dir) + _all_text(report.src_dir)
    listed = {p.path: p.message for p in check_tree(c.root)}
    assert "symlink points outside the vault" in listed["knowledge-base/passwd.md"]


def test_name_rules():
    for bad in ("a/CON", "a/nul.txt", "a/x.", "a/x ", "a/x:y", "a/x\x01", "a/caf\udce9.md", "a//b"):
        assert name_problem(bad), bad
    for good in ("knowledge-base/café.md", "agents/n/node.toml", "a/con-notes.md", "a/x.y"):
        assert name_problem(good) is None, good
