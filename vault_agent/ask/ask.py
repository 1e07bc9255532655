"""``vault ask``: plan, then compute or retrieve; cite; log.

Steps: clean the question; parse it into a :class:`~.plan.Plan` (no IO, no model).

- A sensor question (numbers, times, events, comparisons) is computed from the
  rollup lines by :mod:`.facts` through the query layer: a templated sentence with
  the lines cited; an LLM, when configured, may only rephrase it (:mod:`.answer`
  checks every number). No data for the period says so and what the data covers.
- An observation question ("what did the office node notice on Feb 5") returns that
  day's observations.
- Anything else is retrieved as text (hybrid BM25 + vectors) with the question's dates
  and node as filters; the LLM answers from numbered sources through a citation
  filter; without an LLM the best passages are shown.

The Q&A is written to ``interactions/`` unless ``log`` is False. The heavy parts
(DuckDB, Whoosh, Chroma, the embedder, the LLM client) are imported only by the path
that needs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import RecordError
from ..vault import Vault
from .citations import Citation, CitationFilter, check
from .interactions import write_interaction
from .plan import Plan, parse
from .question import QueryError, clean_query

if TYPE_CHECKING:
    from ..index.whoosh_index import Filters
    from .facts import Computed
    from .retrieve import Hit, Retriever

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
    route: str = "text"
    computed: Computed | None = None
    plan: Plan | None = None
    cut: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``route``: sensor, observation or text; ``facts`` with their
        citations for a sensor answer)."""
        f = self.filters
        c = self.computed
        return {
            "route": self.route,
            "stat": self.plan.stat if self.plan else "",
            "verdict": c.verdict if c else None,
            "no_data": c.no_data if c else False,
            "timezone": c.tz if c else None,
            "facts": [x.as_dict() for x in c.facts] if c else [],
            "template": c.sentence if c else None,
            "cut": self.cut,
            "question": self.question,
            "answer": self.answer,
            "model": self.model,
            "llm": self.llm_ok,
            "citations": [{"n": c.n, "path": c.path} for c in self.citations],
            "dropped_citations": list(self.dropped),
            "sources": [dict(n=i, **h.as_dict()) for i, h in enumerate(self.hits, 1)],
            "logged": self.logged,
            "notes": self.notes,
            "filters": {
                "node": f.node if f else None,
                "kind": f.kind if f else None,
                "since": f.since if f else None,
                "until": f.until if f else None,
            },
        }


# words that ask for an explanation as well as numbers: a sensor answer plus the notes
MIXED_RE = re.compile(r"\b(why|because|reason|explain|caused?)\b", re.IGNORECASE)
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
    use_llm: bool = True,
    store: Any = None,
    on_status: Callable[[str], None] | None = None,
) -> AskResult:
    """Answer ``question`` from the vault (see the module docstring).

    Args:
        filters: node/kind/date filters. ``--node`` limits the sensors asked about;
            ``--since/--until`` stand for the period when the question names none;
            ``--kind`` forces text retrieval.
        model: overrides node.toml ``[llm] model``; ``use_llm`` False: no LLM at all.
        log: write the Q&A to ``interactions/`` and commit it.
        store: a :class:`vault_agent.query.Store` to reuse (warm); default a new one.
        on_text: receives a retrieval answer as it streams (citation-filtered).
        on_status: receives "searching…"/"thinking…" as the steps start.
        now: the current time (default: the clock); relative dates count from it.
    Raises:
        QueryError: an empty question.
    """
    now = now or datetime.now(UTC)
    q, notes = clean_query(question)
    plan = None
    if filters is None or filters.kind is None:
        store = store if store is not None else _open_store(vault)
        plan = _plan(q, store, filters, now)
        notes += list(plan.notes)
    if plan is not None and plan.kind == "sensor":
        result = _sensor_answer(vault, q, plan, store, model, use_llm, on_status, notes)
        if MIXED_RE.search(q):  # "why was it cold": the numbers, then the notes about it
            # the rollups are answered above; undated notes (knowledge) must not be
            # filtered out by the question's date
            text = _text_answer(
                vault,
                q,
                replace(plan, days=None),
                filters,
                k + 5,
                model,
                mode,
                retriever,
                None,
                now,
                on_rebuild,
                False,
                on_status,
                [],
            )
            text.hits = [h for h in text.hits if h.kind != "rollup"][:k]
            result.hits = text.hits
            if text.hits:
                result.answer += "\n\nRelated notes:\n" + extractive(text.hits)
    elif plan is not None and plan.kind == "observation":
        result = _observation_answer(q, plan, store, notes)
    else:
        result = _text_answer(
            vault,
            q,
            plan,
            filters,
            k,
            model,
            mode,
            retriever,
            on_text,
            now,
            on_rebuild,
            use_llm,
            on_status,
            notes,
        )
    if log:
        cited = [c.path for c in result.citations] or [h.path for h in result.hits]
        result.logged = write_interaction(
            vault, q, result.answer, result.model, list(dict.fromkeys(cited)), now
        )
    return result


