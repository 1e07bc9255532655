"""Notable facts of one observe window, computed by code from rollups and baselines.

A :class:`Fact` is what an observation is about: its numbers are already rounded for
display, its ``confidence`` comes from the statistics (how many baseline days, how
far from usual), never from an LLM. The detectors are listed in one place,
:data:`DETECTORS`, which :func:`window_facts` runs in order for each sensor and window:

- ``level_high`` / ``level_low``: the window's mean is ≥ ``z_threshold`` standard
  deviations from the same interval's mean on past days (numeric sensors);
- ``unusual_event``: events (motion, door) in an interval that had none on any of
  the past days; ``quieter``: no events where most past days had some;
  ``busier``: far more events than usual;
- ``fast_rise`` / ``fast_drop``: a change of at least the quantity's swing within
  30 min, unless such swings are usual at this time (half the past days or more);
- ``silent``: readings in the previous window, none in this one (``read_errors``
  when the window holds only failed reads);
- ``stuck``: the same value (or "on") for ``stuck_s`` seconds, crossed in this
  window, while past days varied over that interval.

Needing at least ``min_baseline_days`` past days, baseline-based detectors say
nothing on a young node rather than guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from ..errors import RecordError
from ..vault import layout
from .baseline import Baseline, hourly_event_days, interval_baseline
from .stats import (
    SWING_SPAN_S,
    Summary,
    constant_run_start,
    fmt,
    hhmm,
    largest_swing,
    sigma_floor,
    summarize,
    zscore,
)
from .store import RollupStore


@dataclass(frozen=True)
class ObserverConfig:
    """node.toml ``[observer]`` (times in seconds)."""

    window_s: int = 3600
    baseline_days: int = 14
    min_baseline_days: int = 2
    z_threshold: float = 3.0
    stuck_s: int = 3 * 3600
    swing_span_s: float = SWING_SPAN_S
    max_facts: int = 3

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, where: str = "node.toml") -> ObserverConfig:
        """Build from a ``[observer]`` table; unknown keys are ignored.

        Raises:
            RecordError: a value that is not a positive number, naming ``where``.
        """
        d = d or {}
        kw: dict[str, Any] = {}
        for name, f in cls.__dataclass_fields__.items():
            if name not in d:
                continue
            try:
                kw[name] = type(f.default)(d[name])
            except (TypeError, ValueError):
                kw[name] = None
            if kw[name] is None or isinstance(d[name], bool) or kw[name] <= 0:
                raise RecordError(
                    where, 0, f"[observer] {name} must be a positive number, got {d[name]!r}"
                )
        return cls(**kw)


@dataclass(frozen=True)
class Fact:
    """One notable, code-computed fact about a sensor in a window.

    ``values`` are display strings (rounded) keyed by name, ``times`` ``HH:MM``
    strings (UTC) and ``dates`` ``YYYY-MM-DD``; together they are the only numbers an
    LLM may state. ``score`` ≥ 1 means notable; higher is more notable.
    """

    kind: str
    sensor: str
    quantity: str
    unit: str
    score: float
    confidence: float
    values: dict[str, str] = field(default_factory=dict)
    times: dict[str, str] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    also: tuple[str, ...] = ()

    @property
    def sensors(self) -> tuple[str, ...]:
        """The sensor and any others merged into this fact (several silent sensors)."""
        return (self.sensor, *self.also)

    def as_dict(self) -> dict[str, Any]:
        """For the observation's ``facts:`` frontmatter."""
        d: dict[str, Any] = {"kind": self.kind, "sensor": self.sensor}
        if self.also:
            d["also"] = list(self.also)
        if self.unit:
            d["unit"] = self.unit
        d.update(self.values)
        d.update(self.times)
        d.update(self.dates)
        return d


def _conf(x: float) -> float:
    return round(max(0.05, min(0.99, x)), 2)


def _base_values(b: Baseline) -> dict[str, str]:
    return {"days": str(b.days)}


def _window_times(start: datetime, end: datetime) -> dict[str, str]:
    return {"from": hhmm(start), "to": hhmm(end)}


