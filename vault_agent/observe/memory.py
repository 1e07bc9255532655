"""Memory facts: typical patterns a node has learned from its own rollups.

Recomputed once a day over the last N days (``[observer] baseline_days``) and written
as a new ``agents/<node>/memory/`` file (``kind: memory``) that names the file it
replaces in ``supersedes:``; files are never edited in place (docs/architecture.md §3.1).
A file is dated by the day it closes (``day``, its window, its name), never by the
first day of its baseline (see :func:`write_memory`).

- binary sensors: hours of the day (UTC) with events on at least 60 % of weekdays
  (or weekend days), merged into ranges: "s6-pir: motion usually 09:00–12:00 on
  weekdays (4 of 5 days)";
- numeric sensors: the usual daily range (median daily min … median daily max) and
  the usual hour of the min and max: "s1-temp: usually 21.3–24.9 °C over a day;
  lowest around 06:00, highest around 15:00";
- light and CO2 (a room in use): the hours they are usually high, as for motion:
  "office-light: high (≥ 313 lx) usually 07:00–18:00 on weekdays (at least 4 of 5 days)".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..vault import Vault, layout
from .daynote import times_line
from .rules import EVENT_NOUN, MODEL
from .stats import Summary, fmt, summarize
from .store import RollupStore

TYPICAL_SHARE = 0.6
PATTERNS_SLUG = "typical-patterns"
MIN_GROUP_DAYS = 2


@dataclass(frozen=True)
class Pattern:
    """One learned pattern: a sentence plus its structured form."""

    sensor: str
    text: str
    data: dict[str, Any]


def _day_bounds(d: date) -> tuple[datetime, datetime]:
    t0 = datetime.combine(d, datetime.min.time(), UTC)
    return t0, t0 + timedelta(days=1)


def _ranges(hours: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sorted hours as (first, last + 1)."""
    out: list[tuple[int, int]] = []
    for h in sorted(hours):
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + 1)
        else:
            out.append((h, h + 1))
    return out


def _binary_pattern(
    sensor: str,
    quantity: str,
    per_day: dict[date, list[int]],
    noun: str | None = None,
    kind: str = "binary",
) -> Pattern:
    noun = noun or EVENT_NOUN.get(quantity, "activity").lower()
    parts = []
    data: dict[str, Any] = {"kind": kind, "days": len(per_day)}
    for label, is_group in (
        ("weekdays", lambda d: d.weekday() < 5),
        ("weekends", lambda d: d.weekday() >= 5),
    ):
        days = {d: h for d, h in per_day.items() if is_group(d)}
        if len(days) < MIN_GROUP_DAYS:
            continue
        counts = [sum(1 for hrs in days.values() if hrs[h] > 0) for h in range(24)]
        typical = [h for h in range(24) if counts[h] >= TYPICAL_SHARE * len(days)]
        active_days = sum(1 for hrs in days.values() if any(hrs))
        rng = _ranges(typical)
        data[label] = {
            "days": len(days),
            "active_days": active_days,
            "usual_hours": [f"{a:02d}:00-{b % 24:02d}:00" for a, b in rng],
        }
        if rng:
            spans = ", ".join(f"{a:02d}:00–{b % 24:02d}:00" for a, b in rng)
            least = min(counts[h] for h in typical)
            parts.append(f"usually {spans} on {label} (at least {least} of {len(days)} days)")
        elif active_days == 0:
            parts.append(f"none on {label} (0 of {len(days)} days)")
        else:
            parts.append(f"no usual hour on {label} (some on {active_days} of {len(days)} days)")
    if not parts:
        active = sum(1 for hrs in per_day.values() if any(hrs))
        parts.append(f"on {active} of {len(per_day)} days")
    return Pattern(sensor, f"{sensor}: {noun} " + "; ".join(parts) + ".", data)


def _numeric_pattern(sensor: str, sums: list[Summary]) -> Pattern:
    q = sums[0].quantity
    unit = sums[0].unit
    u = unit if unit.startswith("°") or unit == "%" else f" {unit}" if unit else ""
    lo = statistics.median(s.min for s in sums if s.min is not None)
    hi = statistics.median(s.max for s in sums if s.max is not None)
    lo_h = round(statistics.median(s.min_at.hour for s in sums if s.min_at)) % 24
    hi_h = round(statistics.median(s.max_at.hour for s in sums if s.max_at)) % 24
    text = (
        f"{sensor}: usually {fmt(lo, q.decimals)}–{fmt(hi, q.decimals)}{u} over a day; "
        f"lowest around {lo_h:02d}:00, highest around {hi_h:02d}:00 ({len(sums)} days)."
    )
    return Pattern(
        sensor,
        text,
        {
            "kind": "numeric",
            "days": len(sums),
            "usual_min": fmt(lo, q.decimals),
            "usual_max": fmt(hi, q.decimals),
            "unit": unit,
            "min_hour": f"{lo_h:02d}:00",
            "max_hour": f"{hi_h:02d}:00",
        },
    )


