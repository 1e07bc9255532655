"""``vault site build``: vault files → Markdown (``.vault/site-src/``) → HTML (``.vault/site/``).

Steps (planning separate from doing):

1. plan: full or incremental (:mod:`.plan`), from the git diff since the last built
   commit plus uncommitted files;
2. catalog: re-read only changed rollup days and notes (cached in
   ``.vault/site-state.json``);
3. pages: regenerate the pages of changed days and files and the small aggregate pages;
   a page whose Markdown is unchanged is not rewritten, so its mtime stays old;
4. HTML: MkDocs with mkdocs-material renders every page on a full build, and on an
   incremental one only pages whose Markdown is newer than their HTML (MkDocs' "dirty"
   mode); the search index is then merged with the previous one so it stays complete.

The site is derived: deleting ``.vault/site*`` loses nothing; ``--clean`` rebuilds all.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ..errors import RecordError, VaultError
from ..resources import project_path
from ..vault import Vault, files, layout
from ..vault.files import walk
from ..vault.records import Observation, parse_markdown
from . import pages, urls
from .catalog import (
    Catalog,
    DaySummary,
    NoteMeta,
    day_key,
    is_note_path,
    is_rollup_path,
    kb_notes,
    load_catalog,
    note_files,
    read_day,
    rollup_day,
    scan_note,
    summarize_day,
)
from .plan import Plan, make_plan, template_hash
from .status import node_statuses
from .wikilinks import BrokenLink, NoteIndex, rewrite

log = logging.getLogger("vault_agent.site")
STATE_FILE = "site-state.json"
MARKER = ".vault-site"  # written into output folders we own, so --clean may empty them


class SiteBuildError(VaultError):
    """The site could not be built (MkDocs failed, or the output folder is not ours)."""


@dataclass(frozen=True)
class BuildReport:
    """What a build did. ``html_dir`` is the folder to open (``index.html`` inside)."""

    pages_written: int  # Markdown pages (re)generated
    pages_skipped: int  # Markdown pages unchanged
    pages_deleted: int  # pages and files removed
    html_dir: Path
    src_dir: Path
    full: bool
    reason: str
    commit: str | None
    html_rendered: int
    seconds: float
    broken_links: tuple[BrokenLink, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``vault site build --json``)."""
        return {
            "pages_written": self.pages_written,
            "pages_skipped": self.pages_skipped,
            "pages_deleted": self.pages_deleted,
            "html_dir": str(self.html_dir),
            "src_dir": str(self.src_dir),
            "full": self.full,
            "reason": self.reason,
            "commit": self.commit,
            "html_rendered": self.html_rendered,
            "seconds": round(self.seconds, 3),
            "broken_links": [
                {"page": b.page, "line": b.line, "target": b.target} for b in self.broken_links
            ],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }


# -- writing Markdown ---------------------------------------------------------------------------
def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds exactly it; True when written.

    Atomic (temp file + rename) but without fsync: the site is derived and rebuilt on loss.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
    except FileNotFoundError:  # mkdir only when needed: one call per folder
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


@dataclass
class PageWriter:
    """Writes pages (and chart/asset files) into the site source, remembering which
    changed. Counts of "pages" are Markdown pages only."""

    src: Path
    written: list[str] = field(default_factory=list)
    pages: set[str] = field(default_factory=set)

    def page(self, rel: str, text: str) -> None:
        """Write one Markdown page or generated file (``rel`` relative to the site source)."""
        self.pages.add(rel)
        if write_if_changed(self.src / rel, text.encode("utf-8")):
            self.written.append(rel)

    def asset(self, rel: str, source: Path) -> None:
        """Copy a non-Markdown file (a knowledge-base image) if it changed."""
        self.pages.add(rel)
        if write_if_changed(self.src / rel, source.read_bytes()):
            self.written.append(rel)

    def keep(self, rel: str) -> None:
        """Mark an existing file as still part of the site without regenerating it."""
        self.pages.add(rel)

    @property
    def md_written(self) -> int:
        """Markdown pages written."""
        return sum(1 for r in self.written if r.endswith(".md"))

    @property
    def md_skipped(self) -> int:
        """Markdown pages left as they were."""
        return sum(1 for r in self.pages if r.endswith(".md")) - self.md_written


