"""Values the query layer returns (frozen dataclasses) and its errors.

Times are UTC ISO 8601 strings (``2015-02-05T07:35:00Z``); days are ``date`` in the
vault's time zone; values are in the sensor's unit (°C, %RH, lx, ppm…); ``on_s`` in
seconds. A citation is ``<vault path>#L<n>`` (1-based line of a rollup file), or
``<vault path>#L<a>-L<b>`` for the consecutive lines a to b of one file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from ..errors import VaultError
from ..vault.records import Rollup


class UnknownSensorError(VaultError):
    """No sensor matches the name given ("no sensor called X; known: a, b, …")."""


class AmbiguousSensorError(UnknownSensorError):
    """A name that matches several sensors (the message lists them)."""


class NoDataError(VaultError):
    """The sensor has no rollup lines in the period asked (the message says what it covers)."""


class QueryError(VaultError):
    """A bad query parameter or SQL statement (one line naming the problem)."""


def shallow_dict(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict in field order, tuples as lists (no deep copy, and
    read from the instance ``__dict__``: fast for long series). For the dataclasses of this
    module, whose ``__dict__`` holds exactly their fields."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in obj.__dict__.items()}


def cite(path: str, line: int, last: int | None = None) -> str:
    """``path#L<line>``, or ``path#L<line>-L<last>`` for a range of lines."""
    return f"{path}#L{line}" if last is None or last == line else f"{path}#L{line}-L{last}"


@dataclass(frozen=True)
class SensorInfo:
    """A sensor known to the vault (from node.toml and/or its rollup lines).

    ``key`` is ``node/id`` (unique in the vault); ``id`` is unique on its node.
    ``first_day``/``last_day`` are the days (vault time zone) with lines, None if none.
    """

    node: str
    id: str
    quantity: str
    unit: str
    name: str = ""
    room: str = ""
    aliases: tuple[str, ...] = ()
    binary: bool = False
    first_day: date | None = None
    last_day: date | None = None

    @property
    def key(self) -> str:
        """``node/id``."""
        return f"{self.node}/{self.id}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (days as ``YYYY-MM-DD``)."""
        d = asdict(self)
        d["aliases"] = list(self.aliases)
        d["first_day"] = self.first_day.isoformat() if self.first_day else None
        d["last_day"] = self.last_day.isoformat() if self.last_day else None
        d["key"] = self.key
        return d


@dataclass(frozen=True)
class Line:
    """One parsed rollup line with where it is: ``path`` (vault path), ``line`` (1-based)."""

    path: str
    line: int
    rollup: Rollup

    @property
    def cite(self) -> str:
        """``path#L<line>``."""
        return cite(self.path, self.line)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the line's fields plus ``path``, ``line``, ``cite``."""
        d = {k: v for k, v in asdict(self.rollup).items() if v is not None}
        return {**d, "path": self.path, "line": self.line, "cite": self.cite}


@dataclass(frozen=True)
class Point:
    """One bucket of a series: ``t`` is the bucket start (UTC ISO 8601), ``end`` its end.

    ``value`` is the aggregate asked for (``agg``); the other fields are all computed.
    ``cites`` are the lines that hold the value (the extreme's or the last line for
    min/max/last; the bucket's lines, as ranges, otherwise).
    """

    t: str
    end: str
    agg: str
    value: float | None
    count: int
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    last: float | None = None
    sum: float | None = None
    on_s: float | None = None
    events: int | None = None
    cites: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return shallow_dict(self)


POINT_FIELDS = tuple(f.name for f in fields(Point))


def make_point(*values: Any) -> Point:
    """``Point(*values)`` (all 13 fields, in order) without the frozen dataclass's
    ``object.__setattr__`` per field: the same, equal object at half the cost, for series
    of thousands of points. Point has no ``__post_init__`` to skip."""
    p = object.__new__(Point)
    p.__dict__.update(zip(POINT_FIELDS, values, strict=True))
    return p


