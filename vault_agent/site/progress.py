"""Build progress as plain callbacks: the library reports, the CLI draws (a rich bar).

A callback receives ``(phase, done, total)``: ``phase`` names the step ("Reading
notes", "Rendering HTML"…), ``done`` counts finished items of ``total`` in it. A new
phase starts with ``done == 0``; a phase may end early (``done == total`` is reported
when it is filled).
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[str, int, int], None]


class Phases:
    """Tracks the current phase and calls ``callback`` (or nothing when it is None)."""

    def __init__(self, callback: ProgressCallback | None = None) -> None:
        self.callback = callback
        self.name, self.done, self.total = "", 0, 0

    def phase(self, name: str, total: int) -> None:
        """Start a new phase of ``total`` items."""
        self.name, self.done, self.total = name, 0, max(total, 1)
        self._report()

    def advance(self, n: int = 1) -> None:
        """``n`` more items of the current phase are done."""
        self.done = min(self.done + n, self.total)
        self._report()

    def finish(self) -> None:
        """Fill the current phase."""
        self.done = self.total
        self._report()

    def _report(self) -> None:
        if self.callback is not None and self.name:
            self.callback(self.name, self.done, self.total)