# -- progress -----------------------------------------------------------------------------------
class Progress:
    """A rich progress bar on stderr (or nothing when disabled)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._p = None
        self._task = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._p = RichProgress(
                TextColumn("{task.description:<18}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._p.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)

    def phase(self, name: str, total: int) -> None:
        """Start a new bar."""
        if self._p is not None:
            self._task = self._p.add_task(name, total=max(total, 1))

    def advance(self, n: int = 1) -> None:
        """Advance the current bar."""
        if self._p is not None and self._task is not None:
            self._p.advance(self._task, n)

    def finish(self) -> None:
        """Fill the current bar."""
        if self._p is not None and self._task is not None:
            t = self._p.tasks[-1]
            self._p.update(self._task, completed=t.total)


# -- the build ----------------------------------------------------------------------------------
def build_site(
    vault: Vault, out: str | Path | None = None, clean: bool = False, progress: bool = True
) -> BuildReport:
    """Build the static site of ``vault``.

    Args:
        out: HTML folder (default ``.vault/site/``). With ``clean`` it is emptied first,
            which is refused for a non-empty folder the site did not create.
        clean: regenerate every page and render all HTML.
        progress: show a rich progress bar on stderr.
    Returns:
        a :class:`BuildReport`.
    Raises:
        SiteBuildError: MkDocs failed, or ``out`` is someone else's folder.
    """
    t0 = time.monotonic()
    src = vault.root / layout.VAULT_DIR / "site-src"
    html = Path(out).resolve() if out else vault.root / layout.VAULT_DIR / "site"
    _check_out_dir(html)
    site_tpl = project_path("site")
    state_path = vault.state_dir() / STATE_FILE
    state = _load_state(state_path)
    plan = make_plan(vault.repo, state, template_hash(site_tpl), str(html), clean)
    if plan.full:
        _empty_dir(src)
        if clean:
            _empty_dir(html)
    src.mkdir(parents=True, exist_ok=True)
    html.mkdir(parents=True, exist_ok=True)
    (html / MARKER).write_text("vault site output; safe to delete\n", encoding="utf-8")
    cat = None if plan.full or not state else load_catalog(state.get("catalog"))
    if cat is None and not plan.full:
        plan = Plan(True, "catalog cache unusable", plan.changed, plan.head)
    writer = PageWriter(src)
    with Progress(progress) as bar:
        gen = Generator(vault, cat or Catalog(), writer, bar, plan)
        gen.run(set(state.get("pages", [])) if state and not plan.full else set())
        nav = gen.nav()
        nav_changed = not state or state.get("nav") != nav
        config_file = write_mkdocs_config(vault, src, html, site_tpl, nav)
        dirty = not plan.full and not nav_changed and (html / "index.html").exists()
        to_render = writer.md_written if dirty else writer.md_written + writer.md_skipped
        bar.phase("Rendering HTML", to_render)
        try:
            rendered, warnings = run_mkdocs(config_file, dirty, bar)
        except BaseException:
            # The Markdown is newer than the HTML now; without a state the next build is
            # full, so no page is left half-built or missing from the search index.
            state_path.unlink(missing_ok=True)
            raise
        for rel in gen.deleted:
            (html / _html_of(rel)).unlink(missing_ok=True)
        if dirty:
            merge_search_index(
                html, vault.state_dir() / "site-search.json", writer.written, gen.deleted
            )
        else:
            _save_search_index(html, vault.state_dir() / "site-search.json")
        bar.finish()
    _save_state(
        state_path,
        {
            "v": 1,
            "commit": plan.head,
            "pending": sorted(gen.pending_now),
            "template": template_hash(site_tpl),
            "out": str(html),
            "nav": nav,
            "pages": sorted(writer.pages),
            "catalog": gen.cat.to_json(),
        },
    )
    return BuildReport(
        writer.md_written,
        writer.md_skipped,
        len(gen.deleted),
        html,
        src,
        plan.full,
        plan.reason,
        plan.head,
        rendered,
        time.monotonic() - t0,
        tuple(gen.broken),
        tuple(gen.problems),
        tuple(warnings),
    )


class Generator:
    """Regenerates pages for a plan, updating the catalog as it goes."""

    def __init__(self, v: Vault, cat: Catalog, writer: PageWriter, bar: Progress, plan: Plan):
        self.v, self.cat, self.w, self.bar, self.plan = v, cat, writer, bar, plan
        self.broken: list[BrokenLink] = []
        self.problems: list[str] = []
        self.deleted: list[str] = []
        self.pending_now: set[str] = set()

    # -- catalog update --
    def run(self, previous_pages: set[str]) -> None:
        """Update the catalog, write every page that may have changed, delete stale ones."""
        from .plan import uncommitted

        self.pending_now = uncommitted(self.v.repo)
        dirty_days, dirty_notes = self._refresh_catalog()
        self._write_days(dirty_days)
        self._write_notes(dirty_notes)
        self._write_kb()
        self._write_aggregates()
        self._keep_unchanged(previous_pages)
        self._delete_stale(previous_pages)
        # files that still fail their schema (the catalog remembers them between builds)
        self.problems += [p for _, ps in sorted(self.cat.errors.items()) for p in ps]

    def _refresh_catalog(self) -> tuple[set[str], set[str]]:
        v, cat = self.v, self.cat
        if self.plan.full:
            rollups = v.rollup_files()
            notes = note_files(v)
            cat.days.clear()
            cat.notes.clear()
            cat.errors.clear()
            dirty_days = {day_key(*rollup_day(r)) for r in rollups}
        else:
            rollups = sorted(p for p in self.plan.changed if is_rollup_path(p))
            notes = sorted(p for p in self.plan.changed if is_note_path(p))
            dirty_days = {day_key(*rollup_day(r)) for r in rollups}
            # a day note written or removed changes the line that points to it
            dirty_days |= {
                day_key(p.split("/")[1], p.rsplit("/", 1)[-1][:10])
                for p in self.plan.changed
                if layout.classify(p).kind == "daily"
                and layout.DAILY_NAME_RE.match(p.rsplit("/", 1)[-1])
            }
        self.bar.phase("Reading notes", len(notes))
        before = {k: (d.node, d.day) for k, d in cat.days.items()}
        for rel in notes:
            self.bar.advance()
            old = cat.notes.pop(rel, None)
            cat.errors.pop(rel, None)
            if old is not None and old.kind == "observation":
                dirty_days.add(day_key(old.node, old.day))
            if not files.readable(v.root, rel) or layout.is_conflict_copy(rel):
                continue
            try:
                meta = scan_note(v, rel)
            except RecordError as e:
                cat.errors[rel] = [str(e)]
                continue
            cat.notes[rel] = meta
            if meta.kind == "observation":
                dirty_days.add(day_key(meta.node, meta.day))
        # neighbours: a new or removed day changes the prev/next links of the days beside it
        if not self.plan.full:
            days_now = self._all_day_keys(dirty_days)
            added = days_now - set(before)
            removed = {k for k in dirty_days if k not in days_now}
            for k in added | removed:
                dirty_days |= self._neighbours(k, days_now)
        return dirty_days, set(notes)

    def _all_day_keys(self, dirty_days: set[str]) -> set[str]:
        """Keys of days that exist after this update (rollup file or notes on that day)."""
        keys = set(self.cat.days)
        for k in dirty_days:
            node, day = k.split("/", 1)
            if not files.readable(self.v.root, layout.rollup_path(node, date.fromisoformat(day))):
                keys.discard(k)
            else:
                keys.add(k)
        keys |= {day_key(n.node, n.day) for n in self.cat.notes.values() if n.kind == "observation"}
        return keys

    @staticmethod
    def _neighbours(key: str, keys: set[str]) -> set[str]:
        node, day = key.split("/", 1)
        mine = sorted(k.split("/", 1)[1] for k in keys if k.startswith(node + "/"))
        out = set()
        i = bisect.bisect_left(mine, day)
        for j in (i - 1, i, i + 1):
            if 0 <= j < len(mine) and mine[j] != day:
                out.add(day_key(node, mine[j]))
        return out

    # -- pages --
    def _notes_by_day(self) -> dict[str, list[NoteMeta]]:
        out: dict[str, list[NoteMeta]] = defaultdict(list)
        for n in self.cat.notes.values():
            if n.kind == "observation":
                out[day_key(n.node, n.day)].append(n)
        return out

    def _write_days(self, dirty: set[str]) -> None:
        by_day = self._notes_by_day()
        keys = self._all_day_keys(dirty)
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
        obs_ids = self._obs_ids()
        for rel in targets:
            self.bar.advance()
            meta = self.cat.notes[rel]
            if meta.kind == "observation":
                obs = self._observation(rel)
                if obs is None:
                    continue
                has = day_key(meta.node, meta.day) in self.cat.days and bool(
                    self.cat.days[day_key(meta.node, meta.day)].sensors
                )
                self.w.page(
                    urls.observation_page(meta.node, meta.id), pages.observation_page(rel, obs, has)
                )
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
        index = NoteIndex(n for n in notes if n.lower().endswith(".md"))
        self.bar.phase("Knowledge base", len(notes))
        for note in notes:
            self.bar.advance()
            p = self.v.path(f"{layout.KNOWLEDGE}/{note}")
            page = urls.kb_page(note)
            if not note.lower().endswith(".md"):
                self.w.asset(page, p)
                continue
            try:
                text = p.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as e:
                self.problems.append(f"{layout.KNOWLEDGE}/{note}: unreadable ({e})")
                continue

            def url_of(target: str, _page: str = page) -> str:
                import posixpath

                return posixpath.relpath(urls.kb_page(target), posixpath.dirname(_page))

            body, broken = rewrite(text, note, index, url_of)
            self.broken += broken
            self.w.page(page, body)

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
        for s in statuses:
            memory = cat.observations(s.node, kind="memory")
            bodies = {}
            for m in memory:
                obs = self._observation(m.rel)
                if obs is not None:
                    bodies[m.rel] = obs.body
            self.w.page(urls.node_page(s.node), pages.node_page(s.node, cat, s, memory, bodies))
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
        for n in self.cat.notes.values():
            if n.kind == "observation":
                out.add(urls.observation_page(n.node, n.id))
            elif n.kind == "interaction":
                out.add(urls.interaction_page(n.rel))
        return out

    def _keep_unchanged(self, previous: set[str]) -> None:
        for rel in self._expected_pages() - self.w.pages:
            if (self.w.src / rel).is_file():
                self.w.keep(rel)

    def _delete_stale(self, previous: set[str]) -> None:
        for rel in sorted(previous - self.w.pages):
            for p in (self.w.src / rel,):
                p.unlink(missing_ok=True)
            self.deleted.append(rel)

    def nav(self) -> list[Any]:
        """The MkDocs nav: overview pages only (day and note pages are linked, not listed,
        so a new day never forces every page's HTML to be rendered again)."""
        nodes = sorted({d.node for d in self.cat.days.values()} | set(self.v.nodes()))
        return [
            {"Home": urls.HOME},
            {"Nodes": [{n: urls.node_page(n)} for n in nodes] or [{"None": urls.HOME}]},
            {"By date": urls.DATES},
            {"Knowledge base": urls.KB_INDEX},
            {"Interactions": urls.INTERACTIONS_INDEX},
            {"Conflicts": urls.CONFLICTS},
        ]


# -- MkDocs -------------------------------------------------------------------------------------
def write_mkdocs_config(v: Vault, src: Path, html: Path, site_tpl: Path, nav: list[Any]) -> Path:
    """Fill the ``site/mkdocs.yml`` template for this vault; returns the config file path."""
    cfg = yaml.safe_load((site_tpl / "mkdocs.yml").read_text(encoding="utf-8"))
    cfg["site_name"] = v.name
    cfg["docs_dir"] = str(src)
    cfg["site_dir"] = str(html)
    cfg.setdefault("theme", {})["custom_dir"] = str(site_tpl / "overrides")
    cfg["nav"] = nav
    path = v.state_dir() / "site-mkdocs.yml"
    write_if_changed(path, yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False).encode())
    return path


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "'dirty' build" not in msg:
            self.messages.append(msg)


