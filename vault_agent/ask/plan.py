"""The question planner: a deterministic parser from an everyday question to a :class:`Plan`.

Invariant: the parser never reads files or calls a model. It sees the question, the
vault's sensor vocabulary (:class:`Vocab` entries: node, sensor id, quantity, name,
room, aliases, first/last day with data) and today's date in the vault's time zone,
and returns what to compute. ``ask.facts`` runs the plan against the query layer.

What it reads (docs/ask.md lists the forms with examples):

- **subject**: node names, rooms, aliases, sensor ids and names, and quantity words
  (temperature/warm/cold, humidity, light/bright/dark, CO2/air, motion/someone,
  sound/noise, pressure). A quantity nobody measures gives an ``unknown`` subject;
- **dates** (:mod:`.when`): ``2015-02-05``, ``Feb 5``, ``5 February 2015``,
  ``Christmas day``, weekdays, ``yesterday``, ``last week``…; a comparison takes two;
- **part of day**: ``at night`` (22:00–06:00, the night that begins on the day),
  ``in the morning`` (06–12), ``afternoon`` (12–18), ``evening`` (18–22),
  ``between 2 and 4 am``, ``from 09:00 to 11:30``, ``after 6 pm``, ``before 8 am``;
- **statistic**: highest/lowest/average/total, how many hours/minutes, how many
  times, first/last, when, value ``at HH:MM``, which day, warmer/colder than, above/
  below N, was there…
- **observation** questions ("what did the office node notice on Feb 5") and
  everything else go to text retrieval (``kind="text"``), with the dates and node
  found here as filters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from typing import Protocol

from .when import DayRange, find_days

# Quantity words → the ``quantity`` of rollup lines (sensors/replay.py names).
QUANTITY_WORDS: dict[str, tuple[str, ...]] = {
    "temperature": (
        "temperature",
        "temperatures",
        "temp",
        "warm",
        "warmer",
        "warmest",
        "cold",
        "colder",
        "coldest",
        "hot",
        "hotter",
        "hottest",
        "cool",
        "cooler",
        "coolest",
        "°c",
        "degrees",
    ),
    "humidity": ("humidity", "humid", "damp", "dry", "driest", "%rh"),
    "illuminance": ("light", "lights", "lux", "bright", "brightest", "dark", "darkest", "lx"),
    "co2": ("co2", "co₂", "carbon dioxide", "air quality", "stuffy", "ppm"),
    "motion": ("motion", "movement", "moving", "presence", "someone", "anybody", "anyone", "pir"),
    "sound": ("sound", "noise", "noisy", "loud", "loudest", "quiet"),
    "pressure": ("pressure", "hpa"),
}
# direction implied by a comparative/superlative word ("warmest" → max)
MAX_WORDS = [
    *"highest maximum max peak top warmest hottest brightest loudest stuffiest".split(),
    "most humid",
    "largest",
    "biggest",
]
MIN_WORDS = "lowest minimum min least coldest coolest darkest quietest driest smallest".split()
HIGHER_WORDS = ["warmer", "hotter", "higher", "brighter", "louder", "more humid", "stuffier"]
LOWER_WORDS = ["colder", "cooler", "lower", "darker", "quieter", "drier", "less"]

PARTS: dict[str, tuple[time, time]] = {
    "night": (time(22), time(6)),
    "morning": (time(6), time(12)),
    "afternoon": (time(12), time(18)),
    "evening": (time(18), time(22)),
}
PART_RE = re.compile(
    r"\b(?:at|during the|in the|overnight|this|last|that|the)\s*"
    r"(night|morning|afternoon|evening)s?\b|\b(overnight|tonight)\b"
)
_AMPM = r"(?:\s*([ap])\.?m\.?)?"
CLOCK = rf"(\d{{1,2}})(?:[:h](\d{{2}}))?{_AMPM}"
BETWEEN_RE = re.compile(rf"\b(?:between|from)\s+{CLOCK}\s+(?:and|to|until|till|-)\s+{CLOCK}\b")
AFTER_RE = re.compile(rf"\b(after|before|since|until)\s+{CLOCK}\b")
AT_RE = re.compile(rf"\bat\s+{CLOCK}\b")
NUMBER_RE = re.compile(
    r"\b(above|over|below|under|exceed(?:ed|s)?|more than|less than|higher than|lower than|"
    r"greater than|at least|at most)\s+(-?\d+(?:\.\d+)?)"
)
OBSERVE_RE = re.compile(
    r"\b(notice[ds]?|observ(?:e|ed|ation|ations)|happen(?:ed|ing)?|unusual|anything "
    r"(?:odd|strange|special)|day note|summary of|summari[sz]e)\b"
)
LIGHT_ON_LX = 100.0  # "the light went on": illuminance at or above this (lux) in a window


class Vocab(Protocol):
    """What the parser reads of a sensor (``vault_agent.query.SensorInfo`` fits)."""

    node: str
    id: str
    quantity: str
    name: str
    room: str
    aliases: tuple[str, ...]
    binary: bool
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class Plan:
    """What a question asks, ready to run against the query layer.

    Attributes:
        question: the question as given (whitespace collapsed).
        kind: ``sensor`` (computed from rollups), ``observation`` (that day's
            observations) or ``text`` (text retrieval only).
        stat: ``max``, ``min``, ``mean``, ``value_at``, ``when`` (times/intervals),
            ``first``, ``last``, ``count`` (events), ``duration`` (on-time),
            ``any`` (yes/no: was there…), ``which_day`` (with ``direction``),
            ``compare`` (two periods, with ``direction``), ``threshold`` (above/below
            ``threshold``, with ``direction``) or ``summary`` (mean/min/max).
        sensors: ``(node, id)`` pairs the question is about, best first.
        unknown: words that name a sensor/quantity the vault does not have.
        days: the period (vault time zone, inclusive days), None = all data;
            ``days2`` the other period of a comparison.
        part: (from, to) clock times within each day; ``to`` ≤ ``from`` wraps past
            midnight (night = 22:00–06:00 of the night that begins on the day).
        at: the clock time of ``value_at``.
        direction: ``max``/``min`` for which_day and compare, ``above``/``below``.
        threshold: the N of "above N" (sensor unit).
        nodes: node names found (filters for text retrieval).
        notes: how words were read ("'Christmas day' → 2017-12-25").
    """

    question: str
    kind: str
    stat: str = ""
    sensors: tuple[tuple[str, str], ...] = ()
    unknown: str = ""
    days: DayRange | None = None
    days2: DayRange | None = None
    part: tuple[time, time] | None = None
    part_phrase: str = ""
    at: time | None = None
    direction: str = ""
    threshold: float | None = None
    nodes: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def _clock(h: str, m: str | None, ampm: str | None, default_pm: bool = False) -> time | None:
    hour, minute = int(h), int(m or 0)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "p" else 0)
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return time(hour, minute)


def find_part(q: str) -> tuple[tuple[time, time] | None, str, time | None]:
    """(part of day, the words, a clock time asked ``at``) found in lowercase ``q``."""
    m = BETWEEN_RE.search(q)
    if m:
        a_pm, b_pm = m.group(3), m.group(6)
        a = _clock(m.group(1), m.group(2), a_pm or b_pm)
        b = _clock(m.group(4), m.group(5), b_pm or a_pm)
        if a_pm is None and b_pm and a and b and a > b and a.hour + 12 < 24:
            a = time(a.hour + 12, a.minute) if a.hour < 12 and b.hour >= 12 else a
        if a and b:
            return (a, b), m.group(0), None
    m = AFTER_RE.search(q)
    if m:
        t = _clock(m.group(2), m.group(3), m.group(4))
        if t and (m.group(4) or m.group(3)):
            if m.group(1) in ("after", "since"):
                return (t, time(0)), m.group(0), None
            return (time(0), t), m.group(0), None
    m = PART_RE.search(q)
    if m:
        word = m.group(1) or "night"
        return PARTS[word], m.group(0), None
    for m in AT_RE.finditer(q):
        if m.group(2) or m.group(3):  # "at 14:00", "at 3 pm"; not "at 5" (a day?)
            t = _clock(m.group(1), m.group(2), m.group(3))
            if t:
                return None, m.group(0), t
    return None, "", None


def _has(q: str, words: Sequence[str]) -> str:
    for w in words:
        if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", q):
            return w
    return ""


def find_quantity(q: str) -> str:
    """The quantity a lowercase question names (first found in question order), or ''."""
    best: tuple[int, str] | None = None
    for quantity, words in QUANTITY_WORDS.items():
        for w in words:
            m = re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", q)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), quantity)
    return best[1] if best else ""


def _names(s: Vocab, node_aliases: dict[str, tuple[str, ...]]) -> set[str]:
    """Lowercase words that name ``s``'s node: the node, its room and the node's aliases
    (``aliases`` at the top of node.toml). A sensor's own aliases name the sensor, not
    its node: room-s1's light has the alias "light", which must not make "the light in
    the office" a question about room-s1."""
    out = {s.node.lower()}
    if s.room:
        out.add(s.room.lower())
    out.update(a.lower() for a in node_aliases.get(s.node, ()))
    # "room-s6" is also said "s6"
    m = re.search(r"(?:^|-)(s\d)$", s.node.lower())
    if m:
        out.add(m.group(1))
    return {n for n in out if n}


