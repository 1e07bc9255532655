"""Run a sensor :class:`~.plan.Plan` against the query layer: facts with citations.

Every number comes from :func:`vault_agent.query.summary.summarize` over the rollup
lines of the period asked (the one computation of the vault's statistics); every fact
carries the lines that hold it (``agents/office/sensors/2015/02/2015-02-05.jsonl#L148``).
A period with no lines gives a no-data answer naming what the sensor covers, never a
value from another day.

Rules (docs/ask.md):

- a period is each day of the plan's days, cut to its part of day (night: 22:00 of the
  day to 06:00 of the next) in the vault's time zone; a window belongs to it when its
  start is inside;
- extremes carry the time of the reading (``max_at``/``min_at``); means are
  count-weighted; a value ``at HH:MM`` is the mean of the rollup window holding it;
- "which day" ranks days by their daily mean (binary sensors: on-time); "warmer than"
  compares the periods' means (binary sensors: on-time) through the query layer's
  ``Store.compare``; "above N" asks whether the period's max exceeded N;
- motion "when" lists runs of windows with on-time (rollups keep on-time per window,
  not the second of each switch); the light "went on" in the first window whose max
  reached :data:`~.plan.LIGHT_ON_LX`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from .plan import LIGHT_ON_LX, Plan
from .when import DayRange

MAX_SENSORS = 4  # a question naming a whole room answers for at most this many sensors
MAX_INTERVALS = 8  # motion runs listed before "and N more"


@dataclass(frozen=True)
class Fact:
    """One computed figure: ``kind`` (max, min, mean, value, events, on_s, first, last,
    interval, day, compare, threshold), ``value`` in ``unit`` (on_s in seconds), ``at``
    the UTC ISO 8601 time it refers to (None for a period), ``cites`` the lines."""

    sensor: str
    kind: str
    value: float | None
    unit: str
    at: str | None = None
    end: str | None = None
    day: str | None = None
    cites: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "sensor": self.sensor,
            "kind": self.kind,
            "value": self.value,
            "unit": self.unit,
            "at": self.at,
            "end": self.end,
            "day": self.day,
            "cites": list(self.cites),
        }


@dataclass
class Computed:
    """The answer of a sensor plan: the templated ``sentence``, the facts, a yes/no
    ``verdict`` when the question asks one, ``no_data`` when a period had no lines, and
    what the phrasing may state (``values``, ``times`` HH:MM, ``dates``)."""

    sentence: str
    facts: list[Fact] = field(default_factory=list)
    verdict: bool | None = None
    no_data: bool = False
    values: list[float] = field(default_factory=list)
    times: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    tz: str = "UTC"

    @property
    def cites(self) -> list[str]:
        """Every citation, in fact order, without repeats."""
        return list(dict.fromkeys(c for f in self.facts for c in f.cites))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "sentence": self.sentence,
            "verdict": self.verdict,
            "no_data": self.no_data,
            "timezone": self.tz,
            "facts": [f.as_dict() for f in self.facts],
            "cites": self.cites,
        }


class _Ctx:
    """The store, the plan and helpers for local times."""

    def __init__(self, store: Any, plan: Plan) -> None:
        self.store, self.plan, self.tz = store, plan, store.tz

    def local(self, iso: str | datetime) -> datetime:
        from ..vault.layout import parse_iso

        t = parse_iso(iso) if isinstance(iso, str) else iso
        return t.astimezone(self.tz)

    def hm(self, iso: str | datetime) -> str:
        return f"{self.local(iso):%H:%M}"

    def at_time(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def spans(self, days: DayRange) -> list[tuple[datetime, datetime, date]]:
        """(start, end, day) of each period: the days cut to the part of day."""
        out = []
        d = days.since
        while d <= days.until:
            if self.plan.part is None:
                out.append((self.at_time(d, time(0)), self.at_time(d + timedelta(1), time(0)), d))
            else:
                a, b = self.plan.part
                end_day = d + timedelta(1) if b <= a else d
                out.append((self.at_time(d, a), self.at_time(end_day, b), d))
            d += timedelta(1)
        return out

    def periods(self, days: DayRange) -> list[tuple[datetime, datetime]]:
        """The spans of :meth:`spans` as a query-layer period."""
        return [(a, b) for a, b, _ in self.spans(days)]

    def lines(self, info: Any, days: DayRange) -> list[Any]:
        out: list[Any] = []
        for a, b, _ in self.spans(days):
            out += self.store.lines(info, a, b)
        return out


def _fmt(x: float, unit: str = "") -> str:
    """A value as stated in answers: up to 2 decimals, no trailing zeros, then the unit."""
    s = f"{x:.2f}".rstrip("0").rstrip(".") if abs(x) < 1000 else f"{x:.0f}"
    if s == "-0":
        s = "0"
    return f"{s} {unit}".strip()


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 90:
        return f"{_fmt(minutes)} minutes"
    return f"{_fmt(minutes / 60)} hours ({_fmt(minutes)} minutes)"


def _period(ctx: _Ctx, days: DayRange) -> str:
    """``on 2015-02-05 between 22:00 and 06:00`` (the words for a period)."""
    when = f"on {days.since}" if days.since == days.until else f"from {days.since} to {days.until}"
    p = ctx.plan.part
    if p:
        return f"{when} between {p[0]:%H:%M} and {p[1]:%H:%M}"
    return when


def _covered_days(info: Any, days: DayRange | None) -> DayRange | None:
    if days is not None:
        return days
    if info.first_day and info.last_day:
        return DayRange(info.first_day, info.last_day, "all data")
    return None


def no_data_sentence(ctx: _Ctx, info: Any, days: DayRange | None) -> str:
    """ "No data for office-temperature on 2015-03-01; the office's data covers … ."""
    where = _period(ctx, days) if days else "at all"
    cov = (
        f"the {info.node} node's data covers {info.first_day} … {info.last_day}"
        if info.first_day
        else f"{info.node} has no {info.id} lines"
    )
    return f"No data for {info.id} {where}; {cov}."


