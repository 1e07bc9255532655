"""Keeping MkDocs' search index complete across incremental ("dirty") builds.

A dirty build's index holds only the pages just rendered; :func:`merge_search_index`
puts back every other page's entries from the index of the previous build, which
:func:`save_search_index` keeps in ``.vault/site-search.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from .write import write_if_changed


def html_of(page: str) -> str:
    """The HTML file MkDocs renders a site-source page to (``a/b.md`` → ``a/b.html``)."""
    return page[:-3] + ".html" if page.endswith(".md") else page


def save_search_index(html: Path, keep: Path) -> None:
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
    new["docs"] = kept + [d for d in new.get("docs", []) if page_of(d["location"]) in fresh]
    data = json.dumps(new, ensure_ascii=False, separators=(",", ":"))
    write_if_changed(idx, data.encode("utf-8"))
    js = idx.with_name("search_index.js")
    if js.exists():
        write_if_changed(js, f"var __index = {data}".encode())
    write_if_changed(keep, data.encode("utf-8"))