def match_sensors(
    q: str,
    vocab: Sequence[Vocab],
    node_aliases: dict[str, tuple[str, ...]] | None = None,
) -> tuple[list[Vocab], list[str], str, str]:
    """Sensors named by lowercase ``q``: (sensors best first, nodes named, quantity, unknown).

    A sensor id or name in the question picks that sensor. Otherwise node/room/node-alias
    words pick the nodes; on them a quantity word picks the sensors measuring it, and
    else a sensor's own alias ("temp", "rh") picks that sensor (an alias and a quantity
    word together pick the aliased sensors measuring it); a quantity alone picks
    every sensor measuring it. ``unknown`` is set when a quantity or node is named but
    no sensor has both.
    """
    direct = [s for s in vocab if _has(q, [s.id.lower()]) or (s.name and _has(q, [s.name.lower()]))]
    quantity = find_quantity(q)
    named_nodes: list[str] = []
    for s in vocab:
        names = sorted(_names(s, node_aliases or {}), key=len, reverse=True)
        if s.node not in named_nodes and _has(q, names):
            named_nodes.append(s.node)
    if direct:
        direct.sort(key=lambda s: -len(s.id))
        return direct, named_nodes or [direct[0].node], direct[0].quantity, ""
    pool = [s for s in vocab if not named_nodes or s.node in named_nodes]
    aliased = [s for s in pool if s.aliases and _has(q, [a.lower() for a in s.aliases])]
    if quantity:
        pool = [s for s in pool if s.quantity == quantity]
        if not pool and not aliased:
            where = " on " + ", ".join(named_nodes) if named_nodes else ""
            return [], named_nodes, quantity, f"{quantity}{where}"
        both = [s for s in aliased if s in pool]  # "how warm was the cooking corner"
        return both or pool or aliased, named_nodes, quantity, ""
    if aliased:
        return aliased, named_nodes or [aliased[0].node], aliased[0].quantity, ""
    return [], named_nodes, "", ""


