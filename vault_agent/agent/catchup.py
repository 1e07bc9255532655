"""Catch-up at start: observe the complete UTC days the agent was down for.

A live agent closes the previous UTC day (day note, memory file) in its first observe
window, so a restart after more than one day of downtime would leave the days in
between for a person to fill with ``vault observe``. At start the agent instead runs
the observer's own backfill (:meth:`~vault_agent.observe.observer.Observer.backfill`,
the code ``vault observe`` runs) over each missed day:

- the days considered: from the day after this node's newest day note (or, without
  one, the start of the limit) to yesterday, at most ``catchup_days`` days back
  (node.toml ``[observer] catchup_days``, default 14; 0 turns catch-up off);
- replayed old data: when this node's newest rollup day is older than the limit
  (``vault replay`` of a 2015 recording), the days counted back end at that day
  instead of yesterday (:func:`reference_day`), so the data's own span is observed;
  :func:`uncovered` says which older days were left for ``vault observe``;
- a day that has a day note already is skipped (a note is never overwritten);
- a day without a rollup file is skipped: the observer writes nothing for such a day
  (:meth:`~vault_agent.observe.observer.Observer.close_day`), so neither does this.

Nothing here commits: the agent commits what was written in one commit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import RecordError
from ..vault import Vault, layout

DEFAULT_CATCHUP_DAYS = 14


@dataclass(frozen=True)
class CatchUp:
    """What a catch-up wrote: the days that got their note, and every path written."""

    days: tuple[date, ...]
    paths: tuple[str, ...]


def catchup_limit(vault: Vault, override: int | None = None) -> int:
    """Days a catch-up may reach back: ``override``, else node.toml ``[observer]
    catchup_days``, else :data:`DEFAULT_CATCHUP_DAYS`.

    Raises:
        RecordError: the node.toml value is not a whole number ≥ 0 (names node.toml).
    """
    if override is not None:
        return max(0, int(override))
    raw: Any = (vault.node_config().get("observer") or {}).get("catchup_days", DEFAULT_CATCHUP_DAYS)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise RecordError(
            layout.node_toml(vault.node),
            0,
            f"[observer] catchup_days must be a whole number ≥ 0, got {raw!r}",
        )
    return raw


def last_day_note(vault: Vault) -> date | None:
    """The day of this node's newest day note (``daily/YYYY/MM/YYYY-MM-DD.md``), if any.

    Conflict copies and other files in the folder are ignored.
    """
    base = vault.path(f"{layout.node_dir(vault.node)}/daily")
    days = []
    for p in base.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/*.md"):
        m = layout.DAILY_NAME_RE.match(p.name)
        if m:
            days.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    return max(days, default=None)


def rollup_days(vault: Vault) -> tuple[date, date] | None:
    """(first, last) UTC day of this node's rollup files, or None without any."""
    days = []
    for rel in vault.rollup_files(vault.node):
        m = layout.ROLLUP_NAME_RE.match(rel.rsplit("/", 1)[-1])
        if m:
            days.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    return (min(days), max(days)) if days else None


def reference_day(vault: Vault, today: date, limit: int) -> date:
    """The day a catch-up counts back from: ``today``, or, when this node's newest
    rollup day is older than ``limit`` days (replayed old data), the day after it."""
    span = rollup_days(vault)
    if span is None or span[1] >= today - timedelta(days=limit):
        return today
    return span[1] + timedelta(days=1)


def uncovered(vault: Vault, today: date, limit: int) -> tuple[date, date] | None:
    """Days with rollups older than a catch-up reaches (first, last), or None."""
    span = rollup_days(vault)
    if span is None:
        return None
    first_reached = reference_day(vault, today, limit) - timedelta(days=limit)
    if span[0] >= first_reached:
        return None
    return span[0], min(span[1], first_reached - timedelta(days=1))


def missing_days(vault: Vault, today: date, limit: int) -> list[date]:
    """Complete UTC days before ``today`` to catch up, oldest first.

    From the day after the newest day note, but not before ``today - limit``; only
    days with a rollup file and without a day note.
    """
    first = today - timedelta(days=limit)
    last = last_day_note(vault)
    if last is not None:
        first = max(first, last + timedelta(days=1))
    out = []
    day = first
    while day < today:
        if (
            vault.path(layout.rollup_path(vault.node, day)).exists()
            and not vault.path(layout.daily_path(vault.node, day)).exists()
        ):
            out.append(day)
        day += timedelta(days=1)
    return out


def catch_up(
    vault: Vault, observer: Any, today: date, limit: int, stop: threading.Event | None = None
) -> CatchUp:
    """Backfill each missed day with ``observer`` (observations, memory, day note).

    Args:
        vault: the node's vault.
        observer: an :class:`~vault_agent.observe.observer.Observer` for ``vault``.
        today: the current UTC day (not caught up: it has not closed); for replayed
            old data the count starts at :func:`reference_day` instead.
        limit: how many days back at most (0: nothing).
        stop: checked between days; a set event ends the catch-up early.

    Returns the days that got a day note and every path written (nothing committed).
    """
    days: list[date] = []
    paths: list[str] = []
    for day in missing_days(vault, reference_day(vault, today, limit), limit):
        if stop is not None and stop.is_set():
            break
        t0 = datetime.combine(day, datetime.min.time(), UTC)
        paths += observer.backfill(t0, t0 + timedelta(days=1))
        if layout.daily_path(vault.node, day) in paths:
            days.append(day)
    return CatchUp(tuple(days), tuple(paths))
