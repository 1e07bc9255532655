"""The prompt for ``vault ask``: numbered sources, then the question.

Small local models (qwen2.5:0.5b, 3B models) follow short, concrete instructions
best; sources are cut so the prompt stays within a 2,048-token context
(~4 characters per token for English).
"""

from __future__ import annotations

from collections.abc import Sequence

from .retrieve import Hit

SYSTEM = (
    "You answer questions about a home lab's notes and sensor records. "
    "Use only the numbered sources. Cite each fact with its source number in "
    "square brackets, like [1] or [2]. If the sources do not answer the question, "
    "say so in one sentence. Be brief: at most 4 sentences."
)
SOURCE_CHARS = 900
TOTAL_CHARS = 5000


def source_block(hits: Sequence[Hit]) -> str:
    """``[n] path (date)`` + text for each hit, cut to fit :data:`TOTAL_CHARS`."""
    parts = []
    budget = TOTAL_CHARS
    for n, h in enumerate(hits, 1):
        text = " ".join(h.text.split())
        limit = min(SOURCE_CHARS, max(200, budget))
        if len(text) > limit:
            text = text[:limit].rsplit(" ", 1)[0] + " …"
        head = f"[{n}] {h.path}" + (f" ({h.date})" if h.date else "")
        if h.conflict:
            head += " [conflict copy]"
        title = f"\n{h.title}" if h.title else ""
        parts.append(f"{head}{title}\n{text}")
        budget -= len(text)
    return "\n\n".join(parts)


def messages(question: str, hits: Sequence[Hit], today: str) -> list[dict]:
    """Chat messages for the LLM backend."""
    user = (
        f"Today is {today} (UTC).\n\nSources:\n\n{source_block(hits)}\n\n"
        f"Question: {question}\nAnswer with citations like [1]:"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
