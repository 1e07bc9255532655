"""Writing the site source: a file is rewritten only when its bytes change.

An unchanged page keeps its mtime, which is how MkDocs' dirty mode knows to skip
rendering it again (see :mod:`.build`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..vault.atomic import atomic_write_bytes


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds exactly it; True when written.

    Written by the one atomic writer (:func:`~vault_agent.vault.atomic.atomic_write_bytes`)
    without fsync: the site is derived and rebuilt on loss.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write_bytes(path, data, fsync=False)
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