def level_fact(
    cur: Summary, b: Baseline, cfg: ObserverConfig, start: datetime, end: datetime
) -> Fact | None:
    """``level_high``/``level_low`` for a numeric sensor, or None."""
    if cur.binary or cur.mean is None or b.days < cfg.min_baseline_days:
        return None
    floor = sigma_floor(cur.quantity, b.level_mean)
    z = zscore(cur.mean, b.level_mean, b.level_std, floor)
    if abs(z) < cfg.z_threshold:
        return None
    dec = cur.quantity.decimals
    strength = min(1.0, abs(z) / (2 * cfg.z_threshold))
    return Fact(
        "level_high" if z > 0 else "level_low",
        cur.sensor,
        cur.quantity.name,
        cur.unit,
        score=abs(z) / cfg.z_threshold,
        confidence=_conf(0.15 + 0.8 * math.sqrt(b.coverage) * strength),
        values={
            "value": fmt(cur.mean, dec),
            "usual": fmt(b.level_mean, dec),
            "z": fmt(z, 1),
            **_base_values(b),
        },
        times=_window_times(start, end),
        files=b.files,
    )


def event_facts(
    cur: Summary | None,
    b: Baseline,
    store: RollupStore,
    cfg: ObserverConfig,
    start: datetime,
    end: datetime,
) -> list[Fact]:
    """``unusual_event`` / ``quieter`` / ``busier`` for a binary sensor."""
    if b.days < cfg.min_baseline_days or cur is None or not cur.binary:
        return []
    out: list[Fact] = []
    sq = math.sqrt(b.coverage)
    base = {**_base_values(b)}
    if cur.events > 0 and b.days_with_events == 0:
        qfrom, qto = quiet_span(store, cur.sensor, start, end, cfg)
        out.append(
            Fact(
                "unusual_event",
                cur.sensor,
                cur.quantity.name,
                cur.unit,
                score=2.0 + min(cur.events, 20) / 10,
                confidence=_conf(0.15 + 0.8 * sq),
                values={"events": str(cur.events), **base},
                times={
                    "first": hhmm(cur.first_event_at or start),
                    "quiet_from": qfrom,
                    "quiet_to": qto,
                    **_window_times(start, end),
                },
                files=b.files,
            )
        )
    elif cur.events == 0 and b.days_with_events >= max(cfg.min_baseline_days, 0.8 * b.days):
        out.append(
            Fact(
                "quieter",
                cur.sensor,
                cur.quantity.name,
                cur.unit,
                score=1.0 + b.days_with_events / max(b.days, 1),
                confidence=_conf(0.1 + 0.7 * sq * b.days_with_events / b.days),
                values={"active_days": str(b.days_with_events), **base},
                times=_window_times(start, end),
                files=b.files,
            )
        )
    elif cur.events > 0 and b.days_with_events > 0:
        z = zscore(cur.events, b.level_mean, b.level_std, max(2.0, 0.5 * b.level_mean))
        if z >= cfg.z_threshold + 1:
            out.append(
                Fact(
                    "busier",
                    cur.sensor,
                    cur.quantity.name,
                    cur.unit,
                    score=z / (cfg.z_threshold + 1),
                    confidence=_conf(0.1 + 0.7 * sq * min(1.0, z / 8)),
                    values={"events": str(cur.events), "usual": fmt(b.level_mean, 0), **base},
                    times=_window_times(start, end),
                    files=b.files,
                )
            )
    return out


def quiet_span(
    store: RollupStore,
    sensor: str,
    start: datetime,
    end: datetime,
    cfg: ObserverConfig,
    max_extend_h: int = 6,
) -> tuple[str, str]:
    """The run of hours around [start, end) with no events on any past day (``HH:00``)."""
    midnight = datetime.combine(start.date(), datetime.min.time(), start.tzinfo)
    events, seen = hourly_event_days(store, sensor, midnight, cfg.baseline_days)
    h0 = start.hour
    h1 = (end - timedelta(seconds=1)).hour
    lo, hi = h0, h1
    while h0 - lo < max_extend_h and events[(lo - 1) % 24] == 0 and seen[(lo - 1) % 24] > 0:
        lo -= 1
    while hi - h1 < max_extend_h and events[(hi + 1) % 24] == 0 and seen[(hi + 1) % 24] > 0:
        hi += 1
    return f"{lo % 24:02d}:00", f"{(hi + 1) % 24:02d}:00"