@contextmanager
def _quiet_mkdocs() -> Iterator[_Collect]:
    logger = logging.getLogger("mkdocs")
    handler = _Collect()
    old = (logger.level, logger.propagate, list(logger.handlers))
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        logger.setLevel(old[0])
        logger.propagate = old[1]
        logger.handlers = old[2]


def run_mkdocs(
    config_file: Path, dirty: bool, bar: Progress | None = None
) -> tuple[int, list[str]]:
    """Render HTML with MkDocs; returns (pages rendered, warnings).

    Raises:
        SiteBuildError: MkDocs reported an error.
    """
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException
    from mkdocs.plugins import BasePlugin

    count = [0]

    class _Count(BasePlugin):
        def on_post_page(self, output: str, page: Any, config: Any) -> str:
            count[0] += 1
            if bar is not None:
                bar.advance()
            # after the search plugin has indexed the page: the SVG is never parsed as text
            src = getattr(page.file, "abs_src_path", None)
            return inline_page_charts(output, Path(src).parent) if src else output

    with _quiet_mkdocs() as collected:
        try:
            cfg = load_config(config_file=str(config_file))
            cfg.plugins["vault-progress"] = _Count()
            cfg.plugins.on_startup(command="build", dirty=dirty)
            try:
                build(cfg, dirty=dirty)
            finally:
                cfg.plugins.on_shutdown()
        except (MkDocsException, yaml.YAMLError) as e:
            raise SiteBuildError(f"mkdocs build failed: {e}") from e
    return count[0], collected.messages


