"""The site's search index: tidy result texts, complete across incremental builds.

mkdocs-material's search plugin indexes each page section as ``{location, title, text}``
and its results show the title and the paragraphs of ``text`` that match the query.
:func:`tidy_docs` joins the first line of observation and interaction pages (window or
time, node; "Asked on …") to the paragraph after it, so a result always shows its date
and node beside the matching text.

A dirty build's index holds only the pages just rendered; :func:`merge_search_index`
puts back every other page's entries from the index of the previous build, which
:func:`save_search_index` keeps in ``.vault/site-search.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .write import write_if_changed

NOTE_PAGE_RE = re.compile(r"^(?:nodes/[^/#]+/observations/[^/#]+|interactions/[^#]+)\.html$")
"""Search locations of observation and interaction pages (their first section only)."""
LEAD_RE = re.compile(r"^<p>([^<]*)</p>\s*<p>")
"""A section text starting with a tag-free paragraph (the page's date/node line) and then
a paragraph."""


def tidy_docs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join the date/node line of observation and interaction pages to the paragraph that
    follows it (``<p>2015-02-03 16:00–17:00 UTC · office</p> <p>CO2 rose…`` →
    ``<p>2015-02-03 16:00–17:00 UTC · office — CO2 rose…``). Apply once to fresh docs."""
    for d in docs:
        if NOTE_PAGE_RE.match(d.get("location", "")):
            d["text"] = LEAD_RE.sub(lambda m: f"<p>{m.group(1).strip()} — ", d["text"], count=1)
    return docs


def _write_index(idx: Path, data: dict[str, Any]) -> str:
    """Write ``search_index.json`` and the offline plugin's ``search_index.js``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    write_if_changed(idx, text.encode("utf-8"))
    js = idx.with_name("search_index.js")
    if js.exists():
        write_if_changed(js, f"var __index = {text}".encode())
    return text


def html_of(page: str) -> str:
    """The HTML file MkDocs renders a site-source page to (``a/b.md`` → ``a/b.html``)."""
    return page[:-3] + ".html" if page.endswith(".md") else page


def save_search_index(html: Path, keep: Path) -> None:
    """Tidy the full search index of a full build (:func:`tidy_docs`) and remember it
    (for merging after dirty builds)."""
    idx = html / "search" / "search_index.json"
    if not idx.is_file():
        return
    data = json.loads(idx.read_text(encoding="utf-8"))
    tidy_docs(data.get("docs", []))
    write_if_changed(keep, _write_index(idx, data).encode("utf-8"))


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
    fresh = {quote(html_of(p)) for p in written} | {html_of(p) for p in written}
    gone = {quote(html_of(p)) for p in deleted} | {html_of(p) for p in deleted}
    if {"index.html"} & fresh:
        fresh.add("")

    def page_of(loc: str) -> str:
        return loc.split("#", 1)[0]

    kept = [d for d in old.get("docs", []) if page_of(d["location"]) not in fresh | gone]
    # Only this build's pages are taken from the new index: in one process material's
    # search plugin carries the previous dirty build's entries over (its
    # search_index_prev), which may name pages deleted since.
    new["docs"] = kept + tidy_docs(
        [d for d in new.get("docs", []) if page_of(d["location"]) in fresh]
    )
    write_if_changed(keep, _write_index(idx, new).encode("utf-8"))
