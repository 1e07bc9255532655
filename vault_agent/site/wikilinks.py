"""Obsidian-style wikilinks in knowledge-base pages, resolved to site links.

Supported forms: ``[[note]]``, ``[[note|alias]]``, ``[[note#heading]]``,
``[[note#heading|alias]]``, ``[[#heading]]`` (same page) and embeds ``![[note]]``
(rendered as a plain link). A target is matched, in order, by its path relative to
``knowledge-base/`` (with or without ``.md``) and then by file name alone, case-
insensitively, as Obsidian does ("shortest path when possible"). Links inside code
spans and fenced code blocks are left alone. Unresolvable links become a marked span
and are reported, never fatal.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

WIKILINK_RE = re.compile(r"(!?)\[\[([^\[\]\n|#]*)(#[^\[\]\n|]*)?(?:\|([^\[\]\n]*))?\]\]")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})")
CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1")


@dataclass(frozen=True)
class BrokenLink:
    """A wikilink whose target was not found: the page (vault path), 1-based line and target."""

    page: str
    line: int
    target: str


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


def heading_anchor(text: str) -> str:
    """The id MkDocs' ``toc`` extension gives a heading with this text (its default slugify)."""
    from markdown.extensions.toc import slugify

    return slugify(text.strip(), "-")


class NoteIndex:
    """Knowledge-base notes by path and by name, for resolving wikilink targets.

    Args:
        notes: vault paths relative to ``knowledge-base/`` (``"Heating/Boiler.md"``).
    """

    def __init__(self, notes: Iterable[str]) -> None:
        self.by_path: dict[str, str] = {}
        self.by_name: dict[str, list[str]] = {}
        for n in sorted(notes):
            stem = n[:-3] if n.lower().endswith(".md") else n
            self.by_path[_key(stem)] = n
            self.by_path[_key(n)] = n
            self.by_name.setdefault(_key(posixpath.basename(stem)), []).append(n)

    def resolve(self, target: str, from_note: str = "") -> str | None:
        """The note a target names, or None. Relative paths resolve against ``from_note``."""
        t = target.strip().replace("\\", "/")
        if not t:
            return from_note or None
        here = posixpath.dirname(from_note)
        if t.startswith("/"):
            t = t.lstrip("/")
        elif from_note and "/" not in t and here:
            # a bare name: a note in the linking note's folder wins (Obsidian's order)
            hit = self.by_path.get(_key(f"{here}/{t}"))
            if hit:
                return hit
        if from_note and not t.startswith("/") and ("/" in t or t.startswith(".")):
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(from_note), t))
            hit = self.by_path.get(_key(rel))
            if hit:
                return hit
        hit = self.by_path.get(_key(t))
        if hit:
            return hit
        stem = t[:-3] if t.lower().endswith(".md") else t
        names = self.by_name.get(_key(posixpath.basename(stem)))
        if not names:
            return None
        # Obsidian prefers the note closest to the linking note, then the shortest path.
        return sorted(names, key=lambda n: (posixpath.dirname(n) != here, n.count("/"), n))[0]


def md_link_target(path: str) -> str:
    """A Markdown link destination that survives spaces and non-ASCII (``<...>`` form)."""
    return f"<{path}>" if re.search(r"[\s<>()]", path) else path


def rewrite(
    text: str, note: str, index: NoteIndex, url_of: Callable[[str], str], page_path: str = ""
) -> tuple[str, list[BrokenLink]]:
    """Replace wikilinks in a note's Markdown with relative Markdown links.

    Args:
        text: the note's Markdown body.
        note: its path relative to ``knowledge-base/`` (for relative targets and reports).
        index: all notes.
        url_of: maps a note path to its link destination relative to this page
            (a ``.md`` path MkDocs resolves).
        page_path: vault path used in broken-link reports (default ``knowledge-base/<note>``).
    Returns:
        (new text, broken links found).
    """
    broken: list[BrokenLink] = []
    out: list[str] = []
    fence: str | None = None
    report_as = page_path or f"knowledge-base/{note}"
    for lineno, line in enumerate(text.splitlines(keepends=True), 1):
        m = FENCE_RE.match(line)
        if fence is not None:
            if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= len(fence):
                fence = None
            out.append(line)
            continue
        if m:
            fence = m.group(2)
            out.append(line)
            continue
        out.append(_rewrite_line(line, lineno, note, index, url_of, report_as, broken))
    return "".join(out), broken


def _rewrite_line(
    line: str,
    lineno: int,
    note: str,
    index: NoteIndex,
    url_of: Callable[[str], str],
    report_as: str,
    broken: list[BrokenLink],
) -> str:
    pieces, pos = [], 0
    for cm in CODE_SPAN_RE.finditer(line):
        pieces.append((line[pos : cm.start()], True))
        pieces.append((cm.group(0), False))
        pos = cm.end()
    pieces.append((line[pos:], True))

    def sub(m: re.Match) -> str:
        target, heading, alias = m.group(2), (m.group(3) or "")[1:], m.group(4)
        if alias:
            label = alias.strip()
        elif target.strip():
            label = target.strip() + (f" › {heading}" if heading else "")
        else:
            label = heading.strip()
        resolved = index.resolve(target, note)
        if resolved is None:
            full = target + (f"#{heading}" if heading else "")
            broken.append(BrokenLink(report_as, lineno, full))
            return f'<span class="va-broken-link" title="broken link: {_attr(full)}">{label}</span>'
        anchor = f"#{heading_anchor(heading)}" if heading else ""
        dest = (url_of(resolved) if target.strip() else "") + anchor
        return f"[{label}]({md_link_target(dest)})"

    return "".join(WIKILINK_RE.sub(sub, s) if live else s for s, live in pieces)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