def compute(plan: Plan, store: Any) -> Computed:
    """The facts answering ``plan`` (kind ``sensor``), one sentence per sensor.

    Raises:
        vault_agent.query.UnknownSensorError: a sensor of the plan is not in the vault.
    """
    ctx = _Ctx(store, plan)
    if plan.stat == "unknown":
        known = ", ".join(sorted({s.id for s in store.sensors()}))
        return Computed(f"No sensor called {plan.unknown}; known: {known}.", no_data=True)
    out = Computed("", tz=str(getattr(store.tz, "key", store.tz)))
    sentences = []
    for node, sid in plan.sensors[:MAX_SENSORS]:
        info = store.resolve(f"{node}/{sid}")
        part = _one(ctx, info, out)
        sentences.append(part)
    out.sentence = " ".join(sentences)
    if plan.part or any(f.at for f in out.facts):
        answered = {f.sensor for f in out.facts}
        nodes = sorted({n for n, sid in plan.sensors[:MAX_SENSORS] if sid in answered})
        out.sentence += f" ({times_note(store.root, nodes, out.tz)})"
    return out


def times_note(root: Any, nodes: Sequence[str], tz: str) -> str:
    """ "Times in UTC." — or, for a node replayed with local times read as UTC, the clock
    they are really on (:func:`vault_agent.sensors.replay.clock_note`, from node.toml)."""
    import tomllib
    from pathlib import Path

    from ..sensors.replay import clock_note
    from ..vault import layout

    notes: dict[str, str] = {}
    for node in nodes:
        try:
            cfg = tomllib.loads((Path(root) / layout.node_toml(node)).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        note = clock_note(cfg)
        if note:
            notes[node] = note
    if not notes:
        return f"Times in {tz}."
    if tz == "UTC" and len(notes) == len(nodes) and len(set(notes.values())) == 1:
        return f"Times are {next(iter(notes.values()))}."
    each = "; ".join(f"{n}'s are {t}" for n, t in notes.items())
    if tz == "UTC":
        return f"Times in UTC; {each}."
    # the vault's zone converts what is stored; a local clock stored as UTC shifts with it
    return f"Times in {tz}, converted from the stored times; {each}, stored as if UTC."


def _one(ctx: _Ctx, info: Any, out: Computed) -> str:
    plan = ctx.plan
    days = _covered_days(info, plan.days)
    if days is None:
        out.no_data = True
        return no_data_sentence(ctx, info, plan.days)
    out.dates.update({days.since.isoformat(), days.until.isoformat()})
    if plan.part:
        out.times.update(f"{t:%H:%M}" for t in plan.part)
    if plan.stat == "which_day":
        return _which_day(ctx, info, days, out)
    if plan.stat == "compare" and plan.days2 is not None:
        return _compare(ctx, info, days, plan.days2, out)
    if plan.stat == "value_at" and plan.at is not None:
        return _value_at(ctx, info, days, plan.at, out)
    lines = ctx.lines(info, days)
    from ..query.summary import summarize

    st = summarize([ln.rollup for ln in lines], binary=info.binary)
    if st.empty:
        out.no_data = True
        return no_data_sentence(ctx, info, days)
    if info.binary:
        return _binary(ctx, info, days, lines, st, out)
    return _numeric(ctx, info, days, lines, st, out)


def _add(out: Computed, fact: Fact, *values: float) -> None:
    out.facts.append(fact)
    out.values.extend(v for v in values if v is not None)


def _numeric(
    ctx: _Ctx, info: Any, days: DayRange, lines: Sequence[Any], st: Any, out: Computed
) -> str:
    from ..query.store import cite_ranges

    plan, u, name = ctx.plan, info.unit, info.id
    period = _period(ctx, days)
    multi = days.since != days.until

    def when(iso: datetime) -> str:
        loc = ctx.local(iso)
        out.times.add(f"{loc:%H:%M}")
        out.dates.add(loc.date().isoformat())
        return f"on {loc.date()} at {loc:%H:%M}" if multi or plan.part else f"at {loc:%H:%M}"

    if plan.stat in ("max", "min", "when"):
        which = "min" if plan.stat == "min" else "max"
        value = st.min if which == "min" else st.max
        at = st.min_at if which == "min" else st.max_at
        i = st.min_i if which == "min" else st.max_i
        _add(out, Fact(name, which, value, u, at.isoformat(), cites=(lines[i].cite,)), value)
        word = "lowest" if which == "min" else "highest"
        return f"The {word} {name} {period} was {_fmt(value, u)} {when(at)}."
    if plan.stat == "threshold" and plan.threshold is not None:
        n = plan.threshold
        above = plan.direction != "below"
        value = st.max if above else st.min
        at = st.max_at if above else st.min_at
        i = st.max_i if above else st.min_i
        yes = value > n if above else value < n
        out.verdict = yes
        out.values.append(n)
        _add(
            out,
            Fact(name, "max" if above else "min", value, u, at.isoformat(), cites=(lines[i].cite,)),
            value,
        )
        word = "above" if above else "below"
        peak = "highest" if above else "lowest"
        verdict = "Yes" if yes else "No"
        return (
            f"{verdict}: {name} {'went' if yes else 'did not go'} {word} {_fmt(n, u)} {period}; "
            f"its {peak} was {_fmt(value, u)} {when(at)}."
        )
    if plan.stat in ("first", "last") and info.quantity == "illuminance":
        return _light_on(ctx, info, days, lines, out)
    if plan.stat in ("first", "last"):
        ln = lines[0] if plan.stat == "first" else lines[-1]
        v = ln.rollup.mean
        _add(out, Fact(name, plan.stat, v, u, ln.rollup.start, ln.rollup.end, cites=(ln.cite,)), v)
        return (
            f"The {plan.stat} {name} reading {period} was {_fmt(v, u)}, in the window "
            f"{ctx.hm(ln.rollup.start)}–{ctx.hm(ln.rollup.end)}."
        ) + _mark_times(out, ctx, ln.rollup.start, ln.rollup.end)
    # mean (and any other statistic of a numeric sensor): the period's summary
    _add(out, Fact(name, "mean", st.mean, u, cites=cite_ranges(lines)), st.mean)
    _add(
        out,
        Fact(name, "min", st.min, u, st.min_at.isoformat(), cites=(lines[st.min_i].cite,)),
        st.min,
    )
    _add(
        out,
        Fact(name, "max", st.max, u, st.max_at.isoformat(), cites=(lines[st.max_i].cite,)),
        st.max,
    )
    lo, hi = when(st.min_at), when(st.max_at)
    out.values.append(st.count)
    return (
        f"The average {name} {period} was {_fmt(st.mean, u)} "
        f"(lowest {_fmt(st.min, u)} {lo}, highest {_fmt(st.max, u)} {hi}; {st.count} readings)."
    )


def _mark_times(out: Computed, ctx: _Ctx, *isos: str) -> str:
    out.times.update(ctx.hm(t) for t in isos)
    return ""


def _place(info: Any) -> str:
    """Where a sensor is, in words: "the office", "the room (room-s1)", or the node."""
    room = getattr(info, "room", "")
    if not room:
        return info.node
    return f"the {room}" if room == info.node else f"the {room} ({info.node})"


def _light_on(ctx: _Ctx, info: Any, days: DayRange, lines: Sequence[Any], out: Computed) -> str:
    on = [ln for ln in lines if (ln.rollup.max if ln.rollup.max is not None else -1) >= LIGHT_ON_LX]
    period = _period(ctx, days)
    out.values.append(LIGHT_ON_LX)
    if not on:
        out.verdict = False
        lim = _fmt(LIGHT_ON_LX, "lx")
        return f"The light in {_place(info)} did not reach {lim} {period} ({info.id})."
    ln = on[0] if ctx.plan.stat == "first" else on[-1]
    r = ln.rollup
    _add(
        out, Fact(info.id, ctx.plan.stat, r.max, info.unit, r.start, r.end, cites=(ln.cite,)), r.max
    )
    _mark_times(out, ctx, r.start, r.end)
    out.dates.add(ctx.local(r.start).date().isoformat())
    word = "first went on" if ctx.plan.stat == "first" else "was last on"
    day = ctx.local(r.start).date()
    return (
        f"The light in {_place(info)} {word} in the window "
        f"{ctx.hm(r.start)}–{ctx.hm(r.end)} on {day} "
        f"({info.id} reached {_fmt(r.max, info.unit)}; 'on' means ≥ {_fmt(LIGHT_ON_LX, 'lx')})."
    )


def _binary(
    ctx: _Ctx, info: Any, days: DayRange, lines: Sequence[Any], st: Any, out: Computed
) -> str:
    from ..query.store import cite_ranges

    plan, name = ctx.plan, info.id
    period = _period(ctx, days)
    active = [ln for ln in lines if (ln.rollup.on_s or 0) > 0 or (ln.rollup.events or 0) > 0]
    if plan.stat == "count":
        _add(out, Fact(name, "events", float(st.events), "", cites=cite_ranges(lines)), st.events)
        return f"{name} counted {st.events} motion events {period}."
    if plan.stat == "duration":
        _add(out, Fact(name, "on_s", st.on_s, "s", cites=cite_ranges(active or lines)), st.on_s)
        out.values += [st.on_s / 60, st.on_s / 3600]
        return f"{name} saw motion for {_duration(st.on_s)} in total {period}."
    if plan.stat in ("first", "last"):
        if not active:
            out.verdict = False
            return f"No motion {period} ({name})."
        ln = active[0] if plan.stat == "first" else active[-1]
        r = ln.rollup
        _add(out, Fact(name, plan.stat, r.on_s, "s", r.start, r.end, cites=(ln.cite,)))
        _mark_times(out, ctx, r.start, r.end)
        out.dates.add(ctx.local(r.start).date().isoformat())
        day = f" on {ctx.local(r.start).date()}" if days.since != days.until else ""
        window = f"{ctx.hm(r.start)}–{ctx.hm(r.end)}"
        return f"The {plan.stat} motion {period} ({name}) was{day} in the window {window}."
    # when / any: the runs of windows with motion. A yes/no question ("was there…") gets
    # a verdict first; a when-question gets the times (and "no motion" when none, kept
    # as a False verdict so an LLM phrasing may not turn it into a time).
    runs = []
    for a, b, _ in ctx.spans(days):
        runs += ctx.store.intervals(info, a, b)
    yes_no = plan.stat != "when"
    out.verdict = bool(runs) if yes_no or not runs else None
    if not runs:
        _add(out, Fact(name, "any", 0.0, "", cites=cite_ranges(lines)))
        lead = "No: " if yes_no else ""
        return f"{lead}{name} saw no motion {period} ({st.count} readings, none on)."
    parts = []
    for iv in runs[:MAX_INTERVALS]:
        _add(out, Fact(name, "interval", iv.on_s, "s", iv.start, iv.end, cites=iv.cites))
        _mark_times(out, ctx, iv.start, iv.end)
        d0 = ctx.local(iv.start).date()
        out.dates.add(d0.isoformat())
        day = f"{d0} " if days.since != days.until or ctx.plan.part else ""
        parts.append(f"{day}{ctx.hm(iv.start)}–{ctx.hm(iv.end)}")
    more = f" and {len(runs) - MAX_INTERVALS} more" if len(runs) > MAX_INTERVALS else ""
    out.values += [len(runs), st.events, st.on_s / 60]
    lead = "Yes: " if yes_no else ""
    return f"{lead}{name} saw motion {period} in {len(runs)} period(s): {', '.join(parts)}{more}."


def _day_value(info: Any, s: Any) -> float:
    """A day's rank value: on-time (s) of a binary sensor, else the mean."""
    return float(s.on_s if info.binary else s.mean)


def _which_day(ctx: _Ctx, info: Any, days: DayRange, out: Computed) -> str:
    sums = [s for s in ctx.store.day_summaries(info, days.since, days.until) if s.windows]
    if ctx.plan.part is not None:  # a part of day: rank the parts, not whole days
        from ..query.summary import summarize

        sums = []
        for a, b, d in ctx.spans(days):
            ls = ctx.store.lines(info, a, b)
            st = summarize([ln.rollup for ln in ls], binary=info.binary)
            if not st.empty:
                sums.append(_PartDay(d, st.mean, st.on_s, st.windows, tuple(ln.cite for ln in ls)))
    if not sums:
        out.no_data = True
        return no_data_sentence(ctx, info, days)
    lo = ctx.plan.direction == "min"
    best = (min if lo else max)(sums, key=lambda s: _day_value(info, s))
    v = _day_value(info, best)
    measure = "motion time" if info.binary else "daily mean"
    word = {True: "lowest", False: "highest"}[lo]
    for s in sums:
        out.dates.add(s.day.isoformat())
        out.values.append(_day_value(info, s))
    _add(
        out,
        Fact(
            info.id,
            "day",
            v,
            "s" if info.binary else info.unit,
            day=best.day.isoformat(),
            cites=tuple(best.cites),
        ),
    )
    shown = _duration(v) if info.binary else _fmt(v, info.unit)
    return (
        f"{best.day} had the {word} {measure} of {info.id} ({shown}) "
        f"among {len(sums)} day(s) with data from {days.since} to {days.until}."
    )


@dataclass(frozen=True)
class _PartDay:
    day: date
    mean: float | None
    on_s: float
    windows: int
    cites: tuple[str, ...]


def _compare(ctx: _Ctx, info: Any, a: DayRange, b: DayRange, out: Computed) -> str:
    """Two periods' means (binary sensors: on-time) from the query layer's comparison."""
    cmp = ctx.store.compare(info, ctx.periods(a), ctx.periods(b))
    for days, side in ((a, cmp.a), (b, cmp.b)):
        if side.value is None:
            out.no_data = True
            return no_data_sentence(ctx, info, days)
        out.dates.update({days.since.isoformat(), days.until.isoformat()})
        _add(
            out,
            Fact(
                info.id,
                cmp.stat,
                side.value,
                info.unit,
                day=days.since.isoformat(),
                cites=side.cites,
            ),
            side.value,
        )
    higher = ctx.plan.direction != "min"
    diff = cmp.difference
    assert diff is not None
    yes = diff > 0 if higher else diff < 0
    out.verdict = yes
    word = "lower" if ctx.plan.direction == "min" else "higher"
    u = info.unit
    return (
        f"{'Yes' if yes else 'No'}: the mean {info.id} {_period(ctx, a)} was "
        f"{_fmt(cmp.a.value, u)}, {_period(ctx, b)} {_fmt(cmp.b.value, u)} "
        f"({'so' if yes else 'not'} {word})."
    )


def _value_at(ctx: _Ctx, info: Any, days: DayRange, at: time, out: Computed) -> str:
    from ..vault.layout import parse_iso

    parts = []
    for d in [days.since + timedelta(i) for i in range((days.until - days.since).days + 1)]:
        t = ctx.at_time(d, at)
        cands = [
            ln
            for ln in ctx.store.lines(info, t - timedelta(hours=1), t + timedelta(seconds=1))
            if parse_iso(ln.rollup.start) <= t < parse_iso(ln.rollup.end) and ln.rollup.count > 0
        ]
        if not cands:
            continue
        ln = cands[0]
        r = ln.rollup
        v = float(r.mean) if r.mean is not None else float(r.on_s or 0.0)
        _add(
            out,
            Fact(
                info.id,
                "value",
                v,
                info.unit if r.mean is not None else "s",
                r.start,
                r.end,
                day=d.isoformat(),
                cites=(ln.cite,),
            ),
            v,
        )
        _mark_times(out, ctx, r.start, r.end)
        out.times.add(f"{at:%H:%M}")
        shown = _fmt(v, info.unit) if r.mean is not None else f"motion for {_fmt(v)} s"
        parts.append(
            f"At {at:%H:%M} on {d} {info.id} was {shown} "
            f"(mean of the {ctx.hm(r.start)}–{ctx.hm(r.end)} window)."
        )
    if not parts:
        out.no_data = True
        return no_data_sentence(ctx, info, DayRange(days.since, days.until, days.phrase)).replace(
            f"No data for {info.id} ", f"No data for {info.id} at {at:%H:%M} "
        )
    return " ".join(parts)
