"""What else moves hybrid nDCG@10 on SciFact with the parts we can ship (MiniLM + BM25).

    python benchmarks/retrieval_ablation.py      # after benchmarks/retrieval.py

Uses the product index that ``benchmarks/retrieval.py`` built (300-word chunks,
120-word vector windows; same ``--work`` and ``--cache``) and scores every variant
by 2-fold cross-validation over the train queries: each half's parameters are
fitted on the other half (grid or coordinate ascent on nDCG@10), never on the
queries they are scored on. Document vectors are compared exhaustively with numpy
(the same cosine HNSW approximates).

Signals per document (min-max normalised over a query's candidates, the union of
the BM25 and vector top 200):

- ``bm``: BM25 (the product's Whoosh query), best chunk;
- ``win``: best cosine over the chunk's vector and its 120-word windows (product);
- ``whole``: cosine of the whole chunk's vector only (cut at 256 tokens by MiniLM);
- ``s1`` / ``s2``: best cosine over single sentences / pairs of adjacent sentences
  (SciFact claims are usually backed by one or two rationale sentences);
- ``title``: cosine of the title alone.

Variants: fusions of those signals; dense pseudo-relevance feedback (Rocchio on the
query vector: q + β·mean of the top-m hybrid documents' best vectors; Rocchio 1971,
as in Li et al., "Pseudo Relevance Feedback with Deep Language Models and Dense
Retrievers", 2021); BM25 with ordered bigram proximity clauses (the sequential
dependence idea of Metzler & Croft, SIGIR 2005, as Whoosh phrase queries with slop).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from retrieval import (  # noqa: E402
    CachedEmbedder,
    data_arguments,
    evaluate,
    import_corpus,
    load_corpus,
    load_qrels,
    load_queries,
    split,
    to_docs,
)

from vault_agent.index.embedders import DEFAULT_EMBEDDER, get_embedder  # noqa: E402
from vault_agent.index.indexer import Indexer  # noqa: E402

SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
SIGNALS = ("bm", "win", "whole", "s1", "s2", "title")
DEPTH = 200


def doc_id(path_or_chunk: str) -> str:
    """``knowledge-base/scifact/123.md#0~1`` → ``123``."""
    return path_or_chunk.split("#", 1)[0].rsplit("/", 1)[-1].removesuffix(".md")


def max_per_doc(sims: np.ndarray, owner: np.ndarray, ndocs: int) -> np.ndarray:
    """(queries × vectors) cosines → (queries × documents) best cosine per document."""
    out = np.full((sims.shape[0], ndocs), -1.0, np.float32)
    for j in range(sims.shape[0]):
        np.maximum.at(out[j], owner, sims[j])
    return out


