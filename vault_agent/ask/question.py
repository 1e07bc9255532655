"""The question text itself: cleaned and checked before any planning or search."""

from __future__ import annotations

from ..errors import VaultError

MAX_QUERY_CHARS = 2000


class QueryError(VaultError):
    """A query that cannot be searched or asked (empty)."""


def clean_query(text: str) -> tuple[str, list[str]]:
    """Whitespace collapsed, cut at :data:`MAX_QUERY_CHARS`.

    Returns: (query, notes).
    Raises:
        QueryError: an empty (or whitespace-only) query.
    """
    q = " ".join((text or "").split())
    if not q:
        raise QueryError("empty query: say what to look for")
    notes = []
    if len(q) > MAX_QUERY_CHARS:
        notes.append(f"query is {len(q)} characters; searching its first {MAX_QUERY_CHARS}")
        q = q[:MAX_QUERY_CHARS]
    return q, notes
