"""Per-sensor rollups over fixed windows aligned to UTC boundaries (docs/architecture.md §4–5).

Numeric sensors keep a Welford accumulator per window (count, mean, M2 → population
standard deviation; Welford, "Note on a method for calculating corrected sums of
squares and products", Technometrics 4(3), 1962) plus min/max with their times and the
last value. Binary sensors (motion, door) count ``events`` (off→on transitions) and
``on_s``: each "on" reading holds until the next reading of that sensor, for at most
1.5 × its interval (bridging jitter, not gaps), clipped at window boundaries.

Resuming: on construction the engine reads this node's newest rollup lines and learns,
per sensor, the end of the last window already written. A reading for a window that is
already closed never rewrites a line: it goes into a separate accumulator that is
written as its own line with ``late: true``. Replay uses :meth:`RollupEngine.is_closed`
to skip such rows instead, so re-running a replay writes nothing twice.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..vault import Rollup, layout
from .base import Reading
from .config import SensorSpec

BINARY_HOLD_FACTOR = 1.5


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _epoch(t: datetime) -> float:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


class _Window:
    """Accumulator of one sensor over one window (numeric and binary fields)."""

    __slots__ = (
        "sensor",
        "start",
        "end",
        "late",
        "count",
        "mean",
        "m2",
        "lo",
        "hi",
        "lo_t",
        "hi_t",
        "last",
        "last_t",
        "errors",
        "events",
        "on_s",
    )

    def __init__(self, sensor: str, start: float, end: float, late: bool) -> None:
        self.sensor, self.start, self.end, self.late = sensor, start, end, late
        self.count = 0
        self.mean = self.m2 = 0.0
        self.lo = math.inf
        self.hi = -math.inf
        self.lo_t = self.hi_t = self.last_t = -math.inf
        self.last: float | None = None
        self.errors = self.events = 0
        self.on_s = 0.0

    def add(self, ts: float, x: float) -> None:
        """Welford update plus min/max (first time of the extreme) and last."""
        self.count += 1
        d = x - self.mean
        self.mean += d / self.count
        self.m2 += d * (x - self.mean)
        if x < self.lo:
            self.lo, self.lo_t = x, ts
        if x > self.hi:
            self.hi, self.hi_t = x, ts
        if ts >= self.last_t:
            self.last, self.last_t = x, ts


@dataclass
class _BinaryState:
    """Where a binary sensor's uncredited on-time starts and where its hold ends (epoch s)."""

    prev: float | None = None
    on_from: float | None = None
    on_until: float = 0.0


