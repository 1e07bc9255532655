"""How the index scales: a synthetic 10k-file vault (50k chunks).

    python benchmarks/index_scale.py [--files 10000] [--sections 5] [--embedder hash|minilm]

Prints: full build time; incremental update time after one file changes (goal: ~1/100
of a rebuild or less) and with nothing changed; search latency p50/p95 for bm25,
vector and hybrid at the resulting chunk count.

The default ``hash`` embedder (a deterministic 384-d bag-of-words hashing vector)
measures the index machinery (planning, Whoosh, Chroma) without the model, whose
cost is a separate, linear term: MiniLM int8 runs at about 10-20 chunks/s per
core here (``--embedder minilm`` measures it for real, at ~1 h for 50k chunks).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vault_agent.ask.retrieve import Retriever
from vault_agent.index.embedders import MiniLMEmbedder
from vault_agent.index.indexer import Indexer
from vault_agent.vault import Vault


class HashEmbedder:
    """Feature hashing of words into 384 dimensions, L2-normalised (no model)."""

    name = "hash-384"
    dim = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.clip(n, 1e-9, None)


def vocabulary(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def make_vault(root: Path, files: int, sections: int, seed: int = 7) -> Vault:
    """A vault with ``files`` Markdown notes of ``sections`` headed sections (~60 words each)."""
    v, created = Vault.init(root, "scale")
    kb = root / "knowledge-base" / "synthetic"
    if not created and kb.is_dir():
        return v
    rng = random.Random(seed)
    vocab = vocabulary(5000, rng)
    weights = [1 / (r + 1) for r in range(len(vocab))]  # Zipf's law, s = 1
    for i in range(files):
        folder = kb / f"{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        parts = [f"# Note {i}\n"]
        for s in range(sections):
            words = rng.choices(vocab, weights, k=60)
            parts.append(f"## Part {s}\n\n{' '.join(words)}.\n")
        (folder / f"note-{i:05d}.md").write_text("\n".join(parts), "utf-8")
    v.commit(f"Add {files} synthetic notes", "edit")
    return v


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--sections", type=int, default=5)
    ap.add_argument("--embedder", choices=["hash", "minilm"], default="hash")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--work", type=Path, default=None, help="keep the vault here")
    args = ap.parse_args(argv)

    emb = HashEmbedder() if args.embedder == "hash" else MiniLMEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.work or Path(tmp)) / f"scale-{args.files}"
        t = time.perf_counter()
        v = make_vault(root, args.files, args.sections)
        print(f"vault: {args.files} files written and committed in {time.perf_counter() - t:.1f} s")

        ix = Indexer(v, embedder=emb)
        t = time.perf_counter()
        rep = ix.update(rebuild=True)
        full = time.perf_counter() - t
        print(
            f"full build: {rep.total_chunks} chunks from {len(rep.changes.new)} files in "
            f"{full:.1f} s ({len(rep.changes.new) / full:.0f} files/s, "
            f"{rep.total_chunks / full:.0f} chunks/s; embedder {emb.name})"
        )

        t = time.perf_counter()
        Indexer(v, embedder=emb).update()
        nothing = time.perf_counter() - t
        target = root / "knowledge-base/synthetic/000/note-00003.md"
        target.write_text(target.read_text() + "\n## Added\n\nA fresh sentence.\n", "utf-8")
        t = time.perf_counter()
        rep1 = Indexer(v, embedder=emb).update()
        one = time.perf_counter() - t
        v.commit("edit one note", "edit")
        t = time.perf_counter()
        Indexer(v, embedder=emb).update()
        after_commit = time.perf_counter() - t
        print(f"incremental, nothing changed: {nothing * 1000:.0f} ms")
        print(
            f"incremental, 1 file edited (uncommitted): {one * 1000:.0f} ms "
            f"({rep1.changes.changed} file, {rep1.chunks_added} chunks); "
            f"ratio to full build 1/{full / one:.0f}"
        )
        print(f"incremental, after committing it: {after_commit * 1000:.0f} ms")

        rng = random.Random(1)
        words = vocabulary(5000, random.Random(7))
        queries = [" ".join(rng.choices(words[:2000], k=4)) for _ in range(args.queries)]
        r = Retriever(v, Indexer(v, embedder=emb), refresh=False)
        print(f"search at {rep1.total_chunks} chunks ({args.queries} queries, k=10):")
        for mode in ("bm25", "vector", "hybrid"):
            times = []
            for q in queries:
                t = time.perf_counter()
                r.search(q, 10, mode)
                times.append((time.perf_counter() - t) * 1000)
            print(
                f"  {mode:<7} p50 {statistics.median(times):6.0f} ms   "
                f"p95 {pct(times, 0.95):6.0f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
