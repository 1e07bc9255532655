"""The vector index: a Chroma ``PersistentClient`` collection, cosine space.

We always pass our own embeddings (documents and queries): Chroma's default
embedding function downloads a model at run time, which fails offline, so the
collection is created with ``embedding_function=None``. Imported lazily.

Metadata per chunk: path, node, kind, date (``YYYY-MM-DD``), day (int ``YYYYMMDD``,
for ``$gte``/``$lte`` range filters), title, conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .chunker import Chunk
from .whoosh_index import Filters

COLLECTION = "vault"
ADD_BATCH = 1000  # below Chroma's max batch size (5461 for SQLite's variable limit)


def _client(folder: Path):
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(
        path=str(folder), settings=Settings(anonymized_telemetry=False, allow_reset=True)
    )


def forget_clients() -> None:
    """Drop Chroma's per-process client cache (after a folder was deleted)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


class ChromaIndex:
    """A Chroma collection in ``folder`` holding chunk vectors."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.client = _client(self.folder)
        self.col = self.client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def count(self) -> int:
        """Number of chunks stored."""
        return self.col.count()

    def delete_paths(self, paths: Sequence[str]) -> None:
        """Remove every chunk of ``paths``."""
        for s in range(0, len(paths), 500):
            part = list(paths[s : s + 500])
            self.col.delete(where={"path": {"$in": part}} if len(part) > 1 else {"path": part[0]})

    def add(
        self, chunks: Sequence[Chunk], vectors: np.ndarray, ids: Sequence[str] | None = None
    ) -> None:
        """Upsert one vector per entry of ``chunks`` (same order).

        A chunk may come several times (its windows, see :meth:`Chunk.vector_texts`);
        ``ids`` then names each vector (``path#n`` for the whole chunk, ``path#n~w``
        for window w) and the metadata's ``chunk`` says whose window it is.
        """
        ids = list(ids) if ids is not None else [c.id for c in chunks]
        for s in range(0, len(chunks), ADD_BATCH):
            part = chunks[s : s + ADD_BATCH]
            self.col.upsert(
                ids=ids[s : s + ADD_BATCH],
                embeddings=vectors[s : s + ADD_BATCH],
                documents=[c.text for c in part],
                metadatas=[{**c.metadata(), "chunk": c.id} for c in part],
            )

    def search(
        self,
        vector: np.ndarray,
        k: int = 10,
        filters: Filters | None = None,
    ) -> list[tuple[str, float, dict[str, Any]]]:
        """Top ``k`` chunks by cosine similarity: (chunk id, similarity, metadata+text),
        best first; a chunk found through several of its windows counts once, with its
        best similarity."""
        n = self.count()
        if n == 0:
            return []
        res = self.col.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(3 * k, n),
            where=chroma_where(filters),
            include=["metadatas", "documents", "distances"],
        )
        out: list[tuple[str, float, dict[str, Any]]] = []
        seen: set[str] = set()
        for vid, dist, meta, doc in zip(
            res["ids"][0],
            res["distances"][0],
            res["metadatas"][0],
            res["documents"][0],
            strict=True,
        ):
            fields = dict(meta or {})
            cid = str(fields.pop("chunk", "") or vid.split("~", 1)[0])
            if cid in seen:
                continue
            seen.add(cid)
            fields["body"] = doc or ""
            out.append((cid, 1.0 - float(dist), fields))
            if len(out) >= k:
                break
        return out


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    """A Chroma ``where`` clause for ``filters`` (None when nothing to filter)."""
    if filters is None or filters.empty():
        return None
    parts: list[dict[str, Any]] = []
    if filters.node:
        parts.append({"node": filters.node})
    if filters.kind:
        parts.append({"kind": filters.kind})
    if filters.since:
        parts.append({"day": {"$gte": int(filters.since.replace("-", ""))}})
    if filters.until:
        parts.append({"day": {"$lte": int(filters.until.replace("-", ""))}})
    return parts[0] if len(parts) == 1 else {"$and": parts}
