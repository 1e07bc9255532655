"""The prompt for ``vault ask``'s text answers: numbered sources, then the question.

Small local models (qwen2.5:0.5b, 3B models) follow short, concrete instructions
best. The sources are cut to a budget in **tokens**: the model's context
(``[llm] n_ctx``, default 2048) less the answer's ``max_tokens`` and a margin, counted
with :func:`estimate_tokens`. The last line is ``Answer:``: ending on an instruction
about citation markers made a 0.5B model loop on ``[1] [2] [3] …``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from .retrieve import Hit

SYSTEM = (
    "You answer questions about a home lab's notes and sensor records. "
    "Use only the numbered sources. Cite each fact with its source number in "
    "square brackets, like [1] or [2]. If the sources do not answer the question, "
    "say so in one sentence. Be brief: at most 4 sentences."
)
SOURCE_TOKENS = 300  # at most this many tokens of one source
MARGIN_TOKENS = 64  # chat template and rounding
DEFAULT_CTX = 2048
TOKEN_RE = re.compile(r"\d|[^\W\d_]+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """An upper estimate of the tokens of ``text`` for BPE models such as Qwen2.5 and
    Llama 3: each digit and each punctuation mark is one token (Qwen splits numbers
    into digits), a word one token per 4 letters, rounded up."""
    n = 0
    for t in TOKEN_RE.findall(text):
        n += math.ceil(len(t) / 4) if t[0].isalpha() else 1
    return n


def _cut(text: str, tokens: int) -> str:
    """``text`` cut at a word boundary to at most ``tokens`` estimated tokens."""
    if estimate_tokens(text) <= tokens:
        return text
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:  # the most words that fit
        mid = (lo + hi + 1) // 2
        if estimate_tokens(" ".join(words[:mid])) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + " …"


def source_block(hits: Sequence[Hit], budget: int) -> str:
    """``[n] path (date)`` + text for each hit, within ``budget`` estimated tokens."""
    parts = []
    for n, h in enumerate(hits, 1):
        head = f"[{n}] {h.path}" + (f" ({h.date})" if h.date else "")
        if h.conflict:
            head += " [conflict copy]"
        title = f"\n{h.title}" if h.title else ""
        room = budget - estimate_tokens(head + title) - 2
        if room < 40:
            break
        text = _cut(" ".join(h.text.split()), min(SOURCE_TOKENS, room))
        part = f"{head}{title}\n{text}"
        parts.append(part)
        budget -= estimate_tokens(part) + 2
    return "\n\n".join(parts)


def messages(
    question: str, hits: Sequence[Hit], today: str, cfg: dict[str, Any] | None = None
) -> list[dict]:
    """Chat messages for the LLM backend, within the model's context (``cfg`` is the
    merged ``[llm]`` settings: ``n_ctx``, ``max_tokens``)."""
    cfg = cfg or {}
    n_ctx = int(cfg.get("n_ctx") or DEFAULT_CTX)
    fixed = f"Today is {today} (UTC).\n\nSources:\n\n\n\nQuestion: {question}\nAnswer:"
    budget = (
        n_ctx
        - int(cfg.get("max_tokens") or 160)
        - MARGIN_TOKENS
        - estimate_tokens(SYSTEM)
        - estimate_tokens(fixed)
    )
    user = (
        f"Today is {today} (UTC).\n\nSources:\n\n{source_block(hits, max(budget, 0))}\n\n"
        f"Question: {question}\nAnswer:"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
