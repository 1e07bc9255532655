"""Fuse keyword and vector rankings into one.

- :func:`rrf`: reciprocal rank fusion, score = Σ w_i / (k + rank_i), k = 60
  (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and
  individual Rank Learning Methods", SIGIR 2009). Needs no score calibration.
- :func:`minmax`: weighted sum of min-max normalised scores (Fox & Shaw's CombSUM
  with normalisation; Lee, "Analyses of multiple evidence combination", SIGIR 1997).
- :func:`best_chunks`: a document's score from its best chunks (MaxP, Dai & Callan,
  "Deeper Text Understanding for IR with Contextual Neural Language Modeling",
  SIGIR 2019), with a small bonus for further matching chunks.

The defaults (:data:`DEFAULT`) were tuned on SciFact *train* queries split into
tune/held-out halves by ``benchmarks/retrieval.py`` (never on the held-out half).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RRF_K = 60


@dataclass(frozen=True)
class FusionParams:
    """How to fuse: ``method`` "rrf" or "minmax"; ``w_vector`` is the vector side's
    weight (the BM25 side has 1 - w_vector for minmax, 1 for rrf); ``k`` for rrf."""

    method: str = "minmax"
    w_vector: float = 0.5
    k: int = RRF_K


# Tuned on SciFact train queries (tune half): min-max fusion, vector weight 0.45.
DEFAULT = FusionParams("minmax", 0.45, RRF_K)
PLAIN_RRF = FusionParams("rrf", 1.0, RRF_K)


def rrf(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Reciprocal rank fusion of ranked id lists (best first); ranks start at 1."""
    weights = weights or [1.0] * len(rankings)
    out: dict[str, float] = defaultdict(float)
    for w, ranking in zip(weights, rankings, strict=True):
        for r, doc in enumerate(ranking, 1):
            out[doc] += w / (k + r)
    return dict(out)


def normalise(scores: Mapping[str, float]) -> dict[str, float]:
    """Min-max scale scores to [0, 1] (all equal → all 1)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo < 1e-12:
        return {d: 1.0 for d in scores}
    return {d: (s - lo) / (hi - lo) for d, s in scores.items()}


def minmax(
    score_lists: Sequence[Mapping[str, float]], weights: Sequence[float]
) -> dict[str, float]:
    """Weighted sum of min-max normalised scores; an id missing from a list scores 0 there."""
    out: dict[str, float] = defaultdict(float)
    for w, scores in zip(weights, score_lists, strict=True):
        for d, s in normalise(scores).items():
            out[d] += w * s
    return dict(out)


def fuse(
    bm25: Mapping[str, float], vector: Mapping[str, float], params: FusionParams = DEFAULT
) -> dict[str, float]:
    """Fuse two id → score maps (higher is better) with ``params``."""
    if params.method == "rrf":
        rb = sorted(bm25, key=lambda d: -bm25[d])
        rv = sorted(vector, key=lambda d: -vector[d])
        return rrf([rb, rv], params.k, [1.0, params.w_vector])
    if params.method == "minmax":
        return minmax([bm25, vector], [1.0 - params.w_vector, params.w_vector])
    raise ValueError(f"unknown fusion method {params.method!r}")


def best_chunks(chunk_scores: Mapping[str, float], bonus: float = 0.0) -> dict[str, float]:
    """Document scores from chunk scores (ids ``path#n``): the best chunk's score plus
    ``bonus`` × the second best (0 = MaxP)."""
    per: dict[str, list[float]] = defaultdict(list)
    for cid, s in chunk_scores.items():
        per[cid.rsplit("#", 1)[0]].append(s)
    out = {}
    for doc, ss in per.items():
        ss.sort(reverse=True)
        out[doc] = ss[0] + (bonus * ss[1] if bonus and len(ss) > 1 else 0.0)
    return out


def ranked(scores: Mapping[str, float], k: int | None = None) -> list[tuple[str, float]]:
    """(id, score) best first (ties by id, for stable output), at most ``k``."""
    items = sorted(scores.items(), key=lambda x: (-x[1], x[0]))
    return items[:k] if k else items
