"""Hybrid logical clock (HLC) per node, persisted in ``local-cache``.

Kulkarni, Demirbas et al., "Logical Physical Clocks and Consistent Snapshots in
Globally Distributed Databases" (2014): a timestamp is (physical ms, logical counter);
``now`` takes max(wall, last) and bumps the counter on ties; ``observe`` advances past
a timestamp seen in merged data. Pis have no RTC, so the clock is persisted: we store
a high-water mark one second ahead and only rewrite it when the clock passes it, so
a restart with a wall clock in 1970 still issues timestamps after every earlier one.

String form (lexicographically ordered): ``YYYYMMDDTHHMMSS.mmmZ-CCCC`` (counter hex).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .atomic import atomic_write_text

HLC_RE = re.compile(r"^(\d{8}T\d{6})\.(\d{3})Z-([0-9a-f]{4,})$")
RESERVE_MS = 1000


@dataclass(frozen=True, order=True)
class Timestamp:
    """One HLC value: ``physical`` milliseconds since the Unix epoch (UTC) and a counter."""

    physical: int
    logical: int

    def __str__(self) -> str:
        t = datetime.fromtimestamp(self.physical / 1000, UTC)
        return f"{t:%Y%m%dT%H%M%S}.{self.physical % 1000:03d}Z-{self.logical:04x}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse the string form. Raises ValueError on anything else."""
        m = HLC_RE.match(text or "")
        if not m:
            raise ValueError(f"not an HLC timestamp: {text!r}")
        t = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return cls(int(t.timestamp()) * 1000 + int(m.group(2)), int(m.group(3), 16))

    def wall(self) -> datetime:
        """The physical part as an aware UTC datetime."""
        return datetime.fromtimestamp(self.physical / 1000, UTC)


class HLC:
    """A node's hybrid logical clock, persisted to ``state_file`` (thread-safe).

    Args:
        state_file: where the high-water mark lives (``local-cache/hlc``).
        wall: a function returning the wall clock in ms (default ``time.time``).
    """

    def __init__(self, state_file: Path, wall=None) -> None:
        self._file = Path(state_file)
        self._wall = wall or (lambda: int(time.time() * 1000))
        self._lock = threading.Lock()
        self._last = Timestamp(0, 0)
        self._reserved = 0
        if self._file.exists():
            try:
                saved = Timestamp.parse(self._file.read_text().strip())
                self._last = saved
                self._reserved = saved.physical
            except (ValueError, OSError):
                pass  # a damaged clock file only loses the reservation; wall time takes over

    @property
    def last(self) -> Timestamp:
        """The last timestamp issued or observed."""
        return self._last

    def _persist(self) -> None:
        if self._last.physical >= self._reserved:
            self._reserved = self._last.physical + RESERVE_MS
            atomic_write_text(self._file, str(Timestamp(self._reserved, 0)) + "\n")

    def now(self) -> str:
        """Issue a new timestamp, strictly greater than every earlier one; returns its string."""
        with self._lock:
            wall = self._wall()
            if wall > self._last.physical:
                self._last = Timestamp(wall, 0)
            else:
                self._last = Timestamp(self._last.physical, self._last.logical + 1)
            self._persist()
            return str(self._last)

    def observe(self, remote: str) -> None:
        """Advance past a timestamp seen in merged data (ignored if unparsable)."""
        try:
            ts = Timestamp.parse(remote)
        except ValueError:
            return
        with self._lock:
            if ts > self._last:
                self._last = Timestamp(ts.physical, ts.logical)
                self._persist()