def find_stat(q: str, binary: bool) -> tuple[str, str, float | None]:
    """(stat, direction, threshold) named in lowercase ``q`` (see :class:`Plan`)."""
    m = NUMBER_RE.search(q)
    if m:
        word = m.group(1)
        below = word in ("below", "under", "less than", "lower than", "at most")
        return "threshold", "below" if below else "above", float(m.group(2))
    if re.search(r"\b(which|what) (day|date)\b", q):
        return "which_day", "min" if _has(q, MIN_WORDS) else "max", None
    if _has(q, HIGHER_WORDS) and " than " in q:
        return "compare", "max", None
    if _has(q, LOWER_WORDS) and " than " in q:
        return "compare", "min", None
    if re.search(r"\bhow many (times|events)\b|\bhow often\b", q):
        return "count", "", None
    if re.search(r"\bhow (many|much) (hours|minutes|time)\b|\bhow long\b|\btotal\b", q):
        return "duration" if binary else "mean", "", None
    if _has(q, ["first"]) or re.search(
        r"^\s*(when|at what time|what time)\b.*\b(go|goes|went|turn|turned|come|came|"
        r"switch|switched|get|got) on\b",
        q,
    ):
        return "first", "", None
    if _has(q, ["last", "latest"]) and not re.search(r"\blast (week|night|month|\d)", q):
        return "last", "", None
    if _has(q, MAX_WORDS):
        return "max", "max", None
    if _has(q, MIN_WORDS):
        return "min", "min", None
    if _has(q, ["average", "mean", "typical", "avg"]):
        return "mean", "", None
    if re.search(r"^\s*(when|at what time|what time)\b", q):
        return "when", "", None
    if re.search(r"^\s*(was|were|did|is|has|had)\b", q):
        return "any", "", None
    if re.search(r"\bhow (warm|cold|hot|bright|dark|humid|loud)\b|\bwhat was the\b", q):
        return "mean", "", None
    return "", "", None


