"""Writing the site source for a plan: day, note, knowledge-base and overview pages.

:class:`Generator` takes the catalog as refreshed by :mod:`.refresh`, recomputes the
summaries of dirty days, writes every page that may have changed through a
:class:`.write.PageWriter` (unchanged bytes are not rewritten) and removes pages whose
source is gone. Page text comes from :mod:`.pages`; nothing here formats HTML.
"""

from __future__ import annotations

import bisect
import posixpath
from collections import defaultdict
from datetime import date
from typing import Any

from ..errors import RecordError
from ..query import QueryError, Store, UnknownSensorError, vault_timezone
from ..vault import Vault, files, layout
from ..vault.files import walk
from ..vault.records import Observation, Rollup, parse_markdown
from . import kb, pages, urls
from .catalog import (
    Catalog,
    DaySummary,
    NoteMeta,
    day_key,
    kb_notes,
    read_day,
    summarize_day,
)
from .periods import Period, local_days, period_page, period_page_path, periods_of
from .plan import Plan
from .progress import Phases
from .refresh import all_day_keys, refresh_catalog
from .sessions import count_calls, read_session_day, session_logs
from .status import node_statuses
from .wikilinks import BrokenLink, NoteIndex, rewrite
from .write import PageWriter


class Generator:
    """Regenerates pages for a plan, updating the catalog as it goes."""

    def __init__(self, v: Vault, cat: Catalog, writer: PageWriter, phases: Phases, plan: Plan):
        self.v, self.cat, self.w, self.bar, self.plan = v, cat, writer, phases, plan
        self.broken: list[BrokenLink] = []
        self.problems: list[str] = []
        self.deleted: list[str] = []
        self.pending_now: set[str] = set()
        self.session_days: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.tz = vault_timezone(v.root)
        self._store: Store | None = None

    def run(self, previous_pages: set[str]) -> None:
        """Update the catalog, write every page that may have changed, delete stale ones."""
        from .plan import uncommitted

        self.pending_now = uncommitted(self.v.repo)
        try:
            self._run(previous_pages)
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None

    def _run(self, previous_pages: set[str]) -> None:
        refresh = refresh_catalog(self.v, self.cat, self.plan, self.bar)
        self._write_days(set(refresh.days))
        # an observation shows its day's charts: a changed day rewrites its observations
        day_notes = {
            r
            for r, n in self.cat.notes.items()
            if n.kind == "observation" and day_key(n.node, n.day) in refresh.days
        }
        self._write_notes(set(refresh.notes) | day_notes)
        self._write_periods(set(refresh.days))
        self._write_kb()
        self._write_sessions()
        self._write_aggregates()
        self._keep_unchanged()
        self._delete_stale(previous_pages)
        # files that still fail their schema (the catalog remembers them between builds)
        self.problems += [p for _, ps in sorted(self.cat.errors.items()) for p in ps]

    # -- pages --
    def _notes_by_day(self) -> dict[str, list[NoteMeta]]:
        out: dict[str, list[NoteMeta]] = defaultdict(list)
        for n in self.cat.notes.values():
            if n.kind == "observation":
                out[day_key(n.node, n.day)].append(n)
        return out

    def _write_days(self, dirty: set[str]) -> None:
        by_day = self._notes_by_day()
        keys = all_day_keys(self.v, self.cat, dirty)
        order: dict[str, list[str]] = defaultdict(list)
        for k in keys:
            node, day = k.split("/", 1)
            order[node].append(day)
        for node in order:
            order[node].sort()
        self.bar.phase("Writing day pages", len(dirty))
        for k in sorted(dirty):
            self.bar.advance()
            node, day = k.split("/", 1)
            rel = layout.rollup_path(node, date.fromisoformat(day))
            if files.readable(self.v.root, rel):
                rollups, errors = read_day(self.v, rel)
                summary = summarize_day(node, day, rel, rollups, len(errors))
                self.cat.days[k] = summary
                if errors:
                    self.cat.errors[rel] = [str(e) for e in errors[:20]]
                else:
                    self.cat.errors.pop(rel, None)
            else:
                rollups, summary = [], None
                self.cat.days.pop(k, None)
                self.cat.errors.pop(rel, None)
            if k not in keys:
                continue
            days = order[node]
            i = bisect.bisect_left(days, day)
            prev_day = days[i - 1] if i > 0 else None
            next_day = days[i + 1] if i + 1 < len(days) else None
            note = layout.daily_path(node, date.fromisoformat(day))
            text, charts = pages.day_page(
                node,
                day,
                rollups,
                summary,
                by_day.get(k, []),
                prev_day,
                next_day,
                note if files.readable(self.v.root, note) else None,
            )
            self.w.page(urls.day_page(node, day), text)
            for chart_rel, svg in charts.items():
                self.w.page(chart_rel, svg)
            if summary is None:
                # a day with notes but no rollups still needs a catalog entry for the nav
                self.cat.days[k] = DaySummary(node, day, "", None, None)

    def _sensor_periods(self) -> dict[tuple[str, str], list[Period]]:
        """Every (node, sensor) with data → its weeks and months (days in the vault's time
        zone), sorted."""
        out: dict[tuple[str, str], set[Period]] = defaultdict(set)
        for d in self.cat.days.values():
            ps = {p for day in local_days(d.day, d.first, d.last, self.tz) for p in periods_of(day)}
            for s in d.sensors:
                out[(d.node, s.sensor)].update(ps)
        return {k: sorted(v, key=lambda p: (p.kind, p.first)) for k, v in out.items()}

    def _write_periods(self, dirty_days: set[str]) -> None:
        """Week and month pages of the sensors of changed days (all on a full build),
        and of the periods beside them (their prev/next links may change). The rows are
        the query layer's day summaries (days in the vault's time zone)."""
        all_periods = self._sensor_periods()
        todo: dict[tuple[str, str], set[Period]] = defaultdict(set)
        for (node, sensor), periods in all_periods.items():
            if self.plan.full:
                todo[(node, sensor)].update(periods)
                continue
            have = set(periods)
            for k in dirty_days:
                n, day = k.split("/", 1)
                if n == node:
                    d = self.cat.days.get(k)
                    near = local_days(day, d.first if d else None, d.last if d else None, self.tz)
                    todo[(node, sensor)].update(
                        p for ld in near for p in periods_of(ld) if p in have
                    )
        self.bar.phase("Week and month pages", sum(len(ps) for ps in todo.values()))
        if not any(todo.values()):
            return
        store = self._store_of()
        day_pages = {k for k in self.cat.days if self.cat.days[k].rel}
        for (node, sensor), ps in sorted(todo.items()):
            if ps:
                self._write_sensor_periods(store, node, sensor, ps, all_periods, day_pages)

    def _write_sensor_periods(
        self,
        store: Store,
        node: str,
        sensor: str,
        todo: set[Period],
        all_periods: dict[tuple[str, str], list[Period]],
        day_pages: set[str],
    ) -> None:
        """One sensor's week/month pages of ``todo`` from one day-summary query."""
        first = min(p.first for p in todo)
        last = max(p.last for p in todo)
        try:
            summaries = store.day_summaries(f"{node}/{sensor}", first, last)
        except UnknownSensorError:
            summaries = []
        mine = all_periods.get((node, sensor), [])
        for p in sorted(todo, key=lambda p: (p.kind, p.first)):
            self.bar.advance()
            same = [q for q in mine if q.kind == p.kind]
            i = same.index(p) if p in same else -1
            prev_p = same[i - 1] if i > 0 else None
            next_p = same[i + 1] if 0 <= i < len(same) - 1 else None
            other = [
                q for q in mine if q.kind != p.kind and q.first <= p.last and p.first <= q.last
            ]
            days = [
                (s.day.isoformat(), s, day_key(node, s.day.isoformat()) in day_pages)
                for s in summaries
                if p.first <= s.day <= p.last
            ]
            self.w.page(
                period_page_path(node, sensor, p),
                period_page(days, node, sensor, p, prev_p, next_p, other, str(self.tz)),
            )

    def _latest_periods(self) -> dict[str, dict[str, list[tuple[str, str]]]]:
        """node → sensor → [(label, page)] of its newest week and month."""
        out: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(dict)
        for (node, sensor), periods in self._sensor_periods().items():
            links = []
            for kind in ("week", "month"):
                mine = [p for p in periods if p.kind == kind]
                if mine:
                    links.append(
                        (f"{kind} {mine[-1].label}", period_page_path(node, sensor, mine[-1]))
                    )
            out[node][sensor] = links
        return out

    def _observation(self, rel: str) -> Observation | None:
        try:
            return self.v.read_observation(rel)
        except (RecordError, OSError):
            return None

    def _obs_ids(self) -> dict[str, str]:
        return {r: n.id for r, n in self.cat.notes.items() if n.kind == "observation"}

    def _write_notes(self, dirty: set[str]) -> None:
        targets = sorted(
            r for r in (set(self.cat.notes) if self.plan.full else dirty) if r in self.cat.notes
        )
        self.bar.phase("Writing notes", len(targets))
        self._write_note_pages(targets, self._obs_ids())

    def _store_of(self) -> Store:
        """The query layer over this vault, opened on first use (closed by :meth:`run`):
        observation window charts and week/month pages share its line cache."""
        if self._store is None:
            self._store = Store(self.v.root)
        return self._store

    def _window_rollups(self, obs: Observation) -> dict[str, list[Rollup]]:
        """Each sensor of an observation → its rollup lines in the observation's window
        (from the query layer; a sensor it does not know is left out)."""
        span = pages.observation_window(obs)
        if span is None:
            return {}
        out: dict[str, list[Rollup]] = {}
        for name in obs.sensors:
            try:
                lines = self._store_of().lines(f"{obs.node}/{name}", span[0], span[1])
            except (UnknownSensorError, QueryError):
                continue
            out[str(name)] = [ln.rollup for ln in lines]
        return out

    def _write_note_pages(self, targets: list[str], obs_ids: dict[str, str]) -> None:
        for rel in targets:
            self.bar.advance()
            meta = self.cat.notes[rel]
            if meta.kind == "observation":
                obs = self._observation(rel)
                if obs is None:
                    continue
                day = self.cat.days.get(day_key(meta.node, meta.day))
                has_rollups = bool(day is not None and day.sensors)
                text, charts = pages.observation_page(
                    rel, obs, has_rollups, self._window_rollups(obs)
                )
                self.w.page(urls.observation_page(meta.node, meta.id), text)
                for chart_rel, svg in charts.items():
                    self.w.page(chart_rel, svg)
            elif meta.kind == "interaction":
                try:
                    text = self.v.path(rel).read_bytes().decode("utf-8")
                    fm, body = parse_markdown(text, rel)
                except (RecordError, OSError, UnicodeDecodeError) as e:
                    self.problems.append(f"{rel}: {e}")
                    continue
                self.w.page(
                    urls.interaction_page(rel), pages.interaction_page(rel, fm, body, meta, obs_ids)
                )

    def _write_kb(self) -> None:
        notes = kb_notes(self.v)
        md = [n for n in notes if n.lower().endswith(".md")]
        index = NoteIndex(md)
        self.bar.phase("Knowledge base", len(notes))
        parsed: dict[str, kb.KbNote] = {}
        links: dict[str, set[str]] = defaultdict(set)
        for note in notes:
            self.bar.advance()
            p = self.v.path(f"{layout.KNOWLEDGE}/{note}")
            page = urls.kb_page(note)
            if not note.lower().endswith(".md"):
                if kb.publishable_asset(note):
                    self.w.asset(page, p)
                else:
                    self.problems.append(
                        f"{layout.KNOWLEDGE}/{note}: not published (only images and documents "
                        "are; a page or script from the vault could run in the browser)"
                    )
                continue
            try:
                text = p.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as e:
                self.problems.append(f"{layout.KNOWLEDGE}/{note}: unreadable ({e})")
                continue

            def url_of(target: str, _page: str = page, _note: str = note) -> str:
                links[target].add(_note)
                return posixpath.relpath(urls.kb_page(target), posixpath.dirname(_page))

            front, body = kb.split_front_matter(text)
            body, broken = rewrite(body, note, index, url_of)
            self.broken += broken
            parsed[note] = kb.KbNote(note, front, body)
        for note, parsed_note in parsed.items():
            backlinks = sorted(b for b in links.get(note, ()) if b != note)
            self.w.page(urls.kb_page(note), pages.kb_page(parsed_note, backlinks))

    def _write_sessions(self) -> None:
        """A page per session log (MCP tool calls of a node's UTC day), rewritten when its
        file changed (all on a full build), and each node's list of session days."""
        logs = session_logs(self.v)
        self.bar.phase("Agent sessions", len(logs))
        for (node, day), rel in sorted(logs.items()):
            self.bar.advance()
            page = urls.session_day_page(node, day)
            if self.plan.full or rel in self.plan.changed or not (self.w.src / page).is_file():
                parsed = read_session_day(self.v, node, day, rel)
                self.w.page(page, pages.session_day_page(parsed))
                self.session_days[node].append((day, len(parsed.calls)))
            else:
                self.w.keep(page)
                self.session_days[node].append((day, count_calls(self.v, rel)))
        for node, days in self.session_days.items():
            self.w.page(urls.sessions_page(node), pages.sessions_index_page(node, days))

    def _write_aggregates(self) -> None:
        v, cat = self.v, self.cat
        nodes = sorted(set(v.nodes()) | {d.node for d in cat.days.values()})
        self.bar.phase("Overview pages", len(nodes) * 2 + 5)
        statuses = node_statuses(v, cat, nodes)
        conflicts = sorted(p for p in walk(v.root) if layout.is_conflict_copy(p))
        latest = cat.observations()[-pages.LATEST_ON_HOME :][::-1]
        self.w.page(
            urls.HOME, pages.home_page(v.name, statuses, latest, conflicts, cat, self.plan.head)
        )
        self.w.page(urls.DATES, pages.dates_page(cat))
        latest_periods = self._latest_periods()
        for s in statuses:
            memory = cat.observations(s.node, kind="memory")
            bodies = {}
            for m in memory:
                obs = self._observation(m.rel)
                if obs is not None:
                    bodies[m.rel] = obs.body
            self.w.page(
                urls.node_page(s.node),
                pages.node_page(
                    s.node,
                    cat,
                    s,
                    memory,
                    bodies,
                    latest_periods.get(s.node),
                    self.session_days.get(s.node, ()),
                ),
            )
            self.w.page(urls.node_days_page(s.node), pages.node_days_page(s.node, cat))
            self.bar.advance(2)
        self.w.page(urls.KB_INDEX, pages.kb_index_page(kb_notes(v), self.broken))
        self.w.page(
            urls.INTERACTIONS_INDEX,
            pages.interactions_index_page(cat.observations(kind="interaction")),
        )
        copies = []
        for c in conflicts:
            try:
                copies.append((c, v.path(c).read_bytes().decode("utf-8")))
            except (OSError, UnicodeDecodeError):
                copies.append((c, None))
        self.w.page(urls.CONFLICTS, pages.conflicts_page(copies))
        self.bar.finish()

    def _expected_pages(self) -> set[str]:
        """Every page the catalog implies (to keep unchanged ones and find stale ones)."""
        out = {urls.day_page(*k.split("/", 1)) for k in self.cat.days}
        out |= {
            urls.chart_file(d.node, d.day, sd.sensor)
            for d in self.cat.days.values()
            for sd in d.sensors
        }
        for (node, sensor), periods in self._sensor_periods().items():
            out |= {period_page_path(node, sensor, p) for p in periods}
        for n in self.cat.notes.values():
            if n.kind == "observation":
                out.add(urls.observation_page(n.node, n.id))
                out |= {urls.observation_chart_file(n.node, n.id, s) for s in n.sensors}
            elif n.kind == "interaction":
                out.add(urls.interaction_page(n.rel))
        return out

    def _keep_unchanged(self) -> None:
        for rel in self._expected_pages() - self.w.pages:
            if (self.w.src / rel).is_file():
                self.w.keep(rel)

    def _delete_stale(self, previous: set[str]) -> None:
        for rel in sorted(previous - self.w.pages):
            (self.w.src / rel).unlink(missing_ok=True)
            self.deleted.append(rel)

    def nav(self) -> list[Any]:
        """The MkDocs nav: overview pages only (day and note pages are linked, not listed,
        so a new day never forces every page's HTML to be rendered again). Labels are
        HTML-escaped: the theme prints them as they are."""
        nodes = sorted({d.node for d in self.cat.days.values()} | set(self.v.nodes()))
        return [
            {"Home": urls.HOME},
            {"Nodes": [{pages.esc(n): urls.node_page(n)} for n in nodes] or [{"None": urls.HOME}]},
            {"By date": urls.DATES},
            {"Knowledge base": urls.KB_INDEX},
            {"Interactions": urls.INTERACTIONS_INDEX},
            {"Conflicts": urls.CONFLICTS},
        ]