def swing_fact(sensor: str, rollups: list, b: Baseline, cfg: ObserverConfig) -> Fact | None:
    """``fast_rise``/``fast_drop`` for a numeric sensor, or None (small or usual)."""
    cur = summarize(rollups)
    if cur is None or cur.binary or cur.quantity.swing is None:
        return None
    sw = largest_swing(rollups, cfg.swing_span_s)
    thr = cur.quantity.swing
    if sw is None or abs(sw.delta) < thr:
        return None
    usual_days = 0
    for day_rolls in b.rollups:
        past = largest_swing(list(day_rolls), cfg.swing_span_s)
        if past is not None and abs(past.delta) >= thr and (past.delta > 0) == (sw.delta > 0):
            usual_days += 1
    if b.days >= cfg.min_baseline_days and usual_days >= 0.5 * b.days:
        return None  # swings like this are usual at this time of day
    dec = cur.quantity.decimals
    strength = min(1.0, abs(sw.delta) / (2 * thr))
    cov = math.sqrt(b.coverage) if b.days >= cfg.min_baseline_days else 0.3
    minutes = max(1, round((sw.t1 - sw.t0).total_seconds() / 60))
    return Fact(
        "fast_rise" if sw.delta > 0 else "fast_drop",
        sensor,
        cur.quantity.name,
        cur.unit,
        score=abs(sw.delta) / thr,
        confidence=_conf(0.3 + 0.6 * strength * cov),
        values={
            "from_value": fmt(sw.v0, dec),
            "to_value": fmt(sw.v1, dec),
            "change": fmt(abs(sw.delta), dec),
            "minutes": str(minutes),
            "usual_days": str(usual_days),
            **_base_values(b),
        },
        times={"t0": hhmm(sw.t0), "t1": hhmm(sw.t1)},
        files=b.files,
    )


def silent_fact(
    store: RollupStore, sensor: str, start: datetime, end: datetime, cfg: ObserverConfig
) -> Fact | None:
    """``silent``/``read_errors``: readings in the previous window, none in this one."""
    rolls = store.between(sensor, start, end)
    if any(r.count > 0 for r in rolls):
        return None
    prev = store.between(sensor, start - (end - start), start)
    if not any(r.count > 0 for r in prev):
        return None  # already silent before: reported then
    last = store.last_before(sensor, start)
    last_at = layout.parse_iso(last.end) if last else start
    errors = sum(r.errors for r in rolls)
    unit = prev[-1].unit
    files = tuple(store.files_between(start - (end - start), end))
    times = {"last": hhmm(last_at), **_window_times(start, end)}
    dates = {"last_date": last_at.date().isoformat()} if last_at.date() != start.date() else {}
    if errors:
        return Fact(
            "read_errors",
            sensor,
            prev[-1].quantity,
            unit,
            score=2.0,
            confidence=0.9,
            values={"errors": str(errors)},
            times=times,
            dates=dates,
            files=files,
        )
    return Fact(
        "silent",
        sensor,
        prev[-1].quantity,
        unit,
        score=2.0,
        confidence=0.9,
        times=times,
        dates=dates,
        files=files,
    )


