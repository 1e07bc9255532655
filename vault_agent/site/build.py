"""``vault site build``: vault files → Markdown (``.vault/site-src/``) → HTML (``.vault/site/``).

This module only orchestrates; each step has its own module:

1. plan (:mod:`.plan`): full or incremental, from the git diff since the last built
   commit plus uncommitted files;
2. catalog (:mod:`.refresh`): re-read only changed notes (cached in
   ``.vault/site-state.json``, :mod:`.state`);
3. pages (:mod:`.generate`, text from :mod:`.pages`): regenerate the pages of changed days
   and files and the small overview pages; a page whose Markdown is unchanged is not
   rewritten (:mod:`.write`), so its mtime stays old;
4. HTML (:mod:`.mkdocs_run`): MkDocs with mkdocs-material renders every page on a full
   build, and on an incremental one only pages whose Markdown is newer than their HTML
   (MkDocs' "dirty" mode); every page body passes the HTML sanitiser (:mod:`.sanitize`);
   the search index is then merged with the previous one (:mod:`.search_index`).

The site is derived: deleting ``.vault/site*`` loses nothing; ``--clean`` rebuilds all.
Progress is reported through a callback (:mod:`.progress`); drawing it is the caller's job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..resources import project_path
from ..vault import Vault, layout
from .catalog import Catalog, load_catalog
from .errors import SiteBuildError
from .generate import Generator
from .mkdocs_run import run_mkdocs, write_mkdocs_config
from .plan import Plan, make_plan, template_hash
from .progress import Phases, ProgressCallback
from .sanitize import external_media_enabled
from .search_index import html_of, merge_search_index, save_search_index
from .state import STATE_FILE, check_out_dir, empty_dir, load_state, mark_output, save_state
from .wikilinks import BrokenLink
from .write import PageWriter

__all__ = ["BuildReport", "SiteBuildError", "build_site"]


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


def build_site(
    vault: Vault,
    out: str | Path | None = None,
    clean: bool = False,
    on_progress: ProgressCallback | None = None,
) -> BuildReport:
    """Build the static site of ``vault``.

    Args:
        out: HTML folder (default ``.vault/site/``). With ``clean`` it is emptied first,
            which is refused for a non-empty folder the site did not create.
        clean: regenerate every page and render all HTML.
        on_progress: called with ``(phase, done, total)`` as the build advances.
    Returns:
        a :class:`BuildReport`.
    Raises:
        SiteBuildError: MkDocs failed, or ``out`` is someone else's folder.
    """
    t0 = time.monotonic()
    src = vault.root / layout.VAULT_DIR / "site-src"
    html = Path(out).resolve() if out else vault.root / layout.VAULT_DIR / "site"
    check_out_dir(html)
    site_tpl = project_path("site")
    state_path = vault.state_dir() / STATE_FILE
    state = load_state(state_path)
    plan = make_plan(vault.repo, state, template_hash(site_tpl), str(html), clean)
    if plan.full:
        empty_dir(src)
        if clean:
            empty_dir(html)
    src.mkdir(parents=True, exist_ok=True)
    mark_output(html)
    cat = None if plan.full or not state else load_catalog(state.get("catalog"))
    if cat is None and not plan.full:
        plan = Plan(True, "catalog cache unusable", plan.changed, plan.head)
    writer = PageWriter(src)
    phases = Phases(on_progress)
    gen = Generator(vault, cat or Catalog(), writer, phases, plan)
    gen.run(set(state.get("pages", [])) if state and not plan.full else set())
    nav = gen.nav()
    nav_changed = not state or state.get("nav") != nav
    config_file = write_mkdocs_config(vault.name, vault.state_dir(), src, html, site_tpl, nav)
    dirty = not plan.full and not nav_changed and (html / "index.html").exists()
    to_render = writer.md_written if dirty else writer.md_written + writer.md_skipped
    phases.phase("Rendering HTML", to_render)
    try:
        rendered, warnings = run_mkdocs(
            config_file, dirty, phases.advance, external_media_enabled(vault.config)
        )
    except BaseException:
        # The Markdown is newer than the HTML now; without a state the next build is
        # full, so no page is left half-built or missing from the search index.
        state_path.unlink(missing_ok=True)
        raise
    for rel in gen.deleted:
        (html / html_of(rel)).unlink(missing_ok=True)
    keep = vault.state_dir() / "site-search.json"
    if dirty:
        merge_search_index(html, keep, writer.written, gen.deleted)
    else:
        save_search_index(html, keep)
    phases.finish()
    save_state(
        state_path,
        {
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
