"""Week and month pages of one sensor: a row per day with min/mean/max (binary sensors:
events and time on). The figures are the catalog's day summaries, which are
:func:`vault_agent.query.summary.summarize`'s (the one owner of day statistics; see
:func:`.catalog.summarize_sensor`), so an incremental build needs no second read of the
rollup files.

Periods: ISO weeks (``2015-W06``, Monday to Sunday) and calendar months (``2015-02``)
in the vault's time zone (the query layer's days).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from . import urls
from .catalog import SensorDay
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


def period_page_path(node: str, sensor: str, p: Period) -> str:
    """Site-source path of a sensor's week or month page."""
    return f"nodes/{node}/sensors/{urls.sensor_anchor(sensor)[7:]}/{p.label}.md"


def period_page(
    days: list[tuple[str, SensorDay]],
    node: str,
    sensor: str,
    p: Period,
    prev_p: Period | None = None,
    next_p: Period | None = None,
    other: list[Period] | None = None,
) -> str:
    """The Markdown of one sensor's week or month page.

    Args:
        days: (YYYY-MM-DD, that day's summary of the sensor) for the days of ``p`` with
            data, in order.
        other: the periods of the other kind that overlap ``p`` and have pages (a
            month's weeks, a week's months).
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
    )
