"""Statistics over rollups: summaries with times of min/max, swings, constant runs, z-scores.

Pure functions over lists of :class:`~vault_agent.vault.Rollup` (one sensor, sorted by
start). Times are aware UTC datetimes; values are in the rollup's ``unit``.

Per-quantity constants (a quantity is the rollup's ``quantity``, or guessed from its
unit) are in :data:`QUANTITIES`:

- ``sigma``: the smallest standard deviation a z-score divides by. With only a few
  baseline days the spread of hourly means can be near zero, which would make any
  wobble "unusual"; the floor is about a sensor's accuracy (BME280: ±1 °C absolute,
  ±3 % RH, ±1 hPa, Bosch BST-BME280-DS002 §1; SenseAir-class NDIR CO2 ±30 ppm;
  BH1750 ±20 %) scaled to what a person would call a change at all.
- ``swing``: a change within :data:`SWING_SPAN_S` seconds that counts as fast
  (an opened window or heater: 1.5 °C; a room filling with people: 250 ppm CO2;
  lights switched: 300 lux).
- ``decimals``: how values are shown (and rounded in facts); None: 3 significant digits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..query.summary import at_or_middle, is_binary
from ..query.summary import summarize as compute
from ..vault import Rollup
from ..vault.layout import parse_iso

SWING_SPAN_S = 1800.0


@dataclass(frozen=True)
class Quantity:
    """Display and detection constants of one physical quantity (see module docstring)."""

    name: str
    sigma: float
    swing: float | None
    decimals: int | None


QUANTITIES: dict[str, Quantity] = {
    "temperature": Quantity("temperature", 0.3, 1.5, 1),
    "humidity": Quantity("humidity", 2.0, 10.0, 0),
    "pressure": Quantity("pressure", 0.8, 2.0, 1),
    "co2": Quantity("co2", 25.0, 250.0, 0),
    "light": Quantity("light", 15.0, 300.0, 0),
    "sound": Quantity("sound", 0.05, None, 2),
}
ALIASES = {
    "illuminance": "light",
    "lux": "light",
    "carbon_dioxide": "co2",
    "co2_ppm": "co2",
    "relative_humidity": "humidity",
    "rh": "humidity",
    "temp": "temperature",
}
UNIT_QUANTITY = {
    "°c": "temperature",
    "c": "temperature",
    "ppm": "co2",
    "lux": "light",
    "lx": "light",
    "%": "humidity",
    "%rh": "humidity",
    "hpa": "pressure",
}


def quantity_of(r: Rollup) -> Quantity:
    """The :class:`Quantity` of a rollup's sensor (by ``quantity``, else by ``unit``).

    Unknown quantities get a relative floor (see :func:`sigma_floor`) and no swing rule.
    """
    q = (r.quantity or "").lower().replace("-", "_")
    q = ALIASES.get(q, q)
    if q in QUANTITIES:
        return QUANTITIES[q]
    by_unit = UNIT_QUANTITY.get((r.unit or "").lower())
    if by_unit:
        return QUANTITIES[by_unit]
    return Quantity(q or "value", 0.0, None, None)


def sigma_floor(q: Quantity, mean: float) -> float:
    """The smallest stddev a z-score divides by: ``q.sigma``, or 10 % of |mean| (min 0.01)."""
    return q.sigma if q.sigma > 0 else max(0.1 * abs(mean), 0.01)


def fmt(value: float, decimals: int | None) -> str:
    """``value`` rounded to ``decimals`` places (None: 3 significant digits), without ``-0``."""
    if decimals is None:
        decimals = 0 if value == 0 else max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text


def hhmm(t: datetime) -> str:
    """``HH:MM`` (UTC)."""
    return t.strftime("%H:%M")


@dataclass(frozen=True)
class Summary:
    """One sensor over a span: numeric min/mean/max with times, or binary events/on-time.

    ``start``/``end`` span the rollups used; ``windows`` how many; ``count`` readings.
    ``first_event_at``/``last_event_at`` are the starts of the first/last rollup
    window holding an event (a rollup does not record the event's own second).
    """

    sensor: str
    quantity: Quantity
    unit: str
    binary: bool
    start: datetime
    end: datetime
    windows: int
    count: int
    errors: int = 0
    mean: float | None = None
    min: float | None = None
    min_at: datetime | None = None
    max: float | None = None
    max_at: datetime | None = None
    events: int = 0
    on_s: float = 0.0
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None


def summarize(rollups: Sequence[Rollup]) -> Summary | None:
    """Summary of one sensor's rollups; None without readings (or a numeric sensor
    without means). The figures are :func:`vault_agent.query.summary.summarize`'s
    (count-weighted mean, count-0 lines ignored); this only adds the quantity."""
    st = compute(rollups)
    first = next((r for r in rollups if r.count > 0), None)
    if first is None or st.start is None or st.end is None:
        return None
    if not st.binary and st.mean is None:
        return None
    return Summary(
        first.sensor,
        quantity_of(first),
        first.unit,
        st.binary,
        st.start,
        st.end,
        st.windows,
        st.count,
        st.errors,
        mean=st.mean,
        min=st.min,
        min_at=st.min_at,
        max=st.max,
        max_at=st.max_at,
        events=st.events,
        on_s=st.on_s,
        first_event_at=st.first_event_at,
        last_event_at=st.last_event_at,
    )


@dataclass(frozen=True)
class Swing:
    """The largest change within a span: from ``v0`` at ``t0`` to ``v1`` at ``t1``."""

    v0: float
    t0: datetime
    v1: float
    t1: datetime

    @property
    def delta(self) -> float:
        """``v1 - v0`` (signed, in the sensor's unit)."""
        return self.v1 - self.v0


def points(rollups: Sequence[Rollup]) -> list[tuple[datetime, float]]:
    """(time, value) samples of numeric rollups: min and max at their times, else the mean."""
    out: list[tuple[datetime, float]] = []
    for r in rollups:
        if r.count <= 0 or r.mean is None:
            continue
        if r.min is not None and r.max is not None:
            out.append((at_or_middle(r, r.min_at), r.min))
            out.append((at_or_middle(r, r.max_at), r.max))
        else:
            out.append((at_or_middle(r, None), r.mean))
    out.sort(key=lambda p: p[0])
    return out


def largest_swing(rollups: Sequence[Rollup], span_s: float = SWING_SPAN_S) -> Swing | None:
    """The largest |change| between two samples at most ``span_s`` seconds apart (earlier→later)."""
    pts = points(rollups)
    best: Swing | None = None
    span = timedelta(seconds=span_s)
    for i, (t0, v0) in enumerate(pts):
        for t1, v1 in pts[i + 1 :]:
            if t1 - t0 > span:
                break
            if t1 > t0 and (best is None or abs(v1 - v0) > abs(best.delta)):
                best = Swing(v0, t0, v1, t1)
    return best


def constant_run_start(rollups: Sequence[Rollup]) -> tuple[datetime, float] | None:
    """Where the run of identical readings that ends with the last rollup began.

    A numeric rollup is constant when min == max (or stddev == 0); consecutive ones
    belong to the run while they hold the same value. A binary sensor's run is of
    rollups that were on for their whole window. Returns (run start, value) or None
    when the last rollup is not constant.
    """
    live = [r for r in rollups if r.count > 0]
    if not live:
        return None

    def value(r: Rollup) -> float | None:
        if is_binary(r):
            length = (parse_iso(r.end) - parse_iso(r.start)).total_seconds()
            return 1.0 if length > 0 and (r.on_s or 0.0) >= 0.98 * length else None
        lo = r.min if r.min is not None else r.mean
        hi = r.max if r.max is not None else r.mean
        if lo is None or hi is None or hi - lo > 1e-9:
            return None
        return lo

    v = value(live[-1])
    if v is None:
        return None
    start = parse_iso(live[-1].start)
    prev_start = start
    for r in reversed(live[:-1]):
        rv = value(r)
        gap = parse_iso(r.end) < prev_start - timedelta(minutes=30)
        if rv is None or abs(rv - v) > 1e-9 or gap:
            break
        start = prev_start = parse_iso(r.start)
    return start, v


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population standard deviation (0 for fewer than 2 values)."""
    if not values:
        return math.nan, 0.0
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, 0.0
    return m, math.sqrt(sum((x - m) ** 2 for x in values) / len(values))


def zscore(x: float, mean: float, std: float, floor: float) -> float:
    """(x − mean) / max(std, floor)."""
    return (x - mean) / max(std, floor)
