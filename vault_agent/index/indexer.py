"""Keep ``.vault/index/`` in step with the files: plan, then apply.

Invariant (docs/architecture.md §6): the files are the truth, the index is derived and
disposable; a rebuild is always safe. ``meta.json`` records the schema version, the
embedder, the last indexed commit, the blob id of every indexed file and the files
that were uncommitted then. A different embedder or schema, or an index that cannot
be read, triggers a full rebuild with a message saying why.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RecordError, VaultError
from ..vault import Vault, files, layout
from ..vault.atomic import atomic_write_text
from .chunker import DEFAULT_MAX_WORDS, Chunk, chunk_file, rollup_day_chunks
from .embedders import Embedder, get_embedder
from .planner import ChangeReport, plan

log = logging.getLogger("vault_agent.index")
# Vector windows for chunks longer than this many words (0: one vector per chunk).
# Chosen with benchmarks/retrieval.py on SciFact train queries (docs/retrieval.md).
DEFAULT_WINDOW_WORDS = 120
INDEX_SCHEMA = 2  # bump when chunking or fields change: forces a rebuild
EMBED_BATCH = 64
Progress = Callable[[int, int], None]


def whoosh_version() -> str:
    """The installed Whoosh's version (its on-disk format may change with it)."""
    import whoosh

    return whoosh.versionstring()


class IndexLockedError(VaultError):
    """Another process is updating the index."""


@dataclass
class IndexReport:
    """What one :meth:`Indexer.update` did."""

    changes: ChangeReport
    chunks_added: int = 0
    rebuilt: bool = False
    reason: str = ""
    problems: list[RecordError] = field(default_factory=list)
    seconds: float = 0.0
    total_chunks: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            **self.changes.as_dict(),
            "chunks_added": self.chunks_added,
            "rebuilt": self.rebuilt,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "total_chunks": self.total_chunks,
            "problems": [
                {"path": p.path, "line": p.line, "problem": p.problem} for p in self.problems
            ],
        }


def index_config(vault: Vault) -> dict[str, Any]:
    """The ``[index]`` table of this node's node.toml (may be empty)."""
    try:
        return dict(vault.node_config().get("index") or {})
    except RecordError:
        return {}


def embedder_for(vault: Vault) -> Embedder:
    """The embedder configured in node.toml ``[index] embedder`` (default MiniLM int8)."""
    cfg = index_config(vault)
    host = cfg.get("ollama_host")
    if not host:
        try:
            host = vault.node_config().get("llm", {}).get("host")
        except RecordError:
            host = None
    return get_embedder(cfg.get("embedder"), host)


