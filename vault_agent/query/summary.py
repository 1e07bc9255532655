"""The one computation of a sensor's statistics over a span of rollup lines.

Every figure the vault shows about a span of rollups (the observer's facts, the site's
day pages, the index's day chunks, ``vault history``, ``vault ask``) comes from
:func:`summarize`. Rules (Home Assistant recorder style: mean/min/max per window,
counters as sums):

- A line with ``count: 0`` (a window with no readings, only failed reads) adds its
  ``errors`` and nothing else: its mean/min/max, if any, are ignored.
- The mean is count-weighted: Σ meanᵢ·countᵢ / Σ countᵢ over lines with a mean.
- min/max are the extremes of the lines' ``min``/``max`` (a line without them counts
  with its mean); the time is the line's ``min_at``/``max_at``, else its window's middle.
  The first line (in the order given) holding the extreme wins a tie.
- ``last`` is the ``last`` of the newest window (on-time lines before late lines of the
  same window: a late line holds readings that arrived late, not newer ones).
- Binary sensors: ``events`` and ``on_s`` (seconds) are sums; the first/last event times
  are the starts of the first/last window with an event.
- A late line (``late: true``) is merged into its window simply by being summed in.

Pure: no IO; times are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..vault.layout import parse_iso
from ..vault.records import Rollup


@dataclass(frozen=True)
class Stats:
    """Statistics of one sensor over some rollup lines (see the module rules).

    ``lines`` is how many lines were given, ``windows`` how many had readings, ``count``
    the readings, ``errors`` the failed reads. ``min_i``/``max_i``/``last_i`` index the
    input line that holds the min/max/last (for citations). ``sum`` is Σ meanᵢ·countᵢ
    (the sum of all readings). Values are in the sensor's unit; ``on_s`` in seconds.
    """

    binary: bool
    lines: int
    windows: int
    count: int
    errors: int
    start: datetime | None = None
    end: datetime | None = None
    mean: float | None = None
    sum: float | None = None
    min: float | None = None
    min_at: datetime | None = None
    min_i: int | None = None
    max: float | None = None
    max_at: datetime | None = None
    max_i: int | None = None
    last: float | None = None
    last_at: datetime | None = None
    last_i: int | None = None
    events: int = 0
    on_s: float = 0.0
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None

    @property
    def empty(self) -> bool:
        """True when no line held a reading."""
        return self.windows == 0


def is_binary(r: Rollup) -> bool:
    """True for a binary sensor's line (motion, door: ``events``/``on_s``, no mean)."""
    return r.mean is None and (r.events is not None or r.on_s is not None)


@lru_cache(maxsize=1 << 16)
def _t(text: str) -> datetime:
    """:func:`parse_iso`, memoised: window bounds repeat across lines and calls."""
    return parse_iso(text)


def at_or_middle(r: Rollup, field: str | None) -> datetime:
    """``field`` (an ISO time) if it parses, else the middle of the line's window."""
    if field:
        try:
            return _t(field)
        except ValueError:
            pass
    s, e = _t(r.start), _t(r.end)
    return s + (e - s) / 2


def summarize(rollups: Sequence[Rollup], binary: bool | None = None) -> Stats:
    """Statistics of one sensor's rollup lines (any order; see the module rules).

    Args:
        rollups: lines of one sensor.
        binary: force the kind; None decides from the lines (a binary line among them).
    """
    live = [(i, r) for i, r in enumerate(rollups) if r.count > 0]
    if binary is None:
        binary = any(is_binary(r) for _, r in live) or (
            not live and any(is_binary(r) for r in rollups)
        )
    common: dict[str, Any] = dict(
        binary=binary,
        lines=len(rollups),
        windows=len(live),
        count=sum(r.count for _, r in live),
        errors=sum(r.errors for r in rollups),
    )
    if not live:
        return Stats(**common)
    common["start"] = min(_t(r.start) for _, r in live)
    common["end"] = max(_t(r.end) for _, r in live)
    return _binary(live, common) if binary else _numeric(live, common)


def _binary(live: list[tuple[int, Rollup]], common: dict[str, Any]) -> Stats:
    with_events = sorted((_t(r.start), i) for i, r in live if (r.events or 0) > 0)
    last_i, last_r = _newest(live)
    return Stats(
        events=sum(r.events or 0 for _, r in live),
        on_s=sum(r.on_s or 0.0 for _, r in live),
        first_event_at=with_events[0][0] if with_events else None,
        last_event_at=with_events[-1][0] if with_events else None,
        last=last_r.last,
        last_at=_t(last_r.end),
        last_i=last_i,
        **common,
    )


def _newest(live: list[tuple[int, Rollup]]) -> tuple[int, Rollup]:
    """The newest window's line (on-time before late; the later line of equal ones)."""
    if len(live) == 1:
        return live[0]
    return max(live, key=lambda p: (_t(p[1].start), not p[1].late, p[0]))


def _numeric(live: list[tuple[int, Rollup]], common: dict[str, Any]) -> Stats:
    nums = [(i, r) for i, r in live if r.mean is not None]
    if not nums:
        return Stats(**common)
    total = sum(float(r.mean or 0.0) * r.count for _, r in nums)
    weight = sum(r.count for _, r in nums)
    lo_i, lo = min(nums, key=lambda p: (_lo(p[1]), p[0]))
    hi_i, hi = min(nums, key=lambda p: (-_hi(p[1]), p[0]))
    last_i, last_r = _newest(nums)
    return Stats(
        mean=total / weight,
        sum=total,
        min=_lo(lo),
        min_at=at_or_middle(lo, lo.min_at),
        min_i=lo_i,
        max=_hi(hi),
        max_at=at_or_middle(hi, hi.max_at),
        max_i=hi_i,
        last=last_r.last if last_r.last is not None else last_r.mean,
        last_at=_t(last_r.end),
        last_i=last_i,
        **common,
    )


def _lo(r: Rollup) -> float:
    return float(r.min if r.min is not None else r.mean)  # type: ignore[arg-type]


def _hi(r: Rollup) -> float:
    return float(r.max if r.max is not None else r.mean)  # type: ignore[arg-type]