def stuck_fact(
    store: RollupStore, sensor: str, start: datetime, end: datetime, cfg: ObserverConfig
) -> Fact | None:
    """``stuck``: the same reading for ``stuck_s`` seconds, first reached in this window."""
    span = timedelta(seconds=cfg.stuck_s)
    rolls = store.between(sensor, end - span - timedelta(days=1), end)
    run = constant_run_start(rolls)
    if run is None:
        return None
    run_start, value = run
    if end - run_start < span or end - run_start >= span + (end - start):
        return None  # not long enough yet, or already reported in an earlier window
    varied = 0
    days = 0
    for k in range(1, cfg.baseline_days + 1):
        past = store.between(sensor, run_start - timedelta(days=k), end - timedelta(days=k))
        s = summarize(past)
        if s is None:
            continue
        days += 1
        if s.binary:
            varied += constant_run_start(past) is None or s.on_s == 0
        elif s.min is not None and s.max is not None and s.max - s.min > 1e-9:
            varied += 1
    if days < cfg.min_baseline_days or varied < 0.8 * days:
        return None  # it is often this flat then: not a fault
    if _had_long_run(store, sensor, run_start, cfg):
        return None  # it rests flat normally at other hours
    first = rolls[-1]
    cur = summarize(rolls[-1:])
    dec = cur.quantity.decimals if cur else 2
    hours = (end - run_start).total_seconds() / 3600
    binary = cur is not None and cur.binary
    return Fact(
        "stuck_on" if binary else "stuck",
        sensor,
        first.quantity,
        first.unit,
        score=1.5,
        confidence=_conf(0.4 + 0.5 * min(1.0, days / cfg.baseline_days)),
        values={
            "value": fmt(value, dec),
            "hours": fmt(hours, 0 if hours >= 3 else 1),
            "days": str(days),
            "varied_days": str(varied),
        },
        times={"since": hhmm(run_start)},
        files=tuple(store.files_between(run_start, end)),
    )


def _state_facts(
    store: RollupStore, sensor: str, start: datetime, end: datetime, cfg: ObserverConfig
) -> list[Fact]:
    """Level and event facts (states that can last several windows) of one window."""
    cur = summarize(store.between(sensor, start, end))
    if cur is None:
        return []
    b = interval_baseline(store, sensor, start, end, cfg.baseline_days)
    if cur.binary:
        return event_facts(cur, b, store, cfg, start, end)
    f = level_fact(cur, b, cfg, start, end)
    return [f] if f else []


def _merge_silent(facts: list[Fact]) -> list[Fact]:
    """One fact for several sensors that fell silent at the same time."""
    groups: dict[tuple, list[Fact]] = {}
    rest = []
    for f in facts:
        if f.kind == "silent":
            groups.setdefault((tuple(f.times.items()), tuple(f.dates.items())), []).append(f)
        else:
            rest.append(f)
    for fs in groups.values():
        first = fs[0]
        files = tuple(dict.fromkeys(x for f in fs for x in f.files))
        rest.append(
            Fact(
                first.kind,
                first.sensor,
                first.quantity,
                first.unit,
                first.score,
                first.confidence,
                {**first.values, "sensors": str(len(fs))},
                first.times,
                first.dates,
                files,
                tuple(f.sensor for f in fs[1:]),
            )
        )
    return rest


def _had_long_run(store: RollupStore, sensor: str, before: datetime, cfg: ObserverConfig) -> bool:
    """Did ``sensor`` hold one value for ``stuck_s`` seconds at any time in the past days?

    Such a sensor rests flat normally (lights off all night, a CO2 sensor with 5 ppm
    steps in an empty room), so a flat run now is no sign of a fault.
    """
    past = store.between(sensor, before - timedelta(days=cfg.baseline_days), before)
    run_from: datetime | None = None
    run_value: float | None = None
    for r in past:
        lo = r.min if r.min is not None else r.mean
        hi = r.max if r.max is not None else r.mean
        const = r.count > 0 and lo is not None and hi is not None and abs(hi - lo) < 1e-9
        if not const or (run_value is not None and abs(lo - run_value) > 1e-9):
            run_from, run_value = None, None
        if not const:
            continue
        run_value = lo
        t0, t1 = layout.parse_iso(r.start), layout.parse_iso(r.end)
        run_from = run_from or t0
        if (t1 - run_from).total_seconds() >= cfg.stuck_s:
            return True
    return False


def _ongoing(
    store: RollupStore,
    fact: Fact,
    start: datetime,
    end: datetime,
    cfg: ObserverConfig,
    max_back: int = 6,
) -> bool:
    """Was this state already reported in an earlier window (so it is not news)?

    Hysteresis: walking back window by window while the state holds at 2/3 of the
    threshold, it is ongoing if some earlier window reached the full threshold (or
    it has lasted ``max_back`` windows).
    """
    lower = replace(cfg, z_threshold=cfg.z_threshold * 2 / 3)
    w = end - start
    for k in range(1, max_back + 1):
        prev = [
            f
            for f in _state_facts(store, fact.sensor, start - k * w, end - k * w, lower)
            if f.kind == fact.kind
        ]
        if not prev:
            return False
        z = prev[0].values.get("z")
        if z is None or abs(float(z)) >= cfg.z_threshold:
            return True
    return True