def inline_page_charts(html: str, page_dir: Path) -> str:
    """Inline the chart SVGs of one rendered page (see :func:`.charts.inline_charts`);
    ``page_dir`` is the folder of the page's Markdown, which chart ``src`` paths are
    relative to. A chart file that cannot be read stays an ``<img>``."""
    from urllib.parse import unquote

    from .charts import inline_charts

    def read(src: str) -> str | None:
        if "://" in src or src.startswith("/"):
            return None
        try:
            return (page_dir / unquote(src)).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return inline_charts(html, read)


# -- search index ---------------------------------------------------------------------------------
def _html_of(page: str) -> str:
    return page[:-3] + ".html" if page.endswith(".md") else page


def _save_search_index(html: Path, keep: Path) -> None:
    """Remember the full search index of a full build (for merging after dirty builds)."""
    idx = html / "search" / "search_index.json"
    if idx.is_file():
        write_if_changed(keep, idx.read_bytes())


def merge_search_index(html: Path, keep: Path, written: list[str], deleted: list[str]) -> None:
    """After a dirty build the search index only holds the pages just rendered: put back
    the entries of every other page from the previous full index, drop deleted pages.
    Rewrites ``search_index.json`` and the offline plugin's ``search_index.js``."""
    idx = html / "search" / "search_index.json"
    if not idx.is_file():
        return
    new = json.loads(idx.read_text(encoding="utf-8"))
    try:
        old = json.loads(keep.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {"docs": []}
    from urllib.parse import quote

    fresh = {quote(_html_of(p)) for p in written} | {_html_of(p) for p in written}
    gone = {quote(_html_of(p)) for p in deleted} | {_html_of(p) for p in deleted}
    if {"index.html"} & fresh:
        fresh.add("")

    def page_of(loc: str) -> str:
        return loc.split("#", 1)[0]

    kept = [d for d in old.get("docs", []) if page_of(d["location"]) not in fresh | gone]
    new["docs"] = kept + new.get("docs", [])
    data = json.dumps(new, ensure_ascii=False, separators=(",", ":"))
    write_if_changed(idx, data.encode("utf-8"))
    js = idx.with_name("search_index.js")
    if js.exists():
        write_if_changed(js, f"var __index = {data}".encode())
    write_if_changed(keep, data.encode("utf-8"))


# -- state and folders ---------------------------------------------------------------------------
def _load_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and data.get("v") == 1 else None
    except (OSError, ValueError):
        return None


def _save_state(path: Path, data: dict[str, Any]) -> None:
    write_if_changed(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def _check_out_dir(html: Path) -> None:
    """Refuse an output folder holding files the site did not write."""
    if html.is_dir() and any(html.iterdir()) and not (html / MARKER).exists():
        raise SiteBuildError(
            f"{html} is not empty and was not made by 'vault site build'; "
            "choose an empty or new folder for --out"
        )


def _empty_dir(path: Path) -> None:
    """Remove a derived folder's contents (only folders the site owns reach here)."""
    if path.is_dir():
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