def sentence_texts(docs: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """(texts, their document ids, their kinds: "s1", "s2" or "title")."""
    texts, owners, kinds = [], [], []
    for d in docs:
        sents = [s for s in SENTENCE_RE.split(d["text"].strip()) if s]
        for i, s in enumerate(sents):
            texts.append(s), owners.append(d["id"]), kinds.append("s1")
            if i + 1 < len(sents):
                texts.append(f"{s} {sents[i + 1]}"), owners.append(d["id"]), kinds.append("s2")
        texts.append(" ".join(d["title"].split()) or d["id"])
        owners.append(d["id"]), kinds.append("title")
    return texts, owners, kinds


class Signals:
    """Per-query candidate documents and their normalised signal matrix."""

    def __init__(
        self,
        qids: list[str],
        docs_ix: dict[str, int],
        dense: dict[str, np.ndarray],
        bm: dict[str, dict[str, float]],
    ) -> None:
        self.cands: dict[str, list[str]] = {}
        self.mats: dict[str, np.ndarray] = {}
        udocs = sorted(docs_ix, key=docs_ix.get)
        for i, q in enumerate(qids):
            top_bm = sorted(bm[q], key=lambda d: -bm[q][d])[:DEPTH]
            top_vec = [udocs[t] for t in np.argsort(-dense["win"][i])[:DEPTH]]
            cands = sorted(set(top_bm) | set(top_vec))
            idx = np.array([docs_ix[d] for d in cands])
            lo = min(bm[q].values()) if bm[q] else 0.0
            cols = [np.array([bm[q].get(d, lo) for d in cands])]
            cols += [dense[name][i][idx] for name in SIGNALS[1:]]
            m = np.stack(cols, 1)
            self.cands[q] = cands
            self.mats[q] = (m - m.min(0)) / (m.max(0) - m.min(0) + 1e-9)

    def runs(self, w: np.ndarray, ids: list[str]) -> dict[str, dict[str, float]]:
        """Weighted sum of the signals (weights in SIGNALS order) per query."""
        return {q: dict(zip(self.cands[q], self.mats[q] @ w, strict=True)) for q in ids}


def ascend(score: Callable[[np.ndarray], float], w0: np.ndarray, free: list[int]) -> np.ndarray:
    """Coordinate ascent on non-negative weights (steps 0.2 → 0.02)."""
    w, best = w0.copy(), score(w0)
    for step in (0.2, 0.1, 0.05, 0.02):
        better = True
        while better:
            better = False
            for i in free:
                for d in (step, -step):
                    w2 = w.copy()
                    w2[i] = max(0.0, w2[i] + d)
                    s = score(w2)
                    if s > best + 1e-4:
                        w, best, better = w2, s, True
    return w


def cv_weights(sig: Signals, qrels, halves, free: list[int]) -> tuple[float, list]:
    """2-fold CV of a weighted signal fusion; (held-out nDCG@10 mean, fitted weights)."""
    total, n, fitted = 0.0, 0, []
    for fit, test in (halves, halves[::-1]):
        w0 = np.zeros(len(SIGNALS))
        w0[free] = 0.5
        w = ascend(lambda w, fit=fit: evaluate(sig.runs(w, fit), qrels, fit)[0], w0, free)
        total += evaluate(sig.runs(w, test), qrels, test)[0] * len(test)
        n += len(test)
        fitted.append(dict(zip(SIGNALS, np.round(w, 2).tolist(), strict=True)))
    return total / n, fitted


def cv_grid(make_runs: Callable[[object, list[str]], dict], grid: list, qrels, halves):
    """2-fold CV over a parameter grid; (held-out nDCG@10 mean, chosen parameters)."""
    total, n, chosen = 0.0, 0, []
    for fit, test in (halves, halves[::-1]):
        best = max(grid, key=lambda p: evaluate(make_runs(p, fit), qrels, fit)[0])
        total += evaluate(make_runs(best, test), qrels, test)[0] * len(test)
        n += len(test)
        chosen.append(best)
    return total / n, chosen


def proximity_bm25(ix: Indexer, text: str, beta: float, slop: int, k: int = 300):
    """BM25 as the product queries it, plus ordered bigram phrase clauses boosted ``beta``."""
    from whoosh import query, scoring

    from vault_agent.index.whoosh_index import K1, PATH_BOOST, B

    w = ix.whoosh()
    terms = w.terms(text)
    parts = [
        query.Or([query.Term("content", t), query.Term("path_text", t, boost=PATH_BOOST)])
        for t in terms
    ]
    seq = [tok.text for tok in w._analyzer(text)]
    parts += [
        query.Phrase("content", [a, b], slop=slop, boost=beta)
        for a, b in zip(seq, seq[1:], strict=False)
        if a != b
    ]
    with w.ix.searcher(weighting=scoring.BM25F(B=B, K1=K1)) as s:
        return {h["id"]: float(h.score) for h in s.search(query.Or(parts), limit=k)}


def main(argv: list[str] | None = None) -> int:
    ap = data_arguments(__doc__, "vault-bench-ablation")
    ap.add_argument("--skip-proximity", action="store_true", help="skip the slow BM25 variant")
    args = ap.parse_args(argv)

    docs = load_corpus(args.corpus)
    queries, qrels = load_queries(args.queries), load_qrels(args.qrels)
    ids = {d["id"] for d in docs}
    qids = sorted(q for q in qrels if q in queries and any(d in ids for d in qrels[q]))
    halves = split(qids)
    emb = CachedEmbedder(get_embedder(DEFAULT_EMBEDDER), args.cache)
    ix = Indexer(import_corpus(args.work, docs), embedder=emb, max_words=300, window_words=120)
    ix.update()
    print(
        f"corpus {len(docs)} docs, {len(qids)} train queries (halves {len(halves[0])}/"
        f"{len(halves[1])}); embedding sentences (cached in {args.cache})",
        flush=True,
    )

    docs_ix = {d["id"]: i for i, d in enumerate(docs)}
    got = ix.chroma().col.get(include=["embeddings"])
    keep = [i for i, c in enumerate(got["ids"]) if doc_id(c) in docs_ix]
    vec_ids = [got["ids"][i] for i in keep]
    vecs = np.asarray(got["embeddings"], np.float32)[keep]
    owner = np.array([docs_ix[doc_id(c)] for c in vec_ids])
    whole = np.array(["~" not in c for c in vec_ids])
    qv = emb.embed([queries[q] for q in qids])
    texts, s_owner, kinds = sentence_texts(docs)
    svecs = emb.embed(texts)
    s_owner, kinds = np.array([docs_ix[o] for o in s_owner]), np.array(kinds)
    dense = {
        "win": max_per_doc(qv @ vecs.T, owner, len(docs)),
        "whole": max_per_doc(qv @ vecs[whole].T, owner[whole], len(docs)),
    }
    for kind in ("s1", "s2", "title"):
        m = kinds == kind
        dense[kind] = max_per_doc(qv @ svecs[m].T, s_owner[m], len(docs))
    w = ix.whoosh()
    bm = {
        q: {
            d: s
            for d, s in to_docs({c: s for c, s, _ in w.search(queries[q], 1000)}, 0.0).items()
            if d in docs_ix
        }
        for q in qids
    }
    sig = Signals(qids, docs_ix, dense, bm)

    print(f"\n{'variant (2-fold CV, held-out nDCG@10 mean)':<52}{'nDCG@10':>8}  fitted")
    for i, name in enumerate(SIGNALS):
        one = np.eye(len(SIGNALS))[i]
        print(f"  {name + ' alone':<50}{evaluate(sig.runs(one, qids), qrels, qids)[0]:>8.3f}")
    for label, free in (
        ("bm + whole (issue's min-max baseline)", [0, 2]),
        ("bm + win (product)", [0, 1]),
        ("bm + s2", [0, 4]),
        ("bm + win + whole + s1 + s2", [0, 1, 2, 3, 4]),
        ("all six signals", list(range(6))),
    ):
        nd, fitted = cv_weights(sig, qrels, halves, free)
        print(f"  {label:<50}{nd:>8.3f}  {fitted}", flush=True)

    qi = {q: i for i, q in enumerate(qids)}
    base = sig.runs(np.array([0.55, 0.45, 0, 0, 0, 0]), qids)
    udocs = [d["id"] for d in docs]

    def prf_runs(p, ids):
        m, beta, wv = p
        out = {}
        for q in ids:
            top = sorted(base[q], key=lambda d: -base[q][d])[:m]
            best = []
            for d in top:
                rows = np.where(owner == docs_ix[d])[0]
                best.append(vecs[rows[np.argmax(vecs[rows] @ qv[qi[q]])]])
            nq = qv[qi[q]] + beta * np.mean(best, 0)
            sims = max_per_doc((nq / np.linalg.norm(nq))[None, :] @ vecs.T, owner, len(docs))[0]
            vec = {udocs[t]: float(sims[t]) for t in np.argsort(-sims)[:DEPTH]}
            out[q] = _minmax(bm[q], vec, wv)
        return out

    grid = [(m, b, wv) for m in (3, 10) for b in (0.5, 1.0) for wv in (0.45, 0.65)]
    nd, chosen = cv_grid(prf_runs, grid, qrels, halves)
    print(f"  {'dense PRF (m, beta, w_vector) + bm':<50}{nd:>8.3f}  {chosen}", flush=True)

    if not args.skip_proximity:
        win_runs = {
            q: {
                udocs[t]: float(dense["win"][qi[q]][t])
                for t in np.argsort(-dense["win"][qi[q]])[:DEPTH]
            }
            for q in qids
        }
        cache: dict[tuple, dict] = {}

        def prox_runs(p, ids):
            beta, slop = p
            if p not in cache:
                cache[p] = {
                    q: to_docs(proximity_bm25(ix, queries[q], beta, slop), 0.0) for q in qids
                }
            return {q: _minmax(cache[p][q], win_runs[q], 0.45) for q in ids}

        nd, chosen = cv_grid(prox_runs, [(0.2, 1), (0.2, 4), (0.5, 4)], qrels, halves)
        print(f"  {'bigram proximity BM25 (beta, slop) + win':<50}{nd:>8.3f}  {chosen}")
    return 0


def _minmax(bm: dict[str, float], vec: dict[str, float], w_vector: float) -> dict[str, float]:
    from vault_agent.ask.fusion import FusionParams, fuse

    return fuse(bm, vec, FusionParams("minmax", w_vector))


if __name__ == "__main__":
    sys.exit(main())
