"""Dates in a question → inclusive ranges of days in the vault's time zone.

Understood (case-insensitive), in the order they appear in the question:

- ISO days ``2015-02-05``; ``Feb 5``, ``February 5th``, ``5 Feb``, ``5 February 2015``,
  ``Feb 5, 2015``; a day without a year takes the latest year in which it is not
  after the reference day;
- holidays: ``Christmas (day)`` (12-25), ``Christmas Eve`` (12-24), ``Boxing day``
  (12-26), ``New Year's Eve`` (12-31), ``New Year's day`` (01-01);
- ``today``/``tonight``/``this morning``, ``yesterday``/``last night``, ``N days ago``,
  weekdays (``on Monday``, ``last Monday``: the latest such day before the reference
  day, or the reference day itself for a bare weekday), ``this/last week`` (ISO weeks
  start on Monday), ``this/last month``, ``last/past N days|weeks``.

The reference day is today in the vault's time zone, or the latest day with data
when that is earlier (see :func:`vault_agent.ask.plan.parse`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        1,
    )
    for m in names
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
HOLIDAYS = {
    r"christmas eve": (12, 24),
    r"christmas(?: day)?": (12, 25),
    r"boxing day": (12, 26),
    r"new year'?s eve": (12, 31),
    r"new year'?s(?: day)?": (1, 1),
}
_MON = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"
_NUM = r"(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)"
_WORDS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten".split(), 1)}


@dataclass(frozen=True)
class DayRange:
    """An inclusive range of days (vault time zone) and the words that said so."""

    since: date
    until: date
    phrase: str

    def as_strings(self) -> tuple[str, str]:
        """(since, until) as ``YYYY-MM-DD``."""
        return self.since.isoformat(), self.until.isoformat()

    def label(self) -> str:
        """``2015-02-05`` or ``2015-02-02 … 2015-02-08``."""
        if self.since == self.until:
            return self.since.isoformat()
        return f"{self.since.isoformat()} … {self.until.isoformat()}"

    def note(self) -> str:
        """How the words were read, unless they were the date itself."""
        if self.phrase == self.since.isoformat():
            return ""
        return f"'{self.phrase}' → {self.label()}"


def _n(text: str) -> int:
    return _WORDS.get(text, 0) or int(text)


def _day(year: int | None, month: int, day: int, ref: date) -> date | None:
    """The day, its year defaulting to the latest one not after ``ref``."""
    try:
        if year:
            return date(year, month, day)
        d = date(ref.year, month, day)
        return d if d <= ref else date(ref.year - 1, month, day)
    except ValueError:
        return None


def _last_month(ref: date) -> tuple[date, date]:
    end = ref.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _weekday(m: re.Match, ref: date) -> tuple[date, date]:
    wd = WEEKDAYS.index(m.group(2))
    back = (ref.weekday() - wd) % 7
    if (m.group(1) or "").strip() == "last" and back == 0:  # "last Monday" on a Monday
        back = 7
    d = ref - timedelta(days=back)
    return d, d


def _holiday(md: tuple[int, int]) -> Callable[[re.Match, date], tuple[date, date] | None]:
    def rule(m: re.Match, r: date) -> tuple[date, date] | None:
        return _single(_day(int(m.group(1)) if m.group(1) else None, md[0], md[1], r))

    return rule


Rule = tuple[str, Callable[[re.Match, date], tuple[date, date] | None]]


def _single(d: date | None) -> tuple[date, date] | None:
    return (d, d) if d else None


RULES: list[Rule] = [
    (
        r"\b(\d{4})-(\d{2})-(\d{2})\b",
        lambda m, r: _single(_day(int(m.group(1)), int(m.group(2)), int(m.group(3)), r)),
    ),
    (
        rf"\b{_MON}\s+{_ORD}\b(?:,?\s+(\d{{4}}))?",
        lambda m, r: _single(
            _day(int(m.group(3)) if m.group(3) else None, MONTHS[m.group(1)], int(m.group(2)), r)
        ),
    ),
    (
        rf"\b{_ORD}\s+(?:of\s+)?{_MON}(?:,?\s+(\d{{4}}))?",
        lambda m, r: _single(
            _day(int(m.group(3)) if m.group(3) else None, MONTHS[m.group(2)], int(m.group(1)), r)
        ),
    ),
    *[(rf"\b{pat}\b(?:\s+(\d{{4}}))?", _holiday(md)) for pat, md in HOLIDAYS.items()],
    (r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", lambda m, r: (r, r)),
    (r"\b(?:yesterday|last night)\b", lambda m, r: _single(r - timedelta(days=1))),
    (rf"\b{_NUM} days? ago\b", lambda m, r: _single(r - timedelta(days=_n(m.group(1))))),
    (rf"\b(?:last|past) {_NUM} days?\b", lambda m, r: (r - timedelta(days=_n(m.group(1))), r)),
    (rf"\b(?:last|past) {_NUM} weeks?\b", lambda m, r: (r - timedelta(weeks=_n(m.group(1))), r)),
    (r"\bthis week\b", lambda m, r: (r - timedelta(days=r.weekday()), r)),
    (
        r"\blast week\b",
        lambda m, r: (
            r - timedelta(days=r.weekday() + 7),
            r - timedelta(days=r.weekday() + 1),
        ),
    ),
    (r"\bthis month\b", lambda m, r: (r.replace(day=1), r)),
    (r"\blast month\b", lambda m, r: _last_month(r)),
    (r"\b(last |on |this )?(" + "|".join(WEEKDAYS) + r")s?\b", _weekday),
]
_COMPILED = [(re.compile(p), fn) for p, fn in RULES]


def find_days(question: str, ref: date) -> list[DayRange]:
    """Every date phrase in ``question`` as a :class:`DayRange`, in question order.

    Phrases do not overlap (the longest match at a position wins). ``ref`` is the
    reference day (see module docstring).
    """
    q = question.lower().replace("’", "'")
    found: list[tuple[int, int, DayRange]] = []
    for rx, fn in _COMPILED:
        for m in rx.finditer(q):
            if any(s < m.end() and m.start() < e for s, e, _ in found):
                continue
            got = fn(m, ref)
            if got:
                found.append((m.start(), m.end(), DayRange(got[0], got[1], m.group(0).strip())))
    found.sort(key=lambda x: x[0])
    return [r for _, _, r in found]