def reference_day(sensors: Sequence[Vocab], today: date) -> date:
    """The day relative dates count from: ``today``, or the latest day with data of
    ``sensors`` when that is two or more days back (a replayed or stopped node, whose
    "yesterday" is the day before its last recorded day)."""
    last = max((s.last_day for s in sensors if s.last_day), default=None)
    if last is None or last >= today - timedelta(days=1):
        return today
    return last


def parse(
    question: str,
    vocab: Sequence[Vocab],
    today: date,
    node_aliases: dict[str, tuple[str, ...]] | None = None,
) -> Plan:
    """Read ``question`` into a :class:`Plan` (see the module docstring).

    ``node_aliases`` maps a node to the words that also name it (node.toml's top-level
    ``aliases``). ``today`` is the current day in the vault's time zone; relative dates
    ("yesterday", "last week", weekdays) count from :func:`reference_day`. A date
    without a year takes the latest year not after that day.
    """
    text = " ".join(question.split())
    q = text.lower().replace("’", "'")
    sensors, nodes, quantity, unknown = match_sensors(q, vocab, node_aliases)
    on_nodes = [s for s in vocab if s.node in nodes]
    ref = reference_day(sensors or on_nodes or vocab, today)
    ranges = find_days(q, ref)
    notes = tuple(r.note() for r in ranges if r.note())
    days = ranges[0] if ranges else None
    days2 = ranges[1] if len(ranges) > 1 else None
    if days and days2 and re.search(r"\b(between|from)\b.*\b(and|to|until|till)\b", q):
        if not re.search(r"\bthan\b", q):  # "between Feb 5 and Feb 7": one period
            days = DayRange(
                min(days.since, days2.since),
                max(days.until, days2.until),
                f"{days.phrase} … {days2.phrase}",
            )
            days2 = None
    part, part_phrase, at = find_part(q)
    if part_phrase:
        notes += (f"'{part_phrase}' → {part[0]:%H:%M}–{part[1]:%H:%M}" if part else "",)
    base = Plan(
        text,
        "text",
        sensors=tuple((s.node, s.id) for s in sensors),
        unknown=unknown,
        days=days,
        days2=days2,
        part=part,
        part_phrase=part_phrase,
        at=at,
        nodes=tuple(nodes),
        notes=tuple(n for n in notes if n),
    )
    if OBSERVE_RE.search(q) and not quantity:
        return _replace(base, kind="observation")
    if unknown:
        return _replace(base, kind="sensor", stat="unknown")
    if not sensors:
        return base
    binary = all(s.binary for s in sensors)
    stat, direction, threshold = find_stat(q, binary)
    if at is not None and stat in ("", "mean", "when", "any"):
        stat = "value_at"
    if not stat:
        return base
    if binary and stat in ("max", "min", "mean", "when", "threshold"):
        stat = {"when": "when", "threshold": "any"}.get(
            stat, "duration" if stat == "mean" else "when"
        )
    if binary and stat == "any" and re.search(r"^\s*when\b", q):
        stat = "when"
    if stat == "compare" and days2 is None:
        stat = direction  # "warmer than usual" has one period: say its extreme
    return _replace(base, kind="sensor", stat=stat, direction=direction, threshold=threshold)


def _replace(plan: Plan, **kw) -> Plan:
    return replace(plan, **kw)


__all__ = ["LIGHT_ON_LX", "PARTS", "Plan", "Vocab", "find_part", "find_stat", "parse"]
