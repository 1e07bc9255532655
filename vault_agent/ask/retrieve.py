"""Retrieval over the vault's indexes: BM25, vector, or hybrid (fused).

Results are chunks; hybrid and vector results keep the best chunk per file so a
long note does not fill the list. The indexes are brought up to date first
(incrementally; built from scratch if missing, e.g. after ``.vault/`` was deleted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import VaultError
from ..index.indexer import Indexer, IndexReport
from ..index.whoosh_index import Filters, snippet
from ..vault import Vault
from .fusion import DEFAULT, FusionParams, fuse, ranked
from .question import MAX_QUERY_CHARS, QueryError, clean_query

__all__ = ["MAX_QUERY_CHARS", "QueryError", "clean_query", "Hit", "Retriever", "SearchResult"]

MODES = ("bm25", "vector", "hybrid")
CANDIDATES = 50


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk with its score and where it came from."""

    id: str
    path: str
    score: float
    title: str
    text: str
    node: str
    kind: str
    date: str
    conflict: bool
    snippet: str
    bm25: float | None = None
    cosine: float | None = None

    def relevant(self, min_cosine: float = 0.3) -> bool:
        """True if a keyword matched or the vector is close enough (for ``vault ask``)."""
        return self.bm25 is not None or (self.cosine or 0.0) >= min_cosine

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "path": self.path,
            "score": round(self.score, 6),
            "title": self.title,
            "date": self.date,
            "node": self.node,
            "kind": self.kind,
            "conflict": self.conflict,
            "snippet": self.snippet,
            "text": self.text,
            "bm25": self.bm25,
            "cosine": self.cosine,
        }


@dataclass(frozen=True)
class SearchResult:
    """Hits plus notes for the user (query truncated, index rebuilt)."""

    hits: list[Hit]
    query: str
    notes: list[str]


class Retriever:
    """Searches one vault's indexes.

    Args:
        vault: the vault.
        indexer: default a new :class:`Indexer` (node.toml's embedder).
        fusion: how hybrid fuses the two rankings.
        refresh: update the indexes before the first search.
    """

    def __init__(
        self,
        vault: Vault,
        indexer: Indexer | None = None,
        fusion: FusionParams = DEFAULT,
        refresh: bool = True,
        on_rebuild: Callable[[str], None] | None = None,
    ) -> None:
        self.vault = vault
        self.indexer = indexer or Indexer(vault)
        self.fusion = fusion
        self.refresh = refresh
        self.on_rebuild = on_rebuild
        self.last_update: IndexReport | None = None

    def _ensure_fresh(self) -> None:
        if self.refresh:
            self.last_update = self.indexer.update(on_rebuild=self.on_rebuild)
            self.refresh = False

    def search(
        self, text: str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None
    ) -> SearchResult:
        """The top ``k`` hits for ``text``.

        Raises:
            QueryError: empty query. VaultError: an unknown mode.
        """
        if mode not in MODES:
            raise VaultError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        q, notes = clean_query(text)
        self._ensure_fresh()
        if self.last_update and self.last_update.rebuilt:
            notes.append(f"index rebuilt ({self.last_update.reason})")
        depth = max(CANDIDATES, 3 * k)
        fields: dict[str, dict[str, Any]] = {}
        bm: dict[str, float] = {}
        vec: dict[str, float] = {}
        if mode in ("bm25", "hybrid"):
            for cid, s, f in self.indexer.whoosh().search(q, depth, filters):
                bm[cid] = s
                fields.setdefault(cid, f)
        if mode in ("vector", "hybrid"):
            v = self.indexer.embedder.embed([q])[0]
            for cid, s, f in self.indexer.chroma().search(v, depth, filters):
                vec[cid] = s
                fields.setdefault(cid, f)
        scores = bm if mode == "bm25" else vec if mode == "vector" else fuse(bm, vec, self.fusion)
        terms = self.indexer.whoosh().terms(q)
        hits: list[Hit] = []
        seen_paths: set[str] = set()
        for cid, s in ranked(scores):
            f = fields[cid]
            # Logged Q&A (interactions) would outrank the notes they quote: they are
            # shown only when asked for with --kind interaction.
            if f.get("kind") == "interaction" and not (filters and filters.kind == "interaction"):
                continue
            path = f.get("path") or cid.rsplit("#", 1)[0]
            # A long note should not fill the list: one chunk per file, except for
            # rollup day files, whose chunks are different sensors.
            if mode != "bm25" and path in seen_paths and f.get("kind") != "rollup":
                continue
            seen_paths.add(path)
            body = f.get("body", "")
            hits.append(
                Hit(
                    cid,
                    path,
                    s,
                    f.get("title", ""),
                    body,
                    f.get("node", ""),
                    f.get("kind", ""),
                    f.get("date", ""),
                    bool(f.get("conflict")),
                    snippet(body, terms),
                    bm.get(cid),
                    vec.get(cid),
                )
            )
            if len(hits) >= k:
                break
        return SearchResult(hits, q, notes)
