"""Bringing the catalog up to date with a plan: which days and notes changed.

Only rollup days and notes named by the plan are re-read (all on a full build); a day
whose neighbours appear or vanish is marked dirty too, since its prev/next links change.
Day summaries themselves are recomputed where the day pages are written
(:mod:`.generate`), from the same read of the rollup file.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date

from ..errors import RecordError
from ..vault import Vault, files, layout
from .catalog import (
    Catalog,
    day_key,
    is_note_path,
    is_rollup_path,
    note_files,
    rollup_day,
    scan_note,
)
from .plan import Plan
from .progress import Phases


@dataclass(frozen=True)
class Refresh:
    """Catalog keys of days whose page must be rewritten, and note paths re-read."""

    days: frozenset[str]
    notes: frozenset[str]


def refresh_catalog(v: Vault, cat: Catalog, plan: Plan, phases: Phases) -> Refresh:
    """Re-read the notes the plan names (all on a full build) into ``cat``.

    Notes failing their schema are recorded in ``cat.errors`` (never raised).
    """
    if plan.full:
        rollups = v.rollup_files()
        notes = note_files(v)
        cat.days.clear()
        cat.notes.clear()
        cat.errors.clear()
        dirty_days = {day_key(*rollup_day(r)) for r in rollups}
    else:
        rollups = sorted(p for p in plan.changed if is_rollup_path(p))
        notes = sorted(p for p in plan.changed if is_note_path(p))
        dirty_days = {day_key(*rollup_day(r)) for r in rollups}
        # a day note written or removed changes the line that points to it
        dirty_days |= {
            day_key(p.split("/")[1], p.rsplit("/", 1)[-1][:10])
            for p in plan.changed
            if layout.classify(p).kind == "daily"
            and layout.DAILY_NAME_RE.match(p.rsplit("/", 1)[-1])
        }
    phases.phase("Reading notes", len(notes))
    before = set(cat.days)
    for rel in notes:
        phases.advance()
        old = cat.notes.pop(rel, None)
        cat.errors.pop(rel, None)
        if old is not None and old.kind == "observation":
            dirty_days.add(day_key(old.node, old.day))
        if not files.readable(v.root, rel) or layout.is_conflict_copy(rel):
            continue
        try:
            meta = scan_note(v, rel)
        except RecordError as e:
            cat.errors[rel] = [str(e)]
            continue
        cat.notes[rel] = meta
        if meta.kind == "observation":
            dirty_days.add(day_key(meta.node, meta.day))
    # neighbours: a new or removed day changes the prev/next links of the days beside it
    if not plan.full:
        days_now = all_day_keys(v, cat, dirty_days)
        added = days_now - before
        removed = {k for k in dirty_days if k not in days_now}
        for k in added | removed:
            dirty_days |= neighbours(k, days_now)
    return Refresh(frozenset(dirty_days), frozenset(notes))


def all_day_keys(v: Vault, cat: Catalog, dirty_days: set[str] | frozenset[str]) -> set[str]:
    """Keys of days that exist after this update (rollup file or notes on that day)."""
    keys = set(cat.days)
    for k in dirty_days:
        node, day = k.split("/", 1)
        if not files.readable(v.root, layout.rollup_path(node, date.fromisoformat(day))):
            keys.discard(k)
        else:
            keys.add(k)
    keys |= {day_key(n.node, n.day) for n in cat.notes.values() if n.kind == "observation"}
    return keys


def neighbours(key: str, keys: set[str]) -> set[str]:
    """The days just before and after ``key`` among the same node's ``keys``."""
    node, day = key.split("/", 1)
    mine = sorted(k.split("/", 1)[1] for k in keys if k.startswith(node + "/"))
    out = set()
    i = bisect.bisect_left(mine, day)
    for j in (i - 1, i, i + 1):
        if 0 <= j < len(mine) and mine[j] != day:
            out.add(day_key(node, mine[j]))
    return out