@dataclass(frozen=True)
class DaySummary:
    """One sensor's day in the vault's time zone (``day``), from :func:`summary.summarize`.

    Numeric sensors: count-weighted ``mean``, ``min``/``max`` with their times and
    citations, ``last``. Binary: ``events``, ``on_s`` (seconds), first/last event
    window starts. ``windows`` lines with readings, ``lines`` all lines, ``count``
    readings, ``errors`` failed reads.
    """

    node: str
    sensor: str
    day: date
    quantity: str
    unit: str
    binary: bool
    lines: int
    windows: int
    count: int
    errors: int = 0
    start: str | None = None
    end: str | None = None
    mean: float | None = None
    min: float | None = None
    min_at: str | None = None
    min_cite: str | None = None
    max: float | None = None
    max_at: str | None = None
    max_cite: str | None = None
    last: float | None = None
    last_at: str | None = None
    events: int = 0
    on_s: float = 0.0
    first_event_at: str | None = None
    last_event_at: str | None = None
    cites: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = shallow_dict(self)
        d["day"] = self.day.isoformat()
        return d


@dataclass(frozen=True)
class Interval:
    """A binary sensor's on-interval [start, end) (UTC ISO 8601), built from consecutive
    windows with on-time; ``on_s`` seconds on within it, ``events`` off→on transitions.

    Rollups keep on-time per window, not the second of each switch: ``start`` is the
    start of the first window with on-time, ``end`` the end of the last one.
    """

    start: str
    end: str
    on_s: float
    events: int
    cites: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return shallow_dict(self)


@dataclass(frozen=True)
class Span:
    """A run of adjacent rollup windows [start, end) (UTC ISO 8601) where a threshold was
    crossed; ``peak`` is the highest (above) or lowest (below) value in it, ``peak_at``
    when, ``cite`` its line; ``windows`` how many windows the run holds."""

    start: str
    end: str
    peak: float
    peak_at: str
    cite: str
    windows: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class PeriodStat:
    """One side of a :class:`Comparison`: a statistic over a period.

    ``spans`` are the period's [since, until) spans as UTC ISO 8601 pairs (one per day
    for "the nights of a week"); ``value`` is in the sensor's unit (``on_s`` in seconds,
    ``events``/``count`` a number) or None when no line in the period has readings;
    ``count`` the readings; ``at`` the UTC time of a min/max; ``cites`` the lines (min/max:
    the extreme's line; otherwise a range per file).
    """

    spans: tuple[tuple[str, str], ...]
    value: float | None
    count: int
    at: str | None = None
    cites: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**shallow_dict(self), "spans": [list(s) for s in self.spans]}


@dataclass(frozen=True)
class Comparison:
    """The same statistic (``stat``) of one sensor over two periods ``a`` and ``b``.

    ``unit`` is the value's unit (``s`` for on_s, empty for events/count).
    :attr:`difference` is ``a.value - b.value`` (None when either period has no data).
    """

    sensor: str
    node: str
    stat: str
    unit: str
    a: PeriodStat
    b: PeriodStat

    @property
    def difference(self) -> float | None:
        """``a.value - b.value`` in ``unit``; None when a period has no readings."""
        if self.a.value is None or self.b.value is None:
            return None
        return self.a.value - self.b.value

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``difference`` included)."""
        return {
            "sensor": self.sensor, "node": self.node, "stat": self.stat, "unit": self.unit,
            "a": self.a.as_dict(), "b": self.b.as_dict(), "difference": self.difference,
        }  # fmt: skip


@dataclass(frozen=True)
class Fact:
    """One computed value with when it happened and the line that holds it.

    ``kind`` names the statistic (``max``, ``min``); ``at`` is a UTC ISO 8601 time.
    """

    sensor: str
    node: str
    kind: str
    value: float
    unit: str
    at: str
    cite: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ObservationInfo:
    """An observation's frontmatter: ``path`` (vault path), ``node``, ``kind``, ``title``,
    ``text`` (the body), ``created`` and the window ``start``/``end`` (UTC ISO 8601),
    ``sensors`` and ``day`` (the day it is about, vault time zone)."""

    path: str
    node: str
    kind: str
    title: str
    text: str
    created: str
    start: str | None
    end: str | None
    sensors: tuple[str, ...]
    day: date | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["sensors"] = list(self.sensors)
        d["day"] = self.day.isoformat() if self.day else None
        return d


@dataclass(frozen=True)
class BadLine:
    """A rollup line the query layer skipped: ``path``, 1-based ``line``, the ``problem``."""

    path: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"
