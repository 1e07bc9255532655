"""Generated HTML blocks pass through Markdown untouched, without being parsed by it.

The site's pages are Markdown whose tables, timelines, figures and navigation lines are
raw HTML blocks written by our templates (``class="va-…"``). Python-Markdown parses every
raw block with its HTML parser only to pass it through unchanged; on a day page that is
half of its Markdown time (5.4 → 3.8 ms a page, measured on 300 generated day pages).
This preprocessor stores such a block in Markdown's own stash (what its raw-HTML
preprocessor does with the blocks it finds), so the rendered HTML is the same.

A block qualifies when, at the start of a Markdown block (first line or after a blank
line), a line opens one of :data:`TAGS` with a ``va-`` class and no ``markdown``
attribute (``md_in_html`` must see those), and the lines up to the next blank line end by
closing that same tag. Anything else, such as a block with blank lines inside, is left
to Markdown. Safety does not rest on this: every page body is sanitised after Markdown
(:mod:`.sanitize`), stashed blocks included.
"""

from __future__ import annotations

import re

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

TAGS = ("p", "div", "figure", "details", "section", "table", "nav")
OPENING = re.compile(r"<(" + "|".join(TAGS) + r') class="va-[\w -]*"')
PRIORITY = 25
"""Between Markdown's whitespace normalisation (30) and its raw-HTML preprocessor (20)."""


class GeneratedBlocks(Preprocessor):
    """Stashes generated raw HTML blocks (see the module docstring)."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i, n = 0, len(lines)
        while i < n:
            end = self._block_end(lines, i)
            if end is None:
                out.append(lines[i])
                i += 1
                continue
            out.append(self.md.htmlStash.store("\n".join(lines[i:end])))
            i = end
        return out

    @staticmethod
    def _block_end(lines: list[str], i: int) -> int | None:
        """End (exclusive) of the generated block starting at line ``i``, or None."""
        if i > 0 and lines[i - 1].strip():
            return None
        m = OPENING.match(lines[i])
        if not m or " markdown" in lines[i].split(">", 1)[0]:
            return None
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        return j if lines[j - 1].rstrip().endswith(f"</{m.group(1)}>") else None


class GeneratedBlocksExtension(Extension):
    """Registers :class:`GeneratedBlocks` (added to MkDocs' Markdown by the site plugin)."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Markdown's API
        md.preprocessors.register(GeneratedBlocks(md), "va_generated_blocks", PRIORITY)
