"""Citations in an LLM answer: keep only ``[n]`` that name one of the n sources.

A small model may cite ``[7]`` when it was given 5 sources, or invent a path. We
keep a citation only if 1 ≤ n ≤ number of sources; others are removed from the
text (also while streaming, see :class:`CitationFilter`) and reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

CITE_RE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


@dataclass(frozen=True)
class Citation:
    """Source number ``n`` (1-based, as in the prompt) and its vault path."""

    n: int
    path: str


@dataclass(frozen=True)
class Checked:
    """An answer after checking: text without invalid citations, the valid ones in order
    of first use, and the numbers dropped."""

    text: str
    citations: tuple[Citation, ...]
    dropped: tuple[int, ...]


def _replace(match: re.Match, n_sources: int, used: list[int], dropped: list[int]) -> str:
    nums = [int(x) for x in re.split(r"\s*,\s*", match.group(1))]
    keep = [n for n in nums if 1 <= n <= n_sources]
    dropped += [n for n in nums if n not in keep]
    used += [n for n in keep if n not in used]
    return f"[{', '.join(str(n) for n in keep)}]" if keep else ""


def check(answer: str, sources: Sequence[str]) -> Checked:
    """Verify ``[n]`` citations in ``answer`` against ``sources`` (vault paths, in prompt order)."""
    used: list[int] = []
    dropped: list[int] = []
    text = CITE_RE.sub(lambda m: _replace(m, len(sources), used, dropped), answer)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return Checked(text, tuple(Citation(n, sources[n - 1]) for n in used), tuple(dropped))


class CitationFilter:
    """Removes invalid ``[n]`` from a streamed answer piece by piece.

    Text that may be the start of a citation (``[``, ``[1``, ``[1,``) is held back
    until it is complete or clearly not a citation.
    """

    _PARTIAL = re.compile(r"\[[\d,\s]{0,12}$")

    def __init__(self, n_sources: int) -> None:
        self.n = n_sources
        self.buf = ""
        self.dropped: list[int] = []

    def feed(self, piece: str) -> str:
        """Text safe to show now."""
        self.buf += piece
        m = self._PARTIAL.search(self.buf)
        hold = self.buf[m.start() :] if m else ""
        ready = self.buf[: len(self.buf) - len(hold)]
        self.buf = hold
        return self._clean(ready)

    def flush(self) -> str:
        """The rest, at the end of the stream."""
        out, self.buf = self._clean(self.buf), ""
        return out

    def _clean(self, text: str) -> str:
        used: list[int] = []
        return CITE_RE.sub(lambda m: _replace(m, self.n, used, self.dropped), text)