@dataclass
class SensorWindow:
    """One sensor over the window [start, end): what every detector looks at.

    ``rollups`` are the window's lines, ``summary`` their summary (None without lines);
    the interval baseline is computed once, when a detector first asks for it.
    """

    store: RollupStore
    sensor: str
    start: datetime
    end: datetime
    cfg: ObserverConfig

    @cached_property
    def rollups(self) -> list:
        """The sensor's rollups in the window."""
        return self.store.between(self.sensor, self.start, self.end)

    @cached_property
    def summary(self) -> Summary | None:
        """:func:`.stats.summarize` of :attr:`rollups`."""
        return summarize(self.rollups)

    @cached_property
    def baseline(self) -> Baseline:
        """The same interval on the past ``baseline_days`` days."""
        return interval_baseline(
            self.store, self.sensor, self.start, self.end, self.cfg.baseline_days
        )


@dataclass(frozen=True)
class Detector:
    """One entry of :data:`DETECTORS`: the fact ``kinds`` it can emit and ``detect``.

    ``needs_readings``: skipped when the window has no lines for the sensor.
    ``exclusive``: when it finds something, the later detectors skip that sensor.
    """

    name: str
    kinds: tuple[str, ...]
    detect: Callable[[SensorWindow], list[Fact]]
    needs_readings: bool = True
    exclusive: bool = False


def _detect_silent(w: SensorWindow) -> list[Fact]:
    f = silent_fact(w.store, w.sensor, w.start, w.end, w.cfg)
    return [f] if f else []


def _detect_states(w: SensorWindow) -> list[Fact]:
    """Level and event facts, less those already reported in an earlier window."""
    if w.summary is None:
        return []
    if w.summary.binary:
        found = event_facts(w.summary, w.baseline, w.store, w.cfg, w.start, w.end)
    else:
        f = level_fact(w.summary, w.baseline, w.cfg, w.start, w.end)
        found = [f] if f else []
    return [f for f in found if not _ongoing(w.store, f, w.start, w.end, w.cfg)]


def _detect_swing(w: SensorWindow) -> list[Fact]:
    if w.summary is None or w.summary.binary:
        return []
    f = swing_fact(w.sensor, w.rollups, w.baseline, w.cfg)
    return [f] if f else []


def _detect_stuck(w: SensorWindow) -> list[Fact]:
    f = stuck_fact(w.store, w.sensor, w.start, w.end, w.cfg)
    return [f] if f else []


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "silent", ("silent", "read_errors"), _detect_silent, needs_readings=False, exclusive=True
    ),
    Detector(
        "states",
        ("level_high", "level_low", "unusual_event", "quieter", "busier"),
        _detect_states,
    ),
    Detector("swing", ("fast_rise", "fast_drop"), _detect_swing),
    Detector("stuck", ("stuck", "stuck_on"), _detect_stuck),
)
"""Every fact detector, in the order they run for a sensor (module doc)."""

FACT_KINDS: tuple[str, ...] = tuple(k for d in DETECTORS for k in d.kinds)
"""Every fact kind a detector can emit."""


def window_facts(
    store: RollupStore, start: datetime, end: datetime, cfg: ObserverConfig
) -> list[Fact]:
    """All notable facts of the window [start, end), most notable first.

    Runs :data:`DETECTORS` for each sensor. A state that was already notable in the
    previous window (the same kind for the same sensor: a whole weekend "lower than
    usual") is reported once, when it starts.
    """
    facts: list[Fact] = []
    for sensor in store.sensors:
        w = SensorWindow(store, sensor, start, end, cfg)
        for d in DETECTORS:
            if d.needs_readings and w.summary is None:
                continue
            found = d.detect(w)
            facts += found
            if found and d.exclusive:
                break
    facts = _merge_silent([f for f in facts if f.score >= 1.0])
    facts.sort(key=lambda f: (-f.score, f.sensor, f.kind))
    return facts
