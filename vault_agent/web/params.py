"""Query-string parameters of the JSON API: times, ranges, steps, widths.

Every parser raises :class:`BadParam` whose message is the one line a client gets
with HTTP 400 (it names the parameter and what was expected).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from ..errors import VaultError
from ..vault import layout

RANGES = {"24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "1y": 365 * 86400}
ROLLUP_S = 300  # the rollup window (sensors/rollup.py): the finest step there is
MAX_WIDTH = 4000  # px; more points than this is never useful on a screen
DEFAULT_WIDTH = 800
NICE_STEPS_S = (
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    2 * 86400,
    7 * 86400,
)
_AGO = re.compile(r"^(\d{1,6})([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class BadParam(VaultError):
    """A query parameter that cannot be used (the message is the 400 reply's one line)."""


def parse_time(name: str, text: str | None, now: datetime) -> datetime | None:
    """An aware UTC time from ``text``: ISO 8601 (``2015-02-03``, ``2015-02-03T10:00:00Z``),
    ``now``, or an age such as ``90m``/``24h``/``7d``/``2w`` (before ``now``).

    Raises:
        BadParam: anything else (naming ``name``).
    """
    if text is None or not text.strip():
        return None
    t = text.strip()
    if t.lower() == "now":
        return now
    m = _AGO.match(t.lower())
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])
    try:
        return layout.parse_iso(t)
    except (ValueError, TypeError):
        raise BadParam(
            f"{name}={text!r} is not a time: use ISO 8601 (2015-02-03 or "
            "2015-02-03T10:00:00Z), 'now' or an age like 24h, 7d"
        ) from None


def parse_range(text: str | None) -> int | None:
    """Seconds of a named range (``24h``, ``7d``, ``30d``, ``1y``) or None when absent.

    Raises:
        BadParam: an unknown name.
    """
    if text is None or not text.strip():
        return None
    if text.strip() not in RANGES:
        raise BadParam(f"range={text!r} is unknown: use one of {', '.join(RANGES)}")
    return RANGES[text.strip()]


def parse_int(name: str, text: str | None, lo: int, hi: int) -> int | None:
    """An integer in [lo, hi] or None when absent.

    Raises:
        BadParam: not an integer or out of range.
    """
    if text is None or not text.strip():
        return None
    try:
        n = int(text.strip())
    except ValueError:
        raise BadParam(f"{name}={text!r} is not an integer") from None
    if not lo <= n <= hi:
        raise BadParam(f"{name}={n} is out of range ({lo}…{hi})")
    return n


def parse_every(text: str | None) -> int | None:
    """A bucket step in seconds: ``600`` or ``10m``/``1h``/``1d``; a multiple of the
    300 s rollup window (rounded up). None when absent.

    Raises:
        BadParam: not a positive duration.
    """
    if text is None or not text.strip():
        return None
    t = text.strip().lower()
    m = _AGO.match(t)
    if m:
        s = int(m.group(1)) * _UNIT_S[m.group(2)]
    elif t.isdigit():
        s = int(t)
    else:
        raise BadParam(f"every={text!r} is not a step: use seconds (600) or 10m, 1h, 1d")
    if s <= 0 or s > 366 * 86400:
        raise BadParam(f"every={text!r} must be between 1 s and 366 days")
    return math.ceil(s / ROLLUP_S) * ROLLUP_S


def step_for(span_s: float, width_px: int) -> int:
    """The bucket step (seconds) giving at most about one point per pixel: the smallest
    "nice" step (5 min, 10 min, … 1 week) with ``span_s / step <= width_px``."""
    want = span_s / max(1, width_px)
    for s in NICE_STEPS_S:
        if s >= want:
            return s
    return math.ceil(want / 86400) * 86400


def window(
    since: datetime | None, until: datetime | None, span_s: int | None, end: datetime
) -> tuple[datetime, datetime]:
    """The [since, until) window of a request. ``until`` defaults to ``end`` (the newest
    reading, so a node that stopped still shows its last week); ``since`` to
    ``until - span_s`` (``span_s`` defaults to 24 h).

    Raises:
        BadParam: ``since`` is not before ``until``.
    """
    until = until or (since + timedelta(seconds=span_s) if since and span_s else end)
    since = since or until - timedelta(seconds=span_s or RANGES["24h"])
    if since >= until:
        raise BadParam(f"since ({layout.iso(since)}) must be before until ({layout.iso(until)})")
    return since.astimezone(UTC), until.astimezone(UTC)
