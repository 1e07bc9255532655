"""Content rules on blobs (pure functions): append-only JSONL and text detection.

Rule 2 of docs/architecture.md §3: a rollup file may only grow. A peer version that does not
start with the merge base's content rewrote earlier lines and is refused. Two
versions that both extend the base but differ (the same node's file appended on two
copies, which one writer should never produce) are merged as a canonical union so
every line survives once and every node computes the same bytes.
"""

from __future__ import annotations

import re

HLC_FIELD_RE = re.compile(rb'"hlc":"([^"]+)"')
HLC_FRONTMATTER_RE = re.compile(rb"^hlc:\s*['\"]?([0-9TZ.\-a-f]+)['\"]?\s*$", re.M)


def extends(old: bytes | None, new: bytes) -> bool:
    """True when ``new`` starts with all of ``old`` (an append, or no change)."""
    return old is None or new.startswith(old)


def merge_append_only(
    base: bytes | None, ours: bytes | None, theirs: bytes
) -> tuple[bytes, str | None]:
    """Merge two versions of an append-only JSONL file.

    Returns:
        (merged bytes, refusal reason or None). When theirs rewrote lines of the
        base, ours is kept and a reason is given.
    """
    if not extends(base, theirs):
        return (ours or b""), "rewrites earlier lines of an append-only file"
    if ours is None:
        return theirs, None
    if theirs.startswith(ours):
        return theirs, None
    if ours.startswith(theirs):
        return ours, None
    return union_lines(ours, theirs), None


def union_lines(a: bytes, b: bytes) -> bytes:
    """Common prefix of whole lines, then every other distinct line once, sorted.

    Symmetric in ``a`` and ``b`` and stable under repetition, so copies converge.
    """
    la, lb = _lines(a), _lines(b)
    n = 0
    while n < min(len(la), len(lb)) and la[n] == lb[n]:
        n += 1
    head = la[:n]
    seen = set(head)
    rest = sorted({x for x in la[n:] + lb[n:] if x not in seen}, key=_line_key)
    return b"".join(head + rest)


def _lines(data: bytes) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"
    return lines


def _line_key(line: bytes) -> tuple[bytes, bytes]:
    m = HLC_FIELD_RE.search(line)
    return (m.group(1) if m else b"", line)


def new_lines(old: bytes | None, new: bytes) -> bytes:
    """The part of ``new`` after ``old`` when it is an append, else all of ``new``."""
    if old and new.startswith(old):
        return new[len(old) :]
    return new


def hlcs_in(data: bytes, markdown: bool = False) -> list[str]:
    """HLC strings found in rollup lines (``"hlc":"…"``) or Markdown frontmatter."""
    if markdown:
        head = data[:4096]
        return [m.group(1).decode("ascii", "replace") for m in HLC_FRONTMATTER_RE.finditer(head)]
    return [m.group(1).decode("ascii", "replace") for m in HLC_FIELD_RE.finditer(data)]


def is_text(data: bytes) -> bool:
    """True for UTF-8 without NUL bytes (what git's line merge can handle)."""
    if b"\x00" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
