"""The keyword index: Whoosh BM25F over chunk title, body and path.

Library: ``whoosh3`` 3.54.0 (a maintained continuation of Whoosh, BSD-2, pinned so
index format and ranking stay comparable; docs/retrieval.md says why over
``whoosh-reloaded``, which has the same API). Imported lazily.

Fields: ``id`` (unique, ``path#n``), ``path`` (exact, for deletes), ``path_text`` and
``content`` (title + text; Porter-stemmed, stop words removed), ``title`` and ``body``
(stored for display), and the filter fields
``node``, ``kind``, ``date`` (``YYYY-MM-DD``, so ranges compare as text), ``conflict``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chunker import Chunk

# BM25 parameters: Anserini's defaults k1 = 0.9, b = 0.4 (Yang, Fang & Lin, "Anserini:
# Enabling the Use of Lucene for Information Retrieval Research", SIGIR 2017).
# Title and text are searched as one field ("content"): scoring a short title field
# on its own and adding it over-weights title matches (SciFact tune queries: nDCG@10
# 0.630 with a separate title field weighted x2, 0.714 with one field).
K1 = 0.9
B = 0.4
PATH_BOOST = 0.5
MAX_QUERY_TERMS = 256


@dataclass(frozen=True)
class Filters:
    """Search filters: node, kind, and a date range (``YYYY-MM-DD`` inclusive)."""

    node: str | None = None
    kind: str | None = None
    since: str | None = None
    until: str | None = None

    def empty(self) -> bool:
        """True when nothing is filtered."""
        return not (self.node or self.kind or self.since or self.until)


def schema():
    """The Whoosh schema (see module docstring)."""
    from whoosh import fields
    from whoosh.analysis import StemmingAnalyzer

    stem = StemmingAnalyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        path=fields.ID(stored=True),
        path_text=fields.TEXT(analyzer=stem),
        title=fields.STORED(),
        body=fields.STORED(),
        content=fields.TEXT(analyzer=stem),
        node=fields.ID(stored=True),
        kind=fields.ID(stored=True),
        date=fields.ID(stored=True, sortable=True),
        conflict=fields.BOOLEAN(stored=True),
    )


class WhooshIndex:
    """A Whoosh index in ``folder`` (created if missing)."""

    def __init__(self, folder: Path) -> None:
        from whoosh import index

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if index.exists_in(str(self.folder)):
            self.ix = index.open_dir(str(self.folder))
        else:
            self.ix = index.create_in(str(self.folder), schema())
        self._analyzer = self.ix.schema["content"].analyzer

    def count(self) -> int:
        """Number of chunks indexed."""
        return self.ix.doc_count()

    def update(self, chunks: Iterable[Chunk], delete_paths: Iterable[str] = ()) -> int:
        """Delete every chunk of ``delete_paths``, then add ``chunks``, in one commit."""
        with self.writer() as w:
            w.delete_paths(delete_paths)
            return w.add(chunks)

    @contextmanager
    def writer(self) -> Iterator[_Writer]:
        """One Whoosh writer for many adds/deletes, committed at the end (one segment
        per run instead of one per batch); cancelled on error."""
        w = self.ix.writer(limitmb=256)
        try:
            yield _Writer(w)
        except BaseException:
            w.cancel()
            raise
        w.commit()

    def terms(self, text: str) -> list[str]:
        """The query's analysed terms (stemmed, stop words out), unique, in order."""
        seen: dict[str, None] = {}
        for tok in self._analyzer(text):
            seen.setdefault(tok.text, None)
            if len(seen) >= MAX_QUERY_TERMS:
                break
        return list(seen)

    def search(
        self,
        text: str,
        k: int = 10,
        filters: Filters | None = None,
    ) -> list[tuple[str, float, dict[str, Any]]]:
        """Top ``k`` chunks by BM25F: (id, score, stored fields), best first."""
        from whoosh import query, scoring

        terms = self.terms(text)
        if not terms:
            return []
        q = query.Or(
            [
                query.Or([query.Term("content", t), query.Term("path_text", t, boost=PATH_BOOST)])
                for t in terms
            ]
        )
        flt = whoosh_filter(filters)
        with self.ix.searcher(weighting=scoring.BM25F(B=B, K1=K1)) as s:
            hits = s.search(q, limit=k, filter=flt)
            return [(h["id"], float(h.score), dict(h.fields())) for h in hits]


class _Writer:
    """Adds and deletes through one open Whoosh writer."""

    def __init__(self, w) -> None:
        self.w = w

    def delete_paths(self, paths: Iterable[str]) -> None:
        """Delete every chunk of ``paths``."""
        for p in paths:
            self.w.delete_by_term("path", p)

    def add(self, chunks: Iterable[Chunk]) -> int:
        """Add chunks; returns how many."""
        n = 0
        for c in chunks:
            self.w.add_document(
                id=c.id,
                path=c.path,
                path_text=c.path.replace("/", " "),
                title=c.title,
                body=c.text,
                content=c.embed_text(),
                node=c.node,
                kind=c.kind,
                date=c.date,
                conflict=c.conflict,
            )
            n += 1
        return n


def whoosh_filter(filters: Filters | None):
    """A Whoosh query restricting results to ``filters`` (None when nothing to filter)."""
    from whoosh import query

    if filters is None or filters.empty():
        return None
    parts = []
    if filters.node:
        parts.append(query.Term("node", filters.node))
    if filters.kind:
        parts.append(query.Term("kind", filters.kind))
    if filters.since or filters.until:
        parts.append(
            query.TermRange("date", filters.since or "0000-00-00", filters.until or "9999-99-99")
        )
    return query.And(parts) if len(parts) > 1 else parts[0]


_WORD_RE = re.compile(r"\w+")


def snippet(text: str, terms: list[str], width: int = 30) -> str:
    """About ``width`` words of ``text`` around the densest cluster of query ``terms``
    (terms are matched as word prefixes, so stems match)."""
    words = text.split()
    if len(words) <= width:
        return " ".join(words)
    hits = [
        i
        for i, w in enumerate(words)
        if any(m.lower().startswith(t) for m in _WORD_RE.findall(w) for t in terms)
    ]
    best, start = -1, 0
    for i in hits:
        c = sum(1 for j in hits if i <= j < i + width)
        if c > best:
            best, start = c, max(0, i - 3)
    piece = " ".join(words[start : start + width])
    return ("… " if start else "") + piece + (" …" if start + width < len(words) else "")
