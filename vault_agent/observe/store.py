"""Rollups of one node in memory, read only from its rollup files (no other store).

Rollup files are append-only (docs/architecture.md §3.1), so a file already parsed is re-read
only from where it ended: the cache remembers each file's size and parses the tail.
A file that shrank (a torn line was repaired) is parsed again from the start. The
cache is per process and keyed by absolute path, and holds each line's parsed window
(:class:`Point`), so a new :class:`RollupStore` for every observe window (what the
agent does) costs only the new lines.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from ..errors import RecordError
from ..vault import Rollup, Vault, layout
from ..vault.records import parse_rollup_lines

log = logging.getLogger("vault_agent.observe")


@dataclass(frozen=True)
class Point:
    """A rollup with its parsed window, for fast range queries (times UTC)."""

    start: datetime
    end: datetime
    rollup: Rollup


# abs path -> (size parsed, lines parsed, points), least recently used first; bounded so a
# long-running agent keeps only about the baseline's files (a year of days would not fit)
_CACHE: OrderedDict[str, tuple[int, int, list[Point]]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
MAX_CACHED_FILES = 64


def _parse_tail(path: Path, rel: str, offset: int, first_line: int) -> tuple[int, list[Point], int]:
    """Parse complete lines of ``path`` from byte ``offset`` (line ``first_line`` + 1 on).

    Returns (new offset, points, number of the last line parsed). Bad lines are
    logged with file and line and skipped.
    """
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1  # only complete lines; a partial tail waits for its newline
    problems: list[RecordError] = []
    out = [
        Point(layout.parse_iso(r.start), layout.parse_iso(r.end), r)
        for _, r in parse_rollup_lines(data[: max(end - 1, 0)], rel, first_line, problems)
    ]
    for e in problems:
        log.warning("skipping bad rollup line: %s", e)
    line_no = first_line + data[:end].count(b"\n")
    return offset + end, out, line_no


def read_rollup_points(vault: Vault, rel: str) -> list[Point]:
    """All valid rollups of one file with their parsed windows, using the append-only
    tail cache (the list is shared: do not change it)."""
    path = vault.path(rel)
    key = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return []
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached:
            _CACHE.move_to_end(key)
    if cached and cached[0] == size:
        return cached[2]
    if cached and cached[0] < size:  # appended since: parse only the new lines
        new_size, more, lines = _parse_tail(path, rel, cached[0], cached[1])
        entry = (new_size, lines, cached[2] + more)
    else:  # new, or shrank (a torn tail was repaired): parse from the start
        new_size, rollups, lines = _parse_tail(path, rel, 0, 0)
        entry = (new_size, lines, rollups)
    with _CACHE_LOCK:
        _CACHE[key] = entry
        _CACHE.move_to_end(key)
        while len(_CACHE) > MAX_CACHED_FILES:
            _CACHE.popitem(last=False)
    return entry[2]


def day_file_date(rel: str) -> date:
    """The UTC day of a rollup file path (``…/YYYY-MM-DD.jsonl``)."""
    return date.fromisoformat(rel.rsplit("/", 1)[-1][:10])


class RollupStore:
    """One node's rollups from ``since`` to ``until`` (UTC days, inclusive), by sensor.

    Args:
        vault: the vault to read.
        node: whose rollups (default: the vault's node).
    """

    def __init__(self, vault: Vault, since: date, until: date, node: str | None = None) -> None:
        self.vault = vault
        self.node = node or vault.node
        self.since, self.until = since, until
        self._by_sensor: dict[str, list[Point]] = defaultdict(list)
        self._starts: dict[str, list[datetime]] = {}
        self.files: dict[date, str] = {}
        for rel in vault.rollup_files(self.node):
            d = day_file_date(rel)
            if since <= d <= until:
                self.files[d] = rel
                for p in read_rollup_points(vault, rel):
                    if p.rollup.node == self.node:
                        self._by_sensor[p.rollup.sensor].append(p)
        for sensor, pts in self._by_sensor.items():
            pts.sort(key=lambda p: (p.start, p.end))
            self._starts[sensor] = [p.start for p in pts]

    @property
    def sensors(self) -> list[str]:
        """Sensor names with at least one rollup, sorted."""
        return sorted(self._by_sensor)

    def points_between(self, sensor: str, t0: datetime, t1: datetime) -> list[Point]:
        """Points of ``sensor`` whose window starts in [t0, t1)."""
        starts = self._starts.get(sensor)
        if not starts:
            return []
        i = bisect.bisect_left(starts, t0)
        j = bisect.bisect_left(starts, t1)
        return self._by_sensor[sensor][i:j]

    def between(self, sensor: str, t0: datetime, t1: datetime) -> list[Rollup]:
        """Rollups of ``sensor`` whose window starts in [t0, t1)."""
        return [p.rollup for p in self.points_between(sensor, t0, t1)]

    def last_before(self, sensor: str, t: datetime) -> Rollup | None:
        """The last rollup of ``sensor`` starting before ``t`` with readings (count > 0)."""
        starts = self._starts.get(sensor, [])
        i = bisect.bisect_left(starts, t)
        for p in reversed(self._by_sensor[sensor][:i]):
            if p.rollup.count > 0:
                return p.rollup
        return None

    def files_between(self, t0: datetime, t1: datetime) -> list[str]:
        """Rollup file paths of the UTC days touched by [t0, t1)."""
        out = []
        d = t0.date()
        last = (t1 - timedelta(microseconds=1)).date()
        while d <= last:
            if d in self.files:
                out.append(self.files[d])
            d += timedelta(days=1)
        return out

    def span(self) -> tuple[datetime, datetime] | None:
        """(first start, last end) over all sensors, or None when empty."""
        pts = [p for v in self._by_sensor.values() for p in (v[0], v[-1])]
        if not pts:
            return None
        return min(p.start for p in pts), max(p.end for p in pts)
