"""Search for MCP clients: ``vault search``'s retriever, minus what the read rules deny."""

from __future__ import annotations

from collections.abc import Callable

from ..ask.retrieve import Retriever, SearchResult
from ..index.whoosh_index import Filters
from ..vault import Vault
from .permissions import Policy

OVERFETCH = 2  # fetch k × this many so that hiding denied files still leaves k hits


class PolicyRetriever(Retriever):
    """A :class:`Retriever` whose hits are only files ``policy`` lets the client read.

    Used for the ``search`` tool and handed to ``ask`` (so an answer never cites a
    file the client may not read).
    """

    def __init__(
        self, vault: Vault, policy: Policy, on_rebuild: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(vault, on_rebuild=on_rebuild)
        self.policy = policy

    def search(
        self, text: str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None
    ) -> SearchResult:
        """The top ``k`` readable hits (see :meth:`Retriever.search`)."""
        res = super().search(text, k * OVERFETCH, mode, filters)
        hits = [h for h in res.hits if self.policy.can("read", h.path)][:k]
        return SearchResult(hits, res.query, res.notes)
