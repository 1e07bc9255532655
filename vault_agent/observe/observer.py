"""The observer: per observe window, decide what is notable and write an observation.

Per window [start, end) (default one hour, node.toml ``[observer] window_s``):

1. read this node's rollups for the window and the baseline days (files only);
2. compute the notable facts (:func:`.facts.window_facts`); none → nothing written;
3. phrase the top facts (at most ``max_facts``): the LLM may rephrase them, its text
   is kept only if grounded, else the rule-based text (``model: rules/v1``);
4. write one observation file (frontmatter per docs/architecture.md §4, ``created`` = window end,
   ``facts:`` holds the structured facts) unless this window already has one;
5. once a UTC day has closed, write its day note and a new memory file.

Nothing here commits: the agent batches commits, ``vault observe`` commits at the end.
An unavailable LLM costs one log line per window; a backfill stops asking it after
two failures in a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..llm import LLMBackend, NoLLM, get_backend, llm_settings
from ..vault import Vault, layout
from . import rules
from .daynote import write_day_note
from .facts import Fact, ObserverConfig, window_facts
from .memory import write_memory
from .phrasing import phrase
from .store import RollupStore

log = logging.getLogger("vault_agent.observe")

BACKFILL_LLM_STRIKES = 2
# LLMs this process has already said are down: one warning per outage per run, not
# one per window or file (the agent makes an Observer per window). Keyed by
# backend name and host; cleared when that LLM answers again.
_SAID_DOWN: set[tuple[str, str]] = set()


def forget_llm_outages() -> None:
    """Start a new run: the next LLM outage is said again (the agent calls this at start)."""
    _SAID_DOWN.clear()


@dataclass(frozen=True)
class Planned:
    """An observation about to be written (or shown by ``--dry-run``)."""

    start: datetime
    end: datetime
    facts: tuple[Fact, ...]
    body: str
    model: str
    confidence: float
    sources: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sensors(self) -> list[str]:
        """Sensors the facts are about, in order of notability."""
        return list(dict.fromkeys(s for f in self.facts for s in f.sensors))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for ``--dry-run --json``)."""
        return {
            "window": {"start": layout.iso(self.start), "end": layout.iso(self.end)},
            "sensors": self.sensors,
            "confidence": self.confidence,
            "model": self.model,
            "body": self.body,
            "facts": [f.as_dict() for f in self.facts],
            "sources": list(self.sources),
            **self.extra,
        }


def _midnight(t: datetime) -> datetime:
    return datetime.combine(t.astimezone(UTC).date(), datetime.min.time(), UTC)