def _open_store(vault: Vault) -> Any:
    from ..query import Store

    return Store(vault.root)


def _plan(q: str, store: Any, filters: Filters | None, now: datetime) -> Plan:
    """Parse ``q`` with the vault's sensors (only ``filters.node``'s when given)."""
    from .when import DayRange

    if filters is not None and filters.since and filters.until and filters.since > filters.until:
        raise QueryError(f"--since {filters.since} is after --until {filters.until}")
    vocab = store.sensors()
    if filters is not None and filters.node:
        vocab = [s for s in vocab if s.node == filters.node]
    plan = parse(q, vocab, now.astimezone(store.tz).date(), store.node_aliases())
    if plan.days is None and filters is not None and (filters.since or filters.until):
        from datetime import date

        lo = date.fromisoformat(filters.since) if filters.since else date.min
        hi = date.fromisoformat(filters.until) if filters.until else now.astimezone(store.tz).date()
        plan = replace(plan, days=DayRange(lo, hi, "--since/--until"))
    return plan


def _sensor_answer(
    vault: Vault,
    q: str,
    plan: Plan,
    store: Any,
    model: str | None,
    use_llm: bool,
    on_status: Callable[[str], None] | None,
    notes: list[str],
) -> AskResult:
    from .facts import compute

    computed = compute(plan, store)
    result = AskResult(q, computed.sentence, "template", [], notes=notes, route="sensor")
    result.computed, result.plan, result.llm_ok = computed, plan, False
    result.citations = tuple(Citation(n, c) for n, c in enumerate(computed.cites, 1))
    if use_llm and not computed.no_data:
        from ..llm import NoLLM, get_backend, llm_settings

        cfg = llm_settings(llm_config(vault, model))
        backend = get_backend(cfg)
        if not isinstance(backend, NoLLM):
            if on_status:
                on_status("thinking…")
            from .answer import IDLE_S, phrase

            idle = float(cfg.get("idle_s", IDLE_S))
            ph = phrase(backend, q, computed, idle_s=idle, total_s=float(cfg["timeout_s"]))
            result.cut = ph.cut
            if ph.ok:
                result.answer, result.model, result.llm_ok = ph.text, backend.name, True
            else:
                notes.append(f"kept the computed answer: {backend.name}: {ph.reason}")
    return result


def _observation_answer(q: str, plan: Plan, store: Any, notes: list[str]) -> AskResult:
    """That period's observations (not memory facts), by the node(s) the question names."""
    days = plan.days
    nodes: list[str | None] = list(plan.nodes) or [None]
    found = []
    for node in nodes:
        obs = store.observations(node, days.since if days else None, days.until if days else None)
        found += [o for o in obs if o.kind == "observation" and _in_days(o, days)]
    result = AskResult(q, "", "template", [], notes=notes, route="observation", plan=plan)
    result.llm_ok = False
    who = ", ".join(n for n in nodes if n) or "the nodes"
    when = f" on {days.label()}" if days else ""
    if not found:
        result.answer = f"No observations by {who}{when}."
        return result
    lines = [f"{who.capitalize()} noticed {len(found)} thing(s){when}:"]
    for n, o in enumerate(found, 1):
        text = " ".join((o.text or o.title).split())
        lines.append(f"[{n}] {text[:300]}")
    result.answer = "\n".join(lines)
    result.citations = tuple(Citation(n, o.path) for n, o in enumerate(found, 1))
    return result


