"""The grounding check: an LLM's phrasing may state only numbers that are in the facts.

Used by the observer (phrasing observations) and by ``vault ask`` (phrasing answers).

Checked, in order (the first failure is the rejection reason):

1. not empty, at most :data:`MAX_CHARS` characters and :data:`MAX_SENTENCES` sentences;
2. every date (``YYYY-MM-DD``) is a fact date or the window's day;
3. every clock time (``07:05``, ``7:05 am``, ``7 pm``) is a fact time; an hour said
   without minutes may round a fact time to its hour;
4. every other number equals a fact value "with rounding": stated with d decimals it
   must be within half a unit of the d-th place of some fact value (23 or 23.1 for
   23.14; the sign may be dropped: "fell by 3" for −3); a round number with k trailing
   zeros (800) may round a value to 10^k if within 10 % of it (818 → 800).

Numbers that are part of a name (``s6-pir``, ``CO2``, ``qwen2.5``) are not numbers;
number words from "two" to "ninety" are ("five people" needs a 5 in the facts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


class Fact(Protocol):
    """What the check reads of a fact (``observe.facts.Fact`` fits): its ``values``
    (numbers as strings or floats), clock ``times`` (HH:MM) and ``dates`` (YYYY-MM-DD)."""

    values: Mapping[str, object]
    times: Mapping[str, str]
    dates: Mapping[str, str]


MAX_SENTENCES = 3
MAX_CHARS = 600

DATE_RE = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
TIME_RE = re.compile(r"(?<![\w.:-])(\d{1,2})[:h](\d{2})(?:\s*([aApP])\.?[mM]\.?)?(?!\w|:\d)")
HOUR_RE = re.compile(r"(?<![\w.:-])(\d{1,2})\s*([aApP])\.?[mM]\b\.?")
NUM_RE = re.compile(r"(?<![\w.\-])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\d])")
SENTENCE_RE = re.compile(r"[.!?](?:\s|$)")
WORDS = (
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
WORD_NUMBERS = {w: i for i, w in enumerate(WORDS, 2)} | {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
WORD_RE = re.compile(r"\b(" + "|".join(WORD_NUMBERS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """Whether text passed; ``reason`` says why not (``number 5.2 not in facts``)."""

    ok: bool
    reason: str = ""


def allowed(
    facts: Iterable[Fact],
    extra_values: Iterable[str] = (),
    extra_times: Iterable[str] = (),
    extra_dates: Iterable[str] = (),
) -> tuple[list[float], set[str], set[str]]:
    """(values, times HH:MM, dates) the text may state, from the facts plus extras."""
    values: list[float] = []
    times: set[str] = set(extra_times)
    dates: set[str] = set(extra_dates)
    for x in extra_values:
        values.append(float(x))
    for f in facts:
        for v in f.values.values():
            try:
                values.append(float(v))  # type: ignore[arg-type]  # str or number
            except (TypeError, ValueError):
                pass
        times.update(f.times.values())
        dates.update(f.dates.values())
    return values, times, dates


def _to_24h(h: int, ampm: str | None) -> int:
    if not ampm:
        return h
    h = h % 12
    return h + 12 if ampm.lower() == "p" else h


def number_ok(text: str, values: list[float]) -> bool:
    """Does the number written as ``text`` equal one of ``values`` with rounding?"""
    clean = text.replace(",", "")
    x = abs(float(clean))
    decimals = len(clean.split(".", 1)[1]) if "." in clean else 0
    tol = 0.5 * 10**-decimals + 1e-9
    for a in values:
        if abs(x - abs(a)) <= tol:
            return True
    if decimals == 0 and x >= 10:
        digits = clean.lstrip("-")
        k = len(digits) - len(digits.rstrip("0"))
        if k:
            coarse = 0.5 * 10**k
            return any(
                abs(x - abs(a)) <= coarse and abs(x - abs(a)) <= 0.1 * abs(a) for a in values
            )
    return False


def count_sentences(text: str) -> int:
    """Sentences in ``text`` (a period inside a number or in "a.m." does not end one)."""
    text = re.sub(r"\b([aApP])\.[mM]\.", r"\1m", text.strip())
    return len(SENTENCE_RE.findall(text + " ")) or (1 if text else 0)


def check(
    text: str,
    facts: list[Fact],
    extra_values: Iterable[str] = (),
    extra_times: Iterable[str] = (),
    extra_dates: Iterable[str] = (),
) -> Verdict:
    """Check an LLM's phrasing of ``facts`` (see module docstring)."""
    body = text.strip()
    if not body:
        return Verdict(False, "empty answer")
    if len(body) > MAX_CHARS:
        return Verdict(False, f"too long ({len(body)} characters, max {MAX_CHARS})")
    n = count_sentences(body)
    if n > MAX_SENTENCES:
        return Verdict(False, f"{n} sentences (max {MAX_SENTENCES})")
    values, times, dates = allowed(facts, extra_values, extra_times, extra_dates)
    rest = body.replace("\u2212", "-")
    for m in DATE_RE.finditer(rest):
        if m.group(0) not in dates:
            return Verdict(False, f"date {m.group(0)} not in facts")
    rest = DATE_RE.sub(" ", rest)
    for m in TIME_RE.finditer(rest):
        h = _to_24h(int(m.group(1)), m.group(3))
        hm = f"{h:02d}:{m.group(2)}"
        if hm not in times:
            return Verdict(False, f"time {m.group(0).strip()} not in facts")
    rest = TIME_RE.sub(" ", rest)
    fact_hours = {t[:2] for t in times} | {
        f"{(int(t[:2]) + (int(t[3:5]) >= 30)) % 24:02d}" for t in times
    }
    for m in HOUR_RE.finditer(rest):
        h = _to_24h(int(m.group(1)), m.group(2))
        if f"{h:02d}" not in fact_hours:
            return Verdict(False, f"time {m.group(0).strip()} not in facts")
    rest = HOUR_RE.sub(" ", rest)
    for m in NUM_RE.finditer(rest):
        if not number_ok(m.group(0), values):
            return Verdict(False, f"number {m.group(0)} not in facts")
    for m in WORD_RE.finditer(rest):  # "five people" is a number too ("one" is too ambiguous)
        if not number_ok(str(WORD_NUMBERS[m.group(1).lower()]), values):
            return Verdict(False, f"number {m.group(0)} not in facts")
    return Verdict(True)
