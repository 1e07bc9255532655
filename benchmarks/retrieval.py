"""Retrieval quality and speed of the vault's indexes on a BEIR-format data set.

SCIFACT is a folder holding the BEIR SciFact data set (corpus.jsonl, queries.jsonl,
qrels/train.tsv; CC BY-NC 2.0, not bundled: 5,183 abstracts).

    python benchmarks/retrieval.py --corpus SCIFACT/corpus.jsonl \
        --queries SCIFACT/queries.jsonl \
        --qrels SCIFACT/qrels/train.tsv

1. Imports the corpus into a vault's knowledge-base as Markdown, one file per
   document (``# title`` then the text). Only the queries' ``_id`` and ``text`` are
   read, never their ``metadata`` (SciFact's gold evidence).
2. Indexes it with the product's :class:`Indexer` (Whoosh + Chroma, default MiniLM
   int8 embedder) for each chunk size in ``--chunk-words``. Embeddings are cached by
   text in ``--cache`` (``/tmp``) so repeated runs skip the slow part.
3. Splits the queries (deterministically, by a hash of the id) into *tune* and
   *held-out* halves. Fusion parameters and chunk size are chosen on *tune* only;
   figures are printed for both, the held-out ones are the result. Then 2-fold
   cross-validation (tune on either half, score the other) gives a steadier figure
   over all train queries, and the parameters tuned on all of them (the product's
   defaults; BEIR's test queries are kept out of this repository for independent
   evaluation).
4. Prints nDCG@10 and recall@100 (document level: a document's score is its best
   chunk's, MaxP) for bm25, vector, plain RRF (k=60) and the tuned fusion; index build
   docs/s against raw ``collection.add`` with the same embedder (uncached, on
   ``--speed-docs`` documents); hybrid query latency p50/p95.
5. With ``--embedder`` (``minilm-l6-int8``, the default, or ``minilm-l6-fp32``, ...)
   the whole run uses that embedder; its own footprint is measured in a fresh
   subprocess: raw embedding docs/s on ``--speed-docs`` abstracts and peak RSS
   (``ru_maxrss``) after loading the model and embedding them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from vault_agent.ask.fusion import PLAIN_RRF, FusionParams, best_chunks, fuse, ranked
from vault_agent.index.embedders import DEFAULT_EMBEDDER, Embedder, get_embedder
from vault_agent.index.indexer import DEFAULT_WINDOW_WORDS, INDEX_SCHEMA, Indexer
from vault_agent.vault import Vault

HERE = Path(__file__).resolve().parent


class CachedEmbedder:
    """Wraps an embedder with an SQLite cache keyed by sha1(name + text)."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, vec BLOB)")
        self.misses = 0

    def _key(self, t: str) -> str:
        return hashlib.sha1(f"{self.name}\0{t}".encode()).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for s in range(0, len(keys), 500):
            part = keys[s : s + 500]
            q = f"SELECT k, vec FROM v WHERE k IN ({','.join('?' * len(part))})"
            for k, blob in self.db.execute(q, part):
                found[k] = np.frombuffer(blob, dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            self.misses += len(missing)
            vecs = self.inner.embed([texts[i] for i in missing])
            rows = [(keys[i], vecs[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)]
            self.db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", rows)
            self.db.commit()
            for j, i in enumerate(missing):
                found[keys[i]] = vecs[j]
        return np.vstack([found[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)


# -- data ----------------------------------------------------------------------------------
def load_corpus(path: Path, limit: int | None = None) -> list[dict]:
    docs = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append(
                {"id": str(d["_id"]), "title": d.get("title", ""), "text": d.get("text", "")}
            )
            if limit and len(docs) >= limit:
                break
    return docs


def load_queries(path: Path) -> dict[str, str]:
    """Query id → text (``metadata`` is never read)."""
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            out[str(d["_id"])] = d["text"]
    return out


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].isdigit():
                continue
            out[parts[0]][parts[1]] = int(parts[2])
    return dict(out)


def split(qids: list[str]) -> tuple[list[str], list[str]]:
    """Deterministic tune / held-out halves by sha1 of the query id."""
    tune, held = [], []
    for q in qids:
        (tune if int(hashlib.sha1(q.encode()).hexdigest(), 16) % 2 == 0 else held).append(q)
    return tune, held


def doc_file(doc_id: str) -> str:
    return f"knowledge-base/scifact/{doc_id}.md"


def import_corpus(root: Path, docs: list[dict]) -> Vault:
    """A vault at ``root`` with one Markdown file per document (reused if present)."""
    v, created = Vault.init(root, "bench")
    kb = root / "knowledge-base" / "scifact"
    if created or not kb.is_dir():
        kb.mkdir(parents=True, exist_ok=True)
        for d in docs:
            title = " ".join(d["title"].split()) or d["id"]
            (kb / f"{d['id']}.md").write_text(f"# {title}\n\n{d['text'].strip()}\n", "utf-8")
        v.commit(f"Import {len(docs)} documents", "edit")
    return v


# -- metrics -------------------------------------------------------------------------------
def ndcg_at(ranking: list[str], rel: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** rel.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum((2**r - 1) / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: list[str], rel: dict[str, int], k: int = 100) -> float:
    good = {d for d, r in rel.items() if r > 0}
    return len(good & set(ranking[:k])) / len(good) if good else 0.0


def doc_of(chunk_id: str) -> str:
    return chunk_id.rsplit("#", 1)[0].rsplit("/", 1)[-1].removesuffix(".md")


def to_docs(chunk_scores: dict[str, float], bonus: float) -> dict[str, float]:
    return {doc_of(p + "#0"): s for p, s in best_chunks(chunk_scores, bonus).items()}


def evaluate(runs: dict[str, dict[str, float]], qrels, qids) -> tuple[float, float]:
    nd, rc = [], []
    for q in qids:
        r = [d for d, _ in ranked(runs[q])]
        nd.append(ndcg_at(r, qrels[q]))
        rc.append(recall_at(r, qrels[q]))
    return statistics.mean(nd), statistics.mean(rc)


# -- the runs ------------------------------------------------------------------------------
def raw_runs(
    ix: Indexer,
    queries: dict[str, str],
    qids: list[str],
    depth_bm: int,
    depth_vec: int,
    cache: Path | None = None,
) -> tuple[dict, dict]:
    """Per query: chunk id → BM25 score, chunk id → cosine (pickled in ``cache``)."""
    import pickle

    if cache and cache.exists():
        return pickle.loads(cache.read_bytes())
    bm, vec = {}, {}
    qv = ix.embedder.embed([queries[q] for q in qids])
    w, c = ix.whoosh(), ix.chroma()
    for i, q in enumerate(qids):
        bm[q] = {cid: s for cid, s, _ in w.search(queries[q], depth_bm)}
        vec[q] = {cid: s for cid, s, _ in c.search(qv[i], depth_vec)}
    if cache:
        cache.write_bytes(pickle.dumps((bm, vec)))
    return bm, vec


def fused_runs(bm, vec, qids, params: FusionParams, bonus: float, level: str = "doc"):
    out = {}
    for q in qids:
        if level == "doc":
            out[q] = fuse(to_docs(bm[q], bonus), to_docs(vec[q], bonus), params)
        else:
            out[q] = to_docs(fuse(bm[q], vec[q], params), bonus)
    return out


def grid() -> list[FusionParams]:
    out = [FusionParams("rrf", w, k) for k in (10, 30, 60, 100) for w in (0.5, 0.75, 1.0, 1.5, 2.0)]
    out += [FusionParams("minmax", w / 20, 60) for w in range(4, 17)]
    return out


def tune(bm, vec, qrels, tune_ids):
    best = None
    for bonus in (0.0, 0.1, 0.25):
        for level in ("doc", "chunk"):
            for p in grid():
                nd, _ = evaluate(fused_runs(bm, vec, tune_ids, p, bonus, level), qrels, tune_ids)
                if best is None or nd > best[0]:
                    best = (nd, p, bonus, level)
    return best


def crossval(bm, vec, qrels, tune_ids, held_ids) -> tuple[float, tuple]:
    """2-fold cross-validation over all train queries: tune on one half, score the
    other, and the other way round. Returns (query-weighted mean held-out nDCG@10,
    the parameters tuned on all train queries) and prints both folds."""
    folds = []
    for fit, test in ((tune_ids, held_ids), (held_ids, tune_ids)):
        nd_fit, p, bonus, level = tune(bm, vec, qrels, fit)
        nd = evaluate(fused_runs(bm, vec, test, p, bonus, level), qrels, test)[0]
        folds.append((nd, len(test), nd_fit, p, bonus, level))
    mean = sum(nd * n for nd, n, *_ in folds) / sum(n for _, n, *_ in folds)
    everything = tune(bm, vec, qrels, tune_ids + held_ids)
    for nd, n, nd_fit, p, bonus, level in folds:
        print(
            f"  fold: fit {nd_fit:.3f} → held-out {nd:.3f} on {n} queries "
            f"({p}, bonus {bonus}, {level} level)"
        )
    print(
        f"  2-fold cross-validated hybrid nDCG@10: {mean:.3f}; tuned on all "
        f"{len(tune_ids) + len(held_ids)} train queries: {everything[1]}, "
        f"bonus {everything[2]}, {everything[3]} level (fit {everything[0]:.3f})"
    )
    return mean, everything[1:]


def max_merge(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per document, the best score over several runs (e.g. chunk sizes)."""
    out: dict[str, float] = {}
    for r in runs:
        for d, v in r.items():
            out[d] = max(out.get(d, v), v)
    return out


def cross(results, qids, tune_ids, held_ids, qrels) -> None:
    """Vectors of several chunk sizes at once (a document's best vector over its whole
    abstract and its passages), BM25 from one size; tuned on tune only."""
    sizes = sorted(results)
    vec_all = {q: max_merge([to_docs(results[w][2][q], 0.0) for w in sizes]) for q in qids}
    print(f"\nmulti-size vectors (best of chunk sizes {sizes} per document):")
    for wb in sizes:
        bm_docs = {q: to_docs(results[wb][1][q], 0.0) for q in qids}
        best = None
        for p in grid():
            runs = {q: fuse(bm_docs[q], vec_all[q], p) for q in tune_ids}
            nd = evaluate(runs, qrels, tune_ids)[0]
            if best is None or nd > best[0]:
                best = (nd, p)
        runs = {q: fuse(bm_docs[q], vec_all[q], best[1]) for q in qids}
        v_nd = evaluate(vec_all, qrels, held_ids)[0]
        h_nd, h_rc = evaluate(runs, qrels, held_ids)
        print(
            f"  bm25@{wb} + vectors@{sizes}: tune {best[0]:.3f} with {best[1]}; "
            f"held-out nDCG@10 {h_nd:.3f}, R@100 {h_rc:.3f} (vectors alone {v_nd:.3f})"
        )


_FOOTPRINT = """
import json, sys, time
def rss():  # VmHWM: peak resident set of this process image (ru_maxrss keeps the parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from vault_agent.index.embedders import get_embedder
texts = json.load(open(sys.argv[1], encoding="utf-8"))
base = rss()
t = time.perf_counter()
emb = get_embedder(sys.argv[2])
emb.embed(["warm up"])
load_s = time.perf_counter() - t
loaded = rss()
t = time.perf_counter()
emb.embed(texts)
took = time.perf_counter() - t
print(json.dumps({"docs_s": len(texts) / took, "load_s": load_s, "base_mb": base,
                  "loaded_mb": loaded, "peak_mb": rss()}))
"""


def footprint(spec: str, docs: list[dict], n: int) -> dict:
    """The embedder alone in a fresh Python: docs/s embedding ``n`` abstracts (title +
    text, cut at 256 tokens by the model), load time (s) and peak RSS (MiB; ``base_mb``
    is the interpreter with numpy before the model is imported; Linux ``VmHWM``)."""
    texts = [f"{d['title']}\n{d['text']}" for d in docs[:n]]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(texts, fh)
    try:
        out = subprocess.run(
            [sys.executable, "-c", _FOOTPRINT, fh.name, spec],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        Path(fh.name).unlink()
    return json.loads(out.strip().splitlines()[-1])


def speed(docs: list[dict], n: int, spec: str = DEFAULT_EMBEDDER) -> tuple[float, float]:
    """(indexer docs/s, raw collection.add docs/s) on ``n`` documents, uncached embedder."""
    import chromadb
    from chromadb.config import Settings

    sub = docs[:n]
    emb = get_embedder(spec)
    emb.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        v = import_corpus(Path(tmp) / "v", sub)
        t = time.perf_counter()
        Indexer(v, embedder=emb).update()
        ours = n / (time.perf_counter() - t)
        client = chromadb.PersistentClient(
            path=str(Path(tmp) / "raw"), settings=Settings(anonymized_telemetry=False)
        )
        col = client.get_or_create_collection(
            "raw", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        t = time.perf_counter()
        texts = [f"{d['title']}\n{d['text']}" for d in sub]
        col.add(ids=[d["id"] for d in sub], embeddings=emb.embed(texts), documents=texts)
        raw = n / (time.perf_counter() - t)
    return ours, raw


def latency(ix: Indexer, queries: list[str], params: FusionParams) -> tuple[float, float]:
    from vault_agent.ask.retrieve import Retriever

    r = Retriever(ix.vault, ix, params, refresh=False)
    times = []
    for q in queries:
        t = time.perf_counter()
        r.search(q, 10)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95) - 1]


def data_arguments(doc: str, work: str) -> argparse.ArgumentParser:
    """A parser with the BEIR data set options (SciFact train by default), ``--work``
    (``/tmp/<work>``) and ``--cache`` (the shared embedding cache)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    data = HERE.parent.parent / "shared" / "data" / "scifact"
    ap.add_argument("--corpus", type=Path, default=data / "corpus.jsonl")
    ap.add_argument("--queries", type=Path, default=data / "queries.jsonl")
    ap.add_argument("--qrels", type=Path, default=data / "qrels" / "train.tsv")
    tmp = Path(tempfile.gettempdir())
    ap.add_argument("--work", type=Path, default=tmp / work)
    ap.add_argument("--cache", type=Path, default=tmp / "vault-bench-cache" / "embeddings.sqlite")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = data_arguments(__doc__, "vault-bench-retrieval")
    ap.add_argument(
        "--chunk-words",
        default="300,120",
        help="chunk sizes to compare (comma separated; the best on tune wins)",
    )
    ap.add_argument(
        "--window-words",
        type=int,
        default=DEFAULT_WINDOW_WORDS,
        help="vector windows for longer chunks (0: one vector per chunk)",
    )
    ap.add_argument("--limit-docs", type=int, default=None, help="use only the first N documents")
    ap.add_argument("--speed-docs", type=int, default=200, help="documents for the docs/s figure")
    ap.add_argument(
        "--embedder",
        default=DEFAULT_EMBEDDER,
        help="embedder spec as in node.toml [index] embedder "
        "(minilm-l6-int8, minilm-l6-fp32, ollama:<model>)",
    )
    args = ap.parse_args(argv)

    docs = load_corpus(args.corpus, args.limit_docs)
    queries = load_queries(args.queries)
    qrels = load_qrels(args.qrels)
    ids = {d["id"] for d in docs}
    qids = sorted(q for q in qrels if q in queries and any(d in ids for d in qrels[q]))
    tune_ids, held_ids = split(qids)
    print(
        f"corpus {len(docs)} docs; queries {len(qids)} (tune {len(tune_ids)}, "
        f"held-out {len(held_ids)})"
    )
    tag = hashlib.sha1(f"{args.corpus.resolve()}:{len(docs)}".encode()).hexdigest()[:8]
    if args.embedder != DEFAULT_EMBEDDER:  # the default keeps its earlier work dirs
        tag += "-" + "".join(c if c.isalnum() else "_" for c in args.embedder)
    emb = CachedEmbedder(get_embedder(args.embedder), args.cache)
    print(f"embedder {emb.name}")
    results = {}
    for words in [int(w) for w in args.chunk_words.split(",")]:
        root = args.work / f"{tag}-{words}-{args.window_words}"
        v = import_corpus(root, docs)
        ix = Indexer(v, embedder=emb, max_words=words, window_words=args.window_words)
        t = time.perf_counter()
        rep = ix.update()
        took = time.perf_counter() - t
        print(
            f"[{words} words, windows {args.window_words}] indexed {rep.total_chunks} chunks "
            f"in {took:.1f} s "
            f"({emb.misses} texts embedded, rest cached)",
            flush=True,
        )
        from vault_agent.index.indexer import whoosh_version

        key = hashlib.sha1(
            f"{tag}:{words}:{args.window_words}:{ix.read_meta()['commit']}:"
            f"{INDEX_SCHEMA}:"
            f"{whoosh_version()}:"
            f"{len(qids)}".encode()
        ).hexdigest()[:12]
        bm, vec = raw_runs(ix, queries, qids, 600, 400, args.cache.parent / f"runs-{key}.pkl")
        best = tune(bm, vec, qrels, tune_ids)
        results[words] = (best, bm, vec, ix)
        print(
            f"[{words} words] tuned on tune split: nDCG@10 {best[0]:.3f} with {best[1]}, "
            f"bonus {best[2]}, fuse at {best[3]} level",
            flush=True,
        )
    words = max(results, key=lambda w: results[w][0][0])
    (nd_t, params, bonus, level), bm, vec, ix = results[words]
    print(f"\nchosen on tune: chunk {words} words, {params}, bonus {bonus}, {level} level\n")
    print(f"{'run':<28}{'tune nDCG@10':>14}{'held nDCG@10':>14}{'held R@100':>12}")
    rows = [
        ("bm25", {q: to_docs(bm[q], bonus) for q in qids}),
        (f"vector ({emb.name})", {q: to_docs(vec[q], bonus) for q in qids}),
        ("hybrid RRF k=60", fused_runs(bm, vec, qids, PLAIN_RRF, 0.0, "doc")),
        ("hybrid tuned", fused_runs(bm, vec, qids, params, bonus, level)),
    ]
    for name, runs in rows:
        t_nd, _ = evaluate(runs, qrels, tune_ids)
        h_nd, h_rc = evaluate(runs, qrels, held_ids)
        print(f"{name:<28}{t_nd:>14.3f}{h_nd:>14.3f}{h_rc:>12.3f}")
    for w, (b, bm_w, vec_w, _) in sorted(results.items()):
        runs = fused_runs(bm_w, vec_w, held_ids, b[1], b[2], b[3])
        print(
            f"  (chunk {w} words, tuned on tune: held-out nDCG@10 "
            f"{evaluate(runs, qrels, held_ids)[0]:.3f})"
        )
    if len(results) > 1:
        cross(results, qids, tune_ids, held_ids, qrels)
    print(f"\n2-fold cross-validation (chunk {words} words; each half tuned on the other):")
    for name, runs in rows[:3]:
        print(
            f"  {name:<26} all {len(qids)} train queries (untuned): "
            f"{evaluate(runs, qrels, qids)[0]:.3f}"
        )
    crossval(bm, vec, qrels, tune_ids, held_ids)
    p50, p95 = latency(ix, [queries[q] for q in held_ids[:100]], params)
    print(
        f"\nhybrid search latency (vault search path, {min(100, len(held_ids))} queries): "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
    )
    if args.speed_docs:
        n = min(args.speed_docs, len(docs))
        ours, raw = speed(docs, n, args.embedder)
        print(
            f"index build, {n} docs, uncached {emb.name}: "
            f"vault index {ours:.1f} docs/s, "
            f"raw collection.add {raw:.1f} docs/s, ratio {ours / raw:.2f}"
        )
        fp = footprint(args.embedder, docs, n)
        print(
            f"embedder alone ({emb.name}, fresh process, {n} abstracts): "
            f"{fp['docs_s']:.1f} docs/s, load {fp['load_s']:.1f} s, peak RSS "
            f"{fp['peak_mb']:.0f} MiB (python+numpy {fp['base_mb']:.0f}, "
            f"after load {fp['loaded_mb']:.0f})"
        )
    import resource

    print(
        f"benchmark process peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