class RollupEngine:
    """Accumulates readings into windows and writes closed windows as rollup lines.

    Args:
        vault: the :class:`~vault_agent.vault.Vault` written to (this node's day files).
        specs: the sensors (quantity, unit, binary, interval); readings of unknown sensor
            ids are rolled up as numeric with the reading's own quantity and unit.
        window_s: window length in seconds (default 300); windows start at multiples of
            it since the Unix epoch, so 300 s windows start at :00, :05… UTC.
        resume: learn each sensor's last closed window from the files (default True).

    Thread-safe: the sampler's workers call :meth:`add` while the daemon calls
    :meth:`close_until`; file writes happen outside the lock.
    """

    def __init__(
        self, vault: Any, specs: Iterable[SensorSpec], window_s: int = 300, resume: bool = True
    ) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.vault = vault
        self.window_s = int(window_s)
        self.specs: dict[str, SensorSpec] = {s.id: s for s in specs}
        self._open: dict[tuple[str, float, bool], _Window] = {}
        self._next_close = math.inf
        self._closed_end: dict[str, float] = {}
        self._binary: dict[str, _BinaryState] = {}
        self._lock = threading.Lock()
        self._written: set[str] = set()
        self._meta: dict[str, tuple[str, str]] = {}  # quantity, unit of sensors without spec
        self.rollups_written = 0
        self.late_written = 0
        if resume:
            self._closed_end = last_closed_ends(vault, list(self.specs))

    # -- queries -------------------------------------------------------------------
    def last_closed(self, sensor: str) -> datetime | None:
        """End of the newest window of ``sensor`` already written (UTC), or None."""
        end = self._closed_end.get(sensor)
        return None if end is None else datetime.fromtimestamp(end, UTC)

    def is_closed(self, sensor: str, t: datetime) -> bool:
        """True if the window holding time ``t`` of ``sensor`` was already written."""
        return _epoch(t) < self._closed_end.get(sensor, -math.inf)

    def pending_count(self) -> int:
        """Number of windows open (accumulating, not yet written)."""
        with self._lock:
            return len(self._open)

    def take_written(self) -> list[str]:
        """Vault paths appended to since the last call (for the commit that follows)."""
        with self._lock:
            out, self._written = sorted(self._written), set()
            return out

    # -- accumulating ----------------------------------------------------------------
    def _window(self, sensor: str, ts: float) -> _Window:
        w = self.window_s
        start = math.floor(ts / w) * w
        late = start < self._closed_end.get(sensor, -math.inf)
        key = (sensor, start, late)
        win = self._open.get(key)
        if win is None:
            win = self._open[key] = _Window(sensor, start, start + w, late)
            if win.end < self._next_close:
                self._next_close = win.end
        return win

    def _hold_s(self, sensor: str) -> float:
        spec = self.specs.get(sensor)
        return BINARY_HOLD_FACTOR * (spec.interval_s if spec else 1.0)

    def _credit(self, sensor: str, frm: float, to: float) -> None:
        """Add on-time [frm, to) to the (not yet closed) windows it overlaps."""
        while frm < to:
            win = self._window(sensor, frm)
            upto = min(to, win.end)
            if not win.late:
                win.on_s += upto - frm
            frm = upto

    def add(self, reading: Reading) -> None:
        """Add one reading to its window (a closed window's reading becomes a late line)."""
        ts = _epoch(reading.t)
        x = float(reading.value)
        spec = self.specs.get(reading.sensor)
        with self._lock:
            if spec is not None and spec.binary:
                self._add_binary(reading.sensor, ts, x)
            else:
                if spec is None:
                    self._meta[reading.sensor] = (reading.quantity, reading.unit)
                self._window(reading.sensor, ts).add(ts, x)

    def _add_binary(self, sensor: str, ts: float, x: float) -> None:
        on = x > 0.5
        win = self._window(sensor, ts)
        if win.late:  # closed window: count it alone, never touch the live state
            win.add(ts, 1.0 if on else 0.0)
            if on:
                win.events += 1
                win.on_s += min(self._hold_s(sensor), win.end - ts)
            return
        st = self._binary.setdefault(sensor, _BinaryState())
        if st.on_from is not None:
            self._credit(sensor, st.on_from, min(ts, st.on_until))
            st.on_from = None
        win = self._window(sensor, ts)
        win.add(ts, 1.0 if on else 0.0)
        if on:
            if not (st.prev is not None and st.prev > 0.5):
                win.events += 1
            st.on_from, st.on_until = ts, ts + self._hold_s(sensor)
        st.prev = x

    def add_error(self, sensor: str, t: datetime) -> None:
        """Count one failed read of ``sensor`` at ``t`` in its window's ``errors``."""
        ts = _epoch(t)
        with self._lock:
            self._window(sensor, ts).errors += 1

    # -- closing ---------------------------------------------------------------------
    def close_until(self, t: datetime | float) -> list[Rollup]:
        """Close every window whose end ≤ ``t`` and append their lines (one append per file).

        Returns:
            the rollups written, oldest window first.
        """
        te = t if isinstance(t, int | float) else _epoch(t)
        with self._lock:
            if te < self._next_close:
                return []
            for sensor, st in self._binary.items():
                if st.on_from is not None and st.on_from < te:
                    upto = min(st.on_until, te)
                    self._credit(sensor, st.on_from, upto)
                    st.on_from = upto if st.on_until > te else None
            keys = [k for k, w in self._open.items() if w.end <= te]
            keys.sort(key=lambda k: (k[1], k[0], k[2]))
            rollups = [self._to_rollup(self._open.pop(k)) for k in keys]
            for k in keys:
                if not k[2]:
                    end = k[1] + self.window_s
                    if end > self._closed_end.get(k[0], -math.inf):
                        self._closed_end[k[0]] = end
            self._next_close = min((w.end for w in self._open.values()), default=math.inf)
        if rollups:
            paths = self.vault.append_rollups(rollups)
            with self._lock:
                self._written.update(paths)
                self.rollups_written += len(rollups)
                self.late_written += sum(1 for r in rollups if r.late)
        return rollups

    def flush(self) -> list[Rollup]:
        """Close every open window, complete or not (end of a recording, shutdown of a replay)."""
        return self.close_until(math.inf)

    def _to_rollup(self, w: _Window) -> Rollup:
        spec = self.specs.get(w.sensor)
        quantity, unit = (spec.quantity, spec.unit) if spec else self._meta.get(w.sensor, ("", ""))
        base: dict[str, Any] = dict(
            node=self.vault.node,
            sensor=w.sensor,
            quantity=quantity,
            unit=unit,
            start=_iso(w.start),
            end=_iso(w.end),
            count=w.count,
            errors=w.errors,
            late=w.late,
        )
        if spec is not None and spec.binary:
            return Rollup(**base, events=w.events, on_s=round(w.on_s, 3), last=w.last)
        if w.count == 0:
            return Rollup(**base)
        return Rollup(
            **base,
            mean=w.mean,
            min=w.lo,
            max=w.hi,
            last=w.last,
            stddev=math.sqrt(max(w.m2, 0.0) / w.count),
            min_at=_iso(w.lo_t),
            max_at=_iso(w.hi_t),
        )


def last_closed_ends(vault: Any, sensors: list[str]) -> dict[str, float]:
    """Per sensor, the end (epoch s) of its newest rollup line on this node.

    Reads day files newest first (through the one rollup-line reader,
    :meth:`Vault.read_rollups`) and stops once every sensor is found, so a running node
    reads one or two files. A line that fails its schema is skipped.
    """
    want = set(sensors)
    found: dict[str, float] = {}
    if not want:
        return found
    for rel in reversed(vault.rollup_files(vault.node)):
        for r in vault.read_rollups(rel):
            end = _epoch(r.end)
            if r.sensor in want and end is not None and end > found.get(r.sensor, -math.inf):
                found[r.sensor] = end
        if want <= set(found):
            break
    return found


def written_windows(vault: Any, day: Any, sensors: Iterable[str]) -> set[tuple[str, int]]:
    """(sensor, window start epoch s) of every line in this node's rollup file of UTC ``day``
    for ``sensors`` (late lines included): the windows a replay must not write again."""
    want = set(sensors)
    rel = layout.rollup_path(vault.node, day)
    if not vault.path(rel).exists():
        return set()
    out: set[tuple[str, int]] = set()
    for r in vault.read_rollups(rel):
        start = _epoch(r.start)
        if r.sensor in want and start is not None:
            out.add((r.sensor, int(start)))
    return out


def _epoch(t: str) -> float | None:
    """Epoch seconds of a UTC ISO 8601 time (None when it does not parse)."""
    try:
        return layout.parse_iso(t).timestamp()
    except ValueError:
        return None
