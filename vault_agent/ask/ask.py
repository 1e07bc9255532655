"""``vault ask``: retrieve, prompt the LLM with numbered sources, check citations, log.

Steps: clean the question; turn time words into a date filter (unless the caller
gave one); retrieve the best chunks (hybrid); stream the LLM's answer through a
citation filter; keep only citations of given sources; write the Q&A to
``interactions/``. With no LLM reachable the answer is extractive: one line saying
so, then the best passages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..errors import RecordError
from ..index.whoosh_index import Filters
from ..vault import Vault
from .citations import Citation, CitationFilter, check
from .interactions import write_interaction
from .prompts import messages
from .retrieve import Hit, Retriever, clean_query
from .timewords import find_range

DEFAULT_K = 5


@dataclass
class AskResult:
    """What ``vault ask`` produced."""

    question: str
    answer: str
    model: str
    hits: list[Hit]
    citations: tuple[Citation, ...] = ()
    dropped: tuple[int, ...] = ()
    llm_ok: bool = True
    logged: str | None = None
    notes: list[str] = field(default_factory=list)
    filters: Filters | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        f = self.filters or Filters()
        return {
            "question": self.question,
            "answer": self.answer,
            "model": self.model,
            "llm": self.llm_ok,
            "citations": [{"n": c.n, "path": c.path} for c in self.citations],
            "dropped_citations": list(self.dropped),
            "sources": [dict(n=i, **h.as_dict()) for i, h in enumerate(self.hits, 1)],
            "logged": self.logged,
            "notes": self.notes,
            "filters": {"node": f.node, "kind": f.kind, "since": f.since, "until": f.until},
        }


PAST_ASKS_MARGIN = 5  # extra hits fetched so that dropping logged Q&A still leaves k


def llm_config(vault: Vault, model: str | None = None) -> dict[str, Any]:
    """node.toml ``[llm]`` with ``model`` overriding (``ollama:name`` / ``llamacpp:path``
    also switch the backend)."""
    try:
        cfg = dict(vault.node_config().get("llm") or {})
    except RecordError:
        cfg = {}
    if model:
        backend, sep, name = model.partition(":")
        if sep and backend in ("ollama", "llamacpp"):
            cfg["backend"], cfg["model"] = backend, name
        else:
            cfg["model"] = model
    return cfg


def extractive(hits: list[Hit]) -> str:
    """The best passages as the answer (no LLM): ``[n] path (date): snippet`` lines."""
    lines = []
    for n, h in enumerate(hits, 1):
        when = f" ({h.date})" if h.date else ""
        lines.append(f"[{n}] {h.path}{when}: {h.snippet or h.text[:300]}")
    return "\n".join(lines)


def ask(
    vault: Vault,
    question: str,
    *,
    k: int = DEFAULT_K,
    filters: Filters | None = None,
    model: str | None = None,
    log: bool = True,
    mode: str = "hybrid",
    retriever: Retriever | None = None,
    on_text: Callable[[str], None] | None = None,
    now: datetime | None = None,
    on_rebuild: Callable[[str], None] | None = None,
) -> AskResult:
    """Answer ``question`` from the vault.

    Args:
        filters: node/kind/date filters; time words in the question fill ``since``/
            ``until`` when neither is given.
        model: overrides node.toml ``[llm] model``.
        log: write the Q&A to ``interactions/`` and commit it.
        on_text: receives the answer as it streams (already citation-filtered).
    Raises:
        QueryError: an empty question.
    """
    from ..llm import LLMUnavailable, get_backend

    now = now or datetime.now(UTC)
    q, notes = clean_query(question)
    filters = filters or Filters()
    if not (filters.since or filters.until):
        rng = find_range(q, now)
        if rng:
            since, until = rng.as_strings()
            filters = replace(filters, since=since, until=until)
            notes.append(f"'{rng.phrase}' → {since} to {until}")
    retriever = retriever or Retriever(vault, on_rebuild=on_rebuild)
    # Earlier Q&A are not evidence: an answer citing the log of a previous question
    # would be circular. They are left out unless asked for (--kind interaction).
    skip_log = filters.kind is None
    res = retriever.search(q, k + (PAST_ASKS_MARGIN if skip_log else 0), mode, filters)
    notes += res.notes
    hits = [h for h in res.hits if h.relevant() and not (skip_log and h.kind == "interaction")][:k]
    backend = get_backend(llm_config(vault, model))
    result = AskResult(q, "", backend.name, hits, notes=notes, filters=filters)
    if not hits:
        result.answer = "Nothing in the vault matches this question."
        result.llm_ok = False
    else:
        _answer(result, backend, hits, now, on_text, LLMUnavailable)
    if log:
        cited = [c.path for c in result.citations] or [h.path for h in hits]
        result.logged = write_interaction(
            vault, q, result.answer, result.model, list(dict.fromkeys(cited)), now
        )
    return result


def _answer(
    result: AskResult,
    backend,
    hits: list[Hit],
    now: datetime,
    on_text: Callable[[str], None] | None,
    unavailable: type[Exception],
) -> None:
    msgs = messages(result.question, hits, now.date().isoformat())
    flt = CitationFilter(len(hits))
    raw: list[str] = []
    try:
        for piece in backend.chat(msgs, stream=True):
            raw.append(piece)
            shown = flt.feed(piece)
            if shown and on_text:
                on_text(shown)
        tail = flt.flush()
        if tail and on_text:
            on_text(tail)
        if not "".join(raw).strip():
            raise unavailable(f"{backend.name} returned an empty answer")
    except unavailable as e:
        result.llm_ok = False
        result.notes.append(f"No LLM reachable ({backend.name}): {e}")
        result.answer = extractive(hits)
        result.model = "extractive"
        return
    checked = check("".join(raw), [h.path for h in hits])
    result.answer = checked.text.strip()
    result.citations = checked.citations
    result.dropped = checked.dropped
    if checked.dropped:
        result.notes.append(
            "dropped citation(s) "
            + ", ".join(f"[{n}]" for n in checked.dropped)
            + f": only {len(hits)} sources were given"
        )