class Indexer:
    """Builds and updates the Whoosh and Chroma indexes of a vault.

    Args:
        vault: the vault.
        embedder: default from node.toml.
        max_words: chunk size limit (default ``[index] chunk_words`` or 300).
    """

    def __init__(
        self,
        vault: Vault,
        embedder: Embedder | None = None,
        max_words: int | None = None,
        window_words: int | None = None,
    ) -> None:
        self.vault = vault
        self.embedder = embedder or embedder_for(vault)
        cfg = index_config(vault)
        self.max_words = int(max_words or cfg.get("chunk_words") or DEFAULT_MAX_WORDS)
        self.window_words = int(
            window_words
            if window_words is not None
            else cfg.get("window_words", DEFAULT_WINDOW_WORDS)
        )
        self.dir = vault.root / layout.VAULT_DIR / "index"
        self._whoosh = None
        self._chroma = None

    # -- state -------------------------------------------------------------------------
    @property
    def meta_path(self) -> Path:
        """``.vault/index/meta.json``."""
        return self.dir / "meta.json"

    def read_meta(self) -> dict[str, Any] | None:
        """The last run's meta, or None if missing or unreadable."""
        try:
            data = json.loads(self.meta_path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_meta(self, changes: ChangeReport) -> None:
        meta = {
            "schema": INDEX_SCHEMA,
            "embedder": self.embedder.name,
            "whoosh": whoosh_version(),
            "dim": self.embedder.dim,
            "max_words": self.max_words,
            "window_words": self.window_words,
            "commit": self.vault.head(),
            "hashes": changes.hashes,
            "dirty": list(changes.dirty),
        }
        atomic_write_text(self.meta_path, json.dumps(meta, indent=1, sort_keys=True))

    def rebuild_reason(self, meta: dict[str, Any] | None) -> str:
        """Why the index must be rebuilt from scratch ("" if it need not be)."""
        if meta is None:
            if self.meta_path.exists():
                return "corrupt index (meta.json unreadable)"
            return "new index"
        if meta.get("schema") != INDEX_SCHEMA:
            return f"index schema changed ({meta.get('schema')} → {INDEX_SCHEMA})"
        if meta.get("embedder") != self.embedder.name:
            return f"embedder changed ({meta.get('embedder')} → {self.embedder.name})"
        if meta.get("whoosh") != whoosh_version():
            return f"search library changed ({meta.get('whoosh')} → {whoosh_version()})"
        if (meta.get("max_words"), meta.get("window_words")) != (self.max_words, self.window_words):
            return (
                f"chunk size changed ({meta.get('max_words')}/{meta.get('window_words')} → "
                f"{self.max_words}/{self.window_words} words)"
            )
        try:
            self.whoosh()
            self.chroma()
        except Exception as e:  # noqa: BLE001 - any failure to open means: rebuild
            return f"corrupt index ({type(e).__name__}: {str(e)[:80]})"
        return ""

    def whoosh(self):
        """The Whoosh index (opened on first use)."""
        if self._whoosh is None:
            from .whoosh_index import WhooshIndex

            self._whoosh = WhooshIndex(self.dir / "whoosh")
        return self._whoosh

    def chroma(self):
        """The Chroma index (opened on first use)."""
        if self._chroma is None:
            from .chroma_index import ChromaIndex

            self._chroma = ChromaIndex(self.dir / "chroma")
        return self._chroma

    def _wipe(self) -> None:
        from .chroma_index import forget_clients

        self._whoosh = self._chroma = None
        forget_clients()
        for sub in ("whoosh", "chroma", "meta.json"):
            p = self.dir / sub
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    @contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock on the index folder (one writer at a time).

        Raises:
            IndexLockedError: another process is indexing.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexLockedError("another process is updating the index; try again") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- the work ----------------------------------------------------------------------
    def update(
        self,
        rebuild: bool = False,
        progress: Progress | None = None,
        on_rebuild: Callable[[str], None] | None = None,
    ) -> IndexReport:
        """Bring the indexes up to date with the files.

        Args:
            rebuild: start from scratch.
            progress: called with (files done, files total) while applying.
            on_rebuild: called with the reason before a full rebuild starts.
        """
        import time

        t0 = time.perf_counter()
        with self.lock():
            meta = None if rebuild else self.read_meta()
            reason = "requested (--rebuild)" if rebuild else self.rebuild_reason(meta)
            if reason:
                if on_rebuild:
                    on_rebuild(reason)
                self._wipe()
                meta = {}
            changes = plan(
                self.vault,
                meta.get("commit"),
                meta.get("hashes") or {},
                meta.get("dirty") or (),
                full=bool(reason),
            )
            report = IndexReport(changes, rebuilt=bool(reason), reason=reason)
            self._apply(changes, report, progress)
            self._write_meta(changes)
            report.total_chunks = self.whoosh().count()
        report.seconds = time.perf_counter() - t0
        return report

    def _chunks_of(self, rel: str, problems: list[RecordError]) -> list[Chunk]:
        info = layout.classify(rel)
        try:
            if info.kind == layout.PathKind.ROLLUP:
                rollups = self.vault.read_rollups(rel, problems)
                return rollup_day_chunks(rel, rollups, info.node or "")
            data = files.read_bytes(self.vault.root, rel)
            if data is None:  # a symlink, odd name or oversized file: skipped, reported
                return []
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise RecordError(
                    rel, data[: e.start].count(b"\n") + 1, f"not valid UTF-8 (byte {e.start})"
                ) from None
            return chunk_file(rel, text, self.max_words, problems)
        except RecordError as e:
            problems.append(e)
            return []
        except OSError as e:
            problems.append(RecordError(rel, 0, f"unreadable: {e.strerror or e}"))
            return []

    def _apply(self, changes: ChangeReport, report: IndexReport, progress: Progress | None) -> None:
        """Delete the chunks of changed and deleted files, then add the new chunks.

        Whoosh changes are committed once at the end (cancelled on error) and Chroma
        upserts by chunk id, so a run interrupted before meta.json is written can be
        repeated without duplicates.
        """
        todo = list(changes.new) + list(changes.modified)
        if changes.modified or changes.deleted:
            self.chroma().delete_paths(list(changes.modified) + list(changes.deleted))
        with self.whoosh().writer() as w:
            w.delete_paths(changes.deleted)
            batch: list[Chunk] = []
            batch_paths: list[str] = []
            for i, rel in enumerate(todo, 1):
                batch += self._chunks_of(rel, report.problems)
                batch_paths.append(rel)
                if len(batch) >= EMBED_BATCH * 4 or i == len(todo):
                    if batch:
                        self._add_vectors(batch)
                    w.delete_paths([] if report.rebuilt else batch_paths)
                    w.add(batch)
                    report.chunks_added += len(batch)
                    batch, batch_paths = [], []
                    if progress:
                        progress(i, len(todo))
        for p in report.problems:
            log.warning("skipped: %s", p)

    def _add_vectors(self, chunks: list[Chunk]) -> None:
        """Embed each chunk (and its windows, if long) and upsert the vectors."""
        owners: list[Chunk] = []
        ids: list[str] = []
        texts: list[str] = []
        for c in chunks:
            for j, t in enumerate(c.vector_texts(self.window_words)):
                owners.append(c)
                ids.append(c.id if j == 0 else f"{c.id}~{j}")
                texts.append(t)
        self.chroma().add(owners, self.embedder.embed(texts), ids)
