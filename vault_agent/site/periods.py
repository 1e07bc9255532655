"""Week and month pages of one sensor: a row per day with min/mean/max (binary sensors:
events and time on).

Days are the vault's (``timezone`` in vault.toml, default UTC), as the query layer counts
them: the rows are :meth:`vault_agent.query.Store.day_summaries` (the one owner of day
statistics), times shown in that zone. Periods: ISO weeks (``2015-W06``, Monday to
Sunday) and calendar months (``2015-02``) of those days.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any

from ..vault import layout
from . import urls
from .render import render


@dataclass(frozen=True, order=True)
class Period:
    """A week (``kind == "week"``, ``label`` ``YYYY-Www``) or month (``YYYY-MM``) of days
    ``first``…``last`` inclusive."""

    kind: str
    label: str
    first: date
    last: date


def week_of(d: date) -> Period:
    """The ISO week holding ``d``."""
    year, week, weekday = d.isocalendar()
    first = d - timedelta(days=weekday - 1)
    return Period("week", f"{year}-W{week:02d}", first, first + timedelta(days=6))


def month_of(d: date) -> Period:
    """The calendar month holding ``d``."""
    days = calendar.monthrange(d.year, d.month)[1]
    return Period("month", f"{d.year}-{d.month:02d}", d.replace(day=1), d.replace(day=days))


def periods_of(d: date) -> tuple[Period, Period]:
    """(week, month) of a day."""
    return week_of(d), month_of(d)


def local_days(day: str, first: str | None, last: str | None, tz: tzinfo) -> list[date]:
    """The vault-zone days a UTC day's rollups fall on.

    Args:
        day: the UTC day (``YYYY-MM-DD``) of a rollup file.
        first, last: start of its first window and end of its last (UTC ISO 8601); None
            for the whole UTC day.
        tz: the vault's zone.
    Returns:
        the days from the zone's date of ``first`` to that of ``last`` − 1 s, in order
        (one or two days for a zone within ±24 h of UTC).
    """
    d = date.fromisoformat(day)
    try:
        a = layout.parse_iso(first) if first else None
        z = layout.parse_iso(last) - timedelta(seconds=1) if last else None
    except ValueError:
        a = z = None
    start = a or layout.parse_iso(f"{day}T00:00:00Z")
    end = z or layout.parse_iso(f"{(d + timedelta(days=1)).isoformat()}T00:00:00Z") - timedelta(
        seconds=1
    )
    lo, hi = start.astimezone(tz).date(), max(start, end).astimezone(tz).date()
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def period_page_path(node: str, sensor: str, p: Period) -> str:
    """Site-source path of a sensor's week or month page."""
    return f"nodes/{node}/sensors/{urls.sensor_anchor(sensor)[7:]}/{p.label}.md"


def period_page(
    days: list[tuple[str, Any, bool]],
    node: str,
    sensor: str,
    p: Period,
    prev_p: Period | None = None,
    next_p: Period | None = None,
    other: list[Period] | None = None,
    tz: str = "UTC",
) -> str:
    """The Markdown of one sensor's week or month page.

    Args:
        days: (YYYY-MM-DD, that day's :class:`vault_agent.query.DaySummary`, whether the
            site has a day page of that date) for the days of ``p`` with data, in order.
        other: the periods of the other kind that overlap ``p`` and have pages (a
            month's weeks, a week's months).
        tz: the vault's time zone (IANA name): days and times are in it.
    """
    info = days[-1][1] if days else None
    frm = period_page_path(node, sensor, p)
    return render(
        "period.md.j2",
        frm=frm,
        node=node,
        sensor=sensor,
        info=info,
        period=p,
        days=days,
        prev_page=period_page_path(node, sensor, prev_p) if prev_p else None,
        prev_label=prev_p.label if prev_p else "",
        next_page=period_page_path(node, sensor, next_p) if next_p else None,
        next_label=next_p.label if next_p else "",
        other=[(q.label, period_page_path(node, sensor, q)) for q in other or []],
        tz=tz,
    )
