"""Baselines: the same clock interval on each of the past N days (default 14).

For an observe window 02:00–03:00 on day D the baseline is 02:00–03:00 on days
D−N … D−1, taken from the node's rollup files only. A day counts when the sensor has
readings in that interval; fewer days mean a weaker baseline (lower confidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..vault import Rollup
from .stats import Summary, mean_std, summarize
from .store import RollupStore

DEFAULT_DAYS = 14


@dataclass(frozen=True)
class Baseline:
    """One sensor's interval on past days.

    Attributes:
        days_requested: N.
        summaries: one :class:`Summary` per past day with readings, oldest first.
        rollups: those days' rollups, aligned with ``summaries``.
        level_mean, level_std: over days, of the interval's mean (numeric) or event
            count (binary).
        days_with_events: binary sensors: days with at least one event in the interval.
        files: rollup file paths the baseline read.
    """

    sensor: str
    days_requested: int
    summaries: tuple[Summary, ...]
    rollups: tuple[tuple[Rollup, ...], ...]
    level_mean: float
    level_std: float
    days_with_events: int
    files: tuple[str, ...]

    @property
    def days(self) -> int:
        """Past days with readings in the interval."""
        return len(self.summaries)

    @property
    def coverage(self) -> float:
        """days / days_requested, in [0, 1]."""
        if not self.days_requested:
            return 0.0
        return min(self.days, self.days_requested) / self.days_requested


def interval_baseline(
    store: RollupStore, sensor: str, start: datetime, end: datetime, n_days: int = DEFAULT_DAYS
) -> Baseline:
    """The baseline of ``sensor`` for the interval [start, end) over the past ``n_days`` days."""
    sums: list[Summary] = []
    rolls: list[tuple[Rollup, ...]] = []
    files: list[str] = []
    for k in range(n_days, 0, -1):
        t0, t1 = start - timedelta(days=k), end - timedelta(days=k)
        rs = store.between(sensor, t0, t1)
        s = summarize(rs)
        if s is None:
            continue
        sums.append(s)
        rolls.append(tuple(rs))
        files += [f for f in store.files_between(t0, t1) if f not in files]
    if sums and sums[0].binary:
        levels = [float(s.events) for s in sums]
    else:
        levels = [s.mean for s in sums if s.mean is not None]
    m, sd = mean_std(levels)
    return Baseline(
        sensor,
        n_days,
        tuple(sums),
        tuple(rolls),
        m,
        sd,
        sum(1 for s in sums if s.binary and s.events > 0),
        tuple(files),
    )


def hourly_event_days(
    store: RollupStore, sensor: str, day_start: datetime, n_days: int = DEFAULT_DAYS
) -> tuple[list[int], list[int]]:
    """Per hour of day (0–23, UTC): (days with events, days with readings) over past days.

    ``day_start`` is midnight UTC of the day being observed; the ``n_days`` before it count.
    """
    by_dh: dict[tuple[object, int], int] = {}
    for p in store.points_between(sensor, day_start - timedelta(days=n_days), day_start):
        if p.rollup.count <= 0:
            continue
        key = (p.start.date(), p.start.hour)
        by_dh[key] = by_dh.get(key, 0) + (p.rollup.events or 0)
    events, seen = [0] * 24, [0] * 24
    for (_, h), ev in by_dh.items():
        seen[h] += 1
        events[h] += ev > 0
    return events, seen
