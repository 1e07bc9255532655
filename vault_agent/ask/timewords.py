"""Time words in a question become a date filter ("yesterday" → that UTC day).

Understood (case-insensitive, UTC days, weeks start on Monday as in ISO 8601):
``today``, ``tonight``, ``this morning``, ``yesterday``, ``last night`` (yesterday
and today: the night spans both), ``this week``, ``last week``, ``this month``,
``last month``, ``last/past N days|weeks``, ``N days ago``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_NUM = r"(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)"
_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of UTC days found in a question, and the words that said so."""

    since: date
    until: date
    phrase: str

    def as_strings(self) -> tuple[str, str]:
        """(since, until) as ``YYYY-MM-DD``."""
        return self.since.isoformat(), self.until.isoformat()


def _n(text: str) -> int:
    return _WORDS.get(text, 0) or int(text)


def find_range(question: str, now: datetime | None = None) -> DateRange | None:
    """The first time phrase in ``question`` as a date range, or None."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    q = question.lower()
    rules: list[tuple[str, object]] = [
        (r"\blast night\b", lambda m: (today - timedelta(days=1), today)),
        (r"\b(today|tonight|this morning|this afternoon|this evening)\b", lambda m: (today, today)),
        (r"\byesterday\b", lambda m: (today - timedelta(days=1), today - timedelta(days=1))),
        (
            rf"\b(?:last|past) {_NUM} days?\b",
            lambda m: (today - timedelta(days=_n(m.group(1))), today),
        ),
        (
            rf"\b(?:last|past) {_NUM} weeks?\b",
            lambda m: (today - timedelta(weeks=_n(m.group(1))), today),
        ),
        (rf"\b{_NUM} days? ago\b", lambda m: (today - timedelta(days=_n(m.group(1))),) * 2),
        (r"\bthis week\b", lambda m: (today - timedelta(days=today.weekday()), today)),
        (
            r"\blast week\b",
            lambda m: (
                today - timedelta(days=today.weekday() + 7),
                today - timedelta(days=today.weekday() + 1),
            ),
        ),
        (r"\bthis month\b", lambda m: (today.replace(day=1), today)),
        (r"\blast month\b", lambda m: _last_month(today)),
    ]
    best: tuple[int, DateRange] | None = None
    for pattern, fn in rules:
        m = re.search(pattern, q)
        if m and (best is None or m.start() < best[0]):
            since, until = fn(m)  # type: ignore[operator]
            best = (m.start(), DateRange(since, until, m.group(0)))
    return best[1] if best else None


def _last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end
