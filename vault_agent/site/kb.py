"""Knowledge-base notes as the site shows them: front matter, title, tags, assets.

A note's own front matter is never handed to MkDocs (it could choose a template or
carry a title the theme prints as raw HTML): it is read here, and the page gets a front
matter of our own with the title escaped.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

PUBLISHED_ASSET_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp", ".ico", ".pdf", ".txt", ".csv"}
)
"""Non-Markdown knowledge-base files copied into the site: images and passive documents.
HTML, SVG, XML and scripts are left out: opened from the site, they would run script."""

_FRONT_RE = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_H1_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)


def publishable_asset(note: str) -> bool:
    """True when a non-Markdown knowledge-base file may be copied into the site."""
    return posixpath.splitext(note.lower())[1] in PUBLISHED_ASSET_SUFFIXES


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a note; malformed front matter reads as empty (it is
    removed from the body all the same)."""
    m = _FRONT_RE.match(text)
    if not m:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1) or "")
    except yaml.YAMLError:
        data = None
    return (data if isinstance(data, dict) else {}), text[m.end() :]


@dataclass(frozen=True)
class KbNote:
    """A note ready for its page: path relative to ``knowledge-base/``, its front matter
    and its body with wikilinks already rewritten."""

    note: str
    front: dict[str, Any] = field(default_factory=dict)
    body: str = ""

    @property
    def title(self) -> str:
        """Front matter ``title``, else the first ``# `` heading, else the file name."""
        t = self.front.get("title")
        if isinstance(t, str | int | float) and str(t).strip():
            return str(t).strip()
        m = _H1_RE.search(self.body)
        if m:
            return m.group(1).strip()
        return posixpath.basename(self.note)[:-3]

    @property
    def tags(self) -> list[str]:
        """Front matter ``tags``: a list, or a string separated by commas or spaces."""
        raw = self.front.get("tags") or []
        if isinstance(raw, str):
            raw = re.split(r"[,\s]+", raw)
        if not isinstance(raw, list):
            return []
        return list(dict.fromkeys(str(t).strip().lstrip("#") for t in raw if str(t).strip()))