def _in_days(o: Any, days: Any) -> bool:
    if days is None:
        return True
    return o.day is not None and days.since <= o.day <= days.until


def _text_filters(plan: Plan | None, filters: Filters | None) -> tuple[Filters, list[str]]:
    """The user's filters, with the question's dates and single node filled in."""
    from ..index.whoosh_index import Filters

    f = filters or Filters()
    notes: list[str] = []
    if plan is None:
        return f, notes
    if plan.days and not (f.since or f.until):
        until = plan.days.until
        if plan.part and plan.part[1] <= plan.part[0]:  # a night runs into the next day
            from datetime import timedelta

            until = until + timedelta(days=1)
        f = replace(f, since=plan.days.since.isoformat(), until=until.isoformat())
    if len(plan.nodes) == 1 and not f.node:
        f = replace(f, node=plan.nodes[0])
        notes.append(f"node filter: {plan.nodes[0]}")
    return f, notes


def _text_answer(
    vault: Vault,
    q: str,
    plan: Plan | None,
    filters: Filters | None,
    k: int,
    model: str | None,
    mode: str,
    retriever: Retriever | None,
    on_text: Callable[[str], None] | None,
    now: datetime,
    on_rebuild: Callable[[str], None] | None,
    use_llm: bool,
    on_status: Callable[[str], None] | None,
    notes: list[str],
) -> AskResult:
    from ..llm import LLMUnavailable, NoLLM, get_backend
    from .retrieve import Retriever

    filters, more = _text_filters(plan, filters)
    notes += more
    if on_status:
        on_status("searching…")
    retriever = retriever or Retriever(vault, on_rebuild=on_rebuild)
    # Earlier Q&A are not evidence: an answer citing the log of a previous question
    # would be circular. They are left out unless asked for (--kind interaction).
    skip_log = filters.kind is None
    res = retriever.search(q, k + (PAST_ASKS_MARGIN if skip_log else 0), mode, filters)
    notes += res.notes
    hits = [h for h in res.hits if h.relevant() and not (skip_log and h.kind == "interaction")][:k]
    backend = get_backend(llm_config(vault, model)) if use_llm else NoLLM()
    result = AskResult(q, "", backend.name, hits, notes=notes, filters=filters, plan=plan)
    if not hits:
        result.answer = "Nothing in the vault matches this question."
        result.llm_ok = False
    else:
        if on_status and not isinstance(backend, NoLLM):
            on_status("thinking…")
        _answer(result, backend, hits, now, on_text, LLMUnavailable, vault, model)
    return result


def _answer(
    result: AskResult,
    backend,
    hits: list[Hit],
    now: datetime,
    on_text: Callable[[str], None] | None,
    unavailable: type[Exception],
    vault: Vault,
    model: str | None,
) -> None:
    from ..llm import llm_settings
    from .answer import IDLE_S, only_markers, stream_with_timeouts
    from .prompts import messages

    cfg = llm_settings(llm_config(vault, model))
    msgs = messages(result.question, hits, now.date().isoformat(), cfg)
    flt = CitationFilter(len(hits))

    def shown(piece: str) -> None:
        out = flt.feed(piece)
        if out and on_text:
            on_text(out)

    try:
        pieces = backend.chat(msgs, stream=True)
        raw, cut = stream_with_timeouts(
            pieces, float(cfg.get("idle_s", IDLE_S)), float(cfg["timeout_s"]), shown
        )
        tail = flt.flush()
        if tail and on_text:
            on_text(tail)
        if only_markers(raw):
            what = "only citation markers" if raw.strip() else "an empty answer"
            raise unavailable(f"{backend.name} returned {what}")
    except unavailable as e:
        result.llm_ok = False
        result.notes.append(f"No LLM reachable ({backend.name}): {e}")
        result.answer = extractive(hits)
        result.model = "extractive"
        return
    checked = check(raw, [h.path for h in hits])
    result.answer = checked.text.strip()
    if cut:
        result.cut = True
        result.answer += " … [cut: the model timed out]"
        result.notes.append("the answer was cut by a timeout")
    result.citations = checked.citations
    result.dropped = checked.dropped
    if checked.dropped:
        result.notes.append(
            "dropped citation(s) "
            + ", ".join(f"[{n}]" for n in checked.dropped)
            + f": only {len(hits)} sources were given"
        )