def _high_hours_pattern(
    sensor: str,
    sums: list[Summary],
    rolls_by_day: dict[date, list],
) -> Pattern | None:
    """Hours a light or CO2 sensor is usually high: a proxy for a room in use.

    "High" is an hour mean above the midpoint of the usual daily min and max.
    """
    q = sums[0].quantity
    if q.name not in ("light", "co2"):
        return None
    lo = statistics.median(s.min for s in sums if s.min is not None)
    hi = statistics.median(s.max for s in sums if s.max is not None)
    if q.swing is None or hi - lo < q.swing:
        return None  # no clear on/off difference to learn
    mid = (lo + hi) / 2
    per_day: dict[date, list[int]] = {}
    for d, rolls in rolls_by_day.items():
        hours = [0] * 24
        by_hour: dict[int, list] = {}
        for r in rolls:
            if r.count > 0 and r.mean is not None:
                by_hour.setdefault(layout.parse_iso(r.start).hour, []).append(r)
        for h, rs in by_hour.items():
            s = summarize(rs)
            hours[h] = int(s is not None and s.mean is not None and s.mean >= mid)
        per_day[d] = hours
    unit = sums[0].unit
    u = unit if unit.startswith("°") or unit == "%" else f" {unit}" if unit else ""
    p = _binary_pattern(
        sensor, q.name, per_day, noun=f"high (≥ {fmt(mid, q.decimals)}{u})", kind="high-hours"
    )
    p.data["threshold"] = fmt(mid, q.decimals)
    return p


def learn(store: RollupStore, last_day: date, n_days: int) -> tuple[list[Pattern], int]:
    """Patterns over the ``n_days`` days ending with ``last_day``; also the days with data."""
    days = [last_day - timedelta(days=k) for k in range(n_days - 1, -1, -1)]
    patterns: list[Pattern] = []
    seen_days: set[date] = set()
    for sensor in store.sensors:
        binary_days: dict[date, list[int]] = {}
        sums: list[Summary] = []
        rolls_by_day: dict[date, list] = {}
        quantity = ""
        for d in days:
            t0, t1 = _day_bounds(d)
            rolls = store.between(sensor, t0, t1)
            s = summarize(rolls)
            if s is None:
                continue
            seen_days.add(d)
            quantity = s.quantity.name
            if s.binary:
                hours = [0] * 24
                for r in rolls:
                    if (r.events or 0) > 0:
                        hours[layout.parse_iso(r.start).hour] += r.events or 0
                binary_days[d] = hours
            else:
                sums.append(s)
                rolls_by_day[d] = rolls
        if binary_days:
            patterns.append(_binary_pattern(sensor, quantity, binary_days))
        elif sums:
            patterns.append(_numeric_pattern(sensor, sums))
            high = _high_hours_pattern(sensor, sums, rolls_by_day)
            if high:
                patterns.append(high)
    return patterns, len(seen_days)


def memory_files(vault: Vault) -> list[str]:
    """This node's memory files, oldest first (by name: the stamp leads)."""
    return vault.observation_files(vault.node, "memory")


def _id_of(rel: str) -> str:
    m = layout.OBSERVATION_NAME_RE.match(rel.rsplit("/", 1)[-1])
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else ""


def write_memory(vault: Vault, last_day: date, n_days: int = 14) -> str | None:
    """Write the memory file learned up to ``last_day``: the day it describes.

    The note is dated by that day everywhere a reader looks: frontmatter ``day``, a
    ``window`` of that day (00:00–24:00 UTC), ``created`` at its last second, so the
    file name's stamp carries the day too. The span the patterns were learned over is
    ``baseline`` (``start``/``end`` UTC ISO 8601, ``days`` asked, ``days_with_data``).
    Notes written before this rule (window = the baseline, created at the next
    midnight) are never rewritten; one of them for ``last_day`` counts as written.

    Returns its path; None when one for that day exists already or there is no data.
    """
    day_start, day_end = _day_bounds(last_day)
    created = day_end - timedelta(seconds=1)
    files = memory_files(vault)
    names = [f.rsplit("/", 1)[-1] for f in files]
    # the legacy name of the same day's note carried the next midnight's stamp
    prefixes = tuple(f"{layout.stamp(t)}-{vault.node}-" for t in (created, day_end))
    if any(n.startswith(prefixes) and n.endswith(f"-{PATTERNS_SLUG}.md") for n in names):
        return None
    first = last_day - timedelta(days=n_days - 1)
    store = RollupStore(vault, first, last_day)
    patterns, days = learn(store, last_day, n_days)
    if not patterns:
        return None
    stamp = layout.stamp(created)
    # Trigger: agents also write memory/ facts (``vault mcp`` remember). Why: only a
    # learned-patterns file is superseded by the next one. What: the chain skips the rest.
    earlier = [
        f for f in files if f.rsplit("/", 1)[-1][:16] < stamp and f.endswith(f"-{PATTERNS_SLUG}.md")
    ]
    extra: dict[str, Any] = {"day": last_day.isoformat()}
    extra["baseline"] = {
        "start": layout.iso(_day_bounds(first)[0]),
        "end": layout.iso(day_end),
        "days": n_days,
        "days_with_data": days,
    }
    if earlier:
        extra["supersedes"] = _id_of(earlier[-1])
    extra["patterns"] = [{"sensor": p.sensor, **p.data} for p in patterns]
    body = (
        f"Typical patterns of node {vault.node} on {last_day.isoformat()}, learned over the "
        f"{n_days} days up to it ({days} with data). {times_line(vault)}\n\n"
        + "\n".join(f"- {p.text}" for p in patterns)
    )
    rel, _ = vault.write_observation(
        body,
        title=f"Typical patterns up to {last_day.isoformat()}",
        kind="memory",
        sensors=list(dict.fromkeys(p.sensor for p in patterns)),
        window={"start": layout.iso(day_start), "end": layout.iso(day_end)},
        confidence=round(min(days, n_days) / n_days, 2),
        model=MODEL,
        sources=sorted(store.files.values()),
        created=created,
        slug=PATTERNS_SLUG,
        extra=extra,
    )
    return rel