class Observer:
    """Observations of one node's sensors.

    Args:
        vault: the vault, opened as the observing node.
        llm: the LLM backend; None means the one configured in node.toml ``[llm]``
            (``backend = "none"`` there, or :class:`~.llm.NoLLM` here, for rules only).
    """

    def __init__(self, vault: Vault, llm: LLMBackend | None = None) -> None:
        self.vault = vault
        cfg = vault.node_config()
        self.config = ObserverConfig.from_dict(cfg.get("observer"), layout.node_toml(vault.node))
        settings = llm_settings(cfg.get("llm"))
        self.llm_timeout_s = float(settings["timeout_s"])
        self.llm: LLMBackend = llm if llm is not None else get_backend(settings)
        self._strikes = 0
        self._backfilling = False

    # -- planning ------------------------------------------------------------------------
    def _store(self, start: datetime, end: datetime) -> RollupStore:
        # the baseline days, plus a day and the stuck span for the stuck check's baseline
        extra = timedelta(days=1, seconds=self.config.stuck_s) + (end - start)
        first = (start - timedelta(days=self.config.baseline_days) - extra).date()
        return RollupStore(self.vault, first, end.date())

    def plan_window(
        self, start: datetime, end: datetime, store: RollupStore | None = None, use_llm: bool = True
    ) -> Planned | None:
        """What to write for [start, end), or None when nothing is notable."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        store = store or self._store(start, end)
        facts = window_facts(store, start, end, self.config)
        if not facts:
            return None
        top = facts[: self.config.max_facts]
        llm = self._llm_for_now() if use_llm else None
        extra_dates = (start.date().isoformat(), (end - timedelta(seconds=1)).date().isoformat())
        hours = (end - start).total_seconds() / 3600
        ph = phrase(
            top,
            llm,
            timeout_s=self.llm_timeout_s,
            extra_values=(f"{hours:g}",),
            extra_dates=extra_dates,
        )
        self._note_llm(ph.unavailable)
        extra: dict[str, Any] = {"title_kind": top[0].kind}
        if ph.rejected:
            extra["llm_rejected"] = ph.rejected
        extra["facts"] = [f.as_dict() for f in facts]
        sources = store.files_between(start, end)  # the window's files, then the baseline's
        sources += sorted({s for f in top for s in f.files} - set(sources))
        return Planned(
            start,
            end,
            tuple(top),
            ph.body,
            ph.model,
            max(f.confidence for f in top),
            tuple(sources),
            extra,
        )

    def _llm_for_now(self) -> LLMBackend | None:
        if isinstance(self.llm, NoLLM):
            return None
        if self._backfilling and self._strikes >= BACKFILL_LLM_STRIKES:
            return None
        return self.llm

    def _note_llm(self, unavailable: str) -> None:
        """Count LLM failures; say an outage once per run (a log line), not per window."""
        key = (
            str(getattr(self.llm, "name", type(self.llm).__name__)),
            str(getattr(self.llm, "host", "")),
        )
        if not unavailable:
            self._strikes = 0
            if key in _SAID_DOWN:
                _SAID_DOWN.discard(key)
                log.warning("LLM %s answers again; observations are phrased by it", key[0])
            return
        self._strikes += 1
        if key in _SAID_DOWN:
            log.debug("LLM unavailable again (%s)", unavailable)
            return
        _SAID_DOWN.add(key)
        log.warning(
            "LLM unavailable (%s); observations use rule-based text (model rules/v1) until it "
            "answers; said once per run",
            unavailable,
        )

    # -- writing -------------------------------------------------------------------------
    def existing(self, end: datetime) -> str | None:
        """The observation already written for the window ending at ``end``, if any."""
        rel_dir = layout.observation_path(self.vault.node, end, 0, "x").rsplit("/", 1)[0]
        d = self.vault.path(rel_dir)
        if not d.is_dir():
            return None
        prefix = f"{layout.stamp(end)}-{self.vault.node}-"
        for p in sorted(d.glob(f"{prefix}*.md")):
            if not layout.is_conflict_copy(p.name):
                return self.vault.rel(p)
        return None

    def write(self, plan: Planned) -> str:
        """Write a planned observation; returns its vault path."""
        extra = dict(plan.extra)
        extra.pop("title_kind", None)
        rel, _ = self.vault.write_observation(
            plan.body,
            title=rules.title(list(plan.facts)),
            sensors=plan.sensors,
            window={"start": layout.iso(plan.start), "end": layout.iso(plan.end)},
            confidence=plan.confidence,
            model=plan.model,
            sources=plan.sources,
            created=plan.end,
            slug=f"{plan.facts[0].sensor} {plan.facts[0].kind}",
            extra=extra,
        )
        return rel

    def run_window(self, start: datetime, end: datetime) -> list[str]:
        """Observe [start, end): write an observation if something is notable, and close
        the previous UTC day (day note, memory) once ``end`` has passed its midnight.

        Returns the vault paths written (nothing committed). Safe to call again for the
        same window: an existing observation is kept, not duplicated.
        """
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        written: list[str] = []
        if self.existing(end) is None:
            plan = self.plan_window(start, end)
            if plan is not None:
                written.append(self.write(plan))
        if not self._backfilling:
            written += self.close_day(_midnight(end).date() - timedelta(days=1))
        return written

    def close_day(self, day: date) -> list[str]:
        """Write ``day``'s note and memory if not yet written and the day has rollups."""
        if not self.vault.path(layout.rollup_path(self.vault.node, day)).exists():
            return []
        out = []
        rel = write_memory(self.vault, day, self.config.baseline_days)
        if rel:
            out.append(rel)
        rel = self.write_day_note(day)  # after the memory, so the note links it
        if rel:
            out.append(rel)
        return out

    def write_day_note(self, day: date) -> str | None:
        """Write ``agents/<node>/daily/YYYY/MM/YYYY-MM-DD.md`` for a closed day.

        Returns its path, or None if it exists already (never overwritten).
        """
        return write_day_note(self.vault, day)

    def windows(self, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
        """Observe windows (aligned to ``window_s`` since the epoch) within [since, until].

        The last window is included when data reaches within one rollup window of its end.
        """
        w = self.config.window_s
        slack = int(self.vault.node_config().get("rollup", {}).get("window_s", 300))
        t = int(since.timestamp()) // w * w
        out = []
        while t < until.timestamp():
            s = datetime.fromtimestamp(t, UTC)
            e = s + timedelta(seconds=w)
            if e.timestamp() <= until.timestamp() + slack:
                out.append((s, e))
            t += w
        return out

    def backfill(self, since: datetime, until: datetime, progress: Any | None = None) -> list[str]:
        """Run the observer over every window in [since, until] (replayed data), then close
        each UTC day that ended within it (day notes, memory).

        ``progress`` is called with (done, total) after each window. Returns paths written.
        """
        since, until = since.astimezone(UTC), until.astimezone(UTC)
        wins = self.windows(since, until)
        written: list[str] = []
        self._backfilling = True
        try:
            store = None
            for i, (s, e) in enumerate(wins):
                if store is None or e.date() > store.until:
                    first = s - timedelta(days=self.config.baseline_days + 2)
                    store = RollupStore(self.vault, first.date(), e.date() + timedelta(days=3))
                if self.existing(e) is None:
                    plan = self.plan_window(s, e, store)
                    if plan is not None:
                        written.append(self.write(plan))
                if progress:
                    progress(i + 1, len(wins))
        finally:
            self._backfilling = False
        slack = timedelta(
            seconds=int(self.vault.node_config().get("rollup", {}).get("window_s", 300))
        )
        day = since.date()
        while (
            _midnight(datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC))
            <= until + slack
        ):
            written += self.close_day(day)
            day += timedelta(days=1)
        return written
