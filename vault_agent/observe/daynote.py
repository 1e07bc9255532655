"""Day notes (docs/architecture.md §2): ``agents/<node>/daily/YYYY/MM/YYYY-MM-DD.md``.

Written once a UTC day has closed, never overwritten: a sensor table (min, mean, max
with the times of min and max; for motion/door the events, time on, first and last
event) and the day's observations and memory as links, so a person can open it in
an editor (or Obsidian) and click through.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import yaml

from ..errors import RecordError
from ..vault import Vault, layout
from .stats import Summary, fmt, hhmm, summarize
from .store import RollupStore


def _u(s: Summary) -> str:
    if not s.unit:
        return ""
    return s.unit if s.unit.startswith("°") or s.unit == "%" else f" {s.unit}"


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _duration(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def sensor_tables(summaries: list[Summary]) -> list[str]:
    """Markdown tables: numeric sensors, then binary ones."""
    lines: list[str] = []
    nums = [s for s in summaries if not s.binary]
    bins = [s for s in summaries if s.binary]
    if nums:
        lines += [
            "| sensor | min | at | mean | max | at | readings |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for s in nums:
            d, u = s.quantity.decimals, _u(s)
            lines.append(
                f"| {s.sensor} | {fmt(s.min, d)}{u} | {hhmm(s.min_at) if s.min_at else '–'} "
                f"| {fmt(s.mean, d)}{u} | {fmt(s.max, d)}{u} "
                f"| {hhmm(s.max_at) if s.max_at else '–'} | {s.count} |"
            )
        lines.append("")
    if bins:
        lines += [
            "| sensor | events | time on | first | last | readings |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for s in bins:
            first = hhmm(s.first_event_at) if s.first_event_at else "–"
            last = hhmm(s.last_event_at) if s.last_event_at else "–"
            lines.append(
                f"| {s.sensor} | {s.events} | {_duration(s.on_s)} | {first} | {last} | {s.count} |"
            )
        lines.append("")
    return lines


def _window_label(t: datetime, window: dict | None, sub: str) -> str:
    """``12:00–13:00`` (window start–end, :func:`vault_agent.vault.layout.window_label`,
    as `vault observations` and the site show it) for an observation; ``HH:MM`` for a
    memory file. An end at midnight shows as 24:00."""
    end = (window or {}).get("end") if sub == "observations" else None
    if not end:
        return hhmm(t)
    return layout.window_label(layout.iso(t), end)


def _note_time(obs, sub: str) -> datetime | None:
    """When a note is about: an observation's window start; a memory file's ``day``
    (noon of it), else its creation time less 1 s (older files were created at the
    midnight that closed their day)."""
    if sub == "memory" and isinstance(obs.extra.get("day"), str | date):
        try:
            d = date.fromisoformat(str(obs.extra["day"])[:10])
        except ValueError:
            d = None
        if d is not None:
            return datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=12)
    ref = (obs.window or {}).get("start") if sub == "observations" else obs.created
    try:
        t = layout.parse_iso(ref)
    except (TypeError, ValueError):
        return None
    return t - timedelta(seconds=1) if sub == "memory" else t


def _notes_of_day(vault: Vault, day: date, sub: str) -> list[tuple[str, str, str]]:
    """(path, time label, one-line text) of this node's notes whose window starts on ``day``."""
    out = []
    months = {f"{day:%Y/%m}", f"{day + timedelta(days=1):%Y/%m}"}
    base = f"{layout.node_dir(vault.node)}/{sub}"
    for rel in vault.observation_files(vault.node, sub):
        if sub == "observations" and rel[len(base) + 1 : len(base) + 8] not in months:
            continue
        try:
            obs = vault.read_observation(rel)
        except RecordError:
            continue
        t = _note_time(obs, sub)
        if t is None or t.date() != day:
            continue
        text = obs.title or obs.body.strip().split("\n", 1)[0]
        first = obs.body.strip().split(". ")[0].rstrip(".") + "." if sub == "observations" else ""
        out.append((rel, _window_label(t, obs.window, sub), f"{text} — {first}" if first else text))
    return sorted(out, key=lambda x: (x[1], x[0]))


def times_line(vault: Vault) -> str:
    """ "Times are UTC." — or, for a node replaying recorded local times as UTC, the clock
    they are on (``[replay]`` in node.toml, :func:`vault_agent.sensors.replay.clock_note`)."""
    from ..sensors.replay import clock_note

    try:
        note = clock_note(vault.node_config())
    except RecordError:
        note = None
    return f"Times are {note}." if note else "Times are UTC."


def render_day_note(vault: Vault, day: date) -> tuple[str, list[str]] | None:
    """The note's text and the rollup files it summarises; None without rollups that day."""
    store = RollupStore(vault, day, day)
    t0 = datetime.combine(day, datetime.min.time(), UTC)
    t1 = t0 + timedelta(days=1)
    sums = [s for s in (summarize(store.between(n, t0, t1)) for n in store.sensors) if s]
    if not sums:
        return None
    rel = layout.daily_path(vault.node, day)
    here = rel.rsplit("/", 1)[0]
    obs = _notes_of_day(vault, day, "observations")
    mem = _notes_of_day(vault, day, "memory")
    sources = sorted(store.files.values())
    meta = {
        "node": vault.node,
        "day": day.isoformat(),
        "kind": "daily",
        "created": layout.iso(t1),
        "observations": len(obs),
        "sources": sources,
    }
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        f"# {day.isoformat()} · {vault.node}",
        "",
        f"{times_line(vault)} {_n(len(sums), 'sensor')}, {_n(len(obs), 'observation')}.",
        "",
        "## Sensors",
        "",
    ]
    lines += sensor_tables(sums)
    lines += ["## Observations", ""]
    if obs:
        for path, hm, text in obs:
            link = os.path.relpath(path, here).replace(os.sep, "/")
            lines.append(f"- {hm} [{text}]({link})")
    else:
        lines.append("Nothing unusual: a quiet day.")
    if mem:
        lines += ["", "## Memory", ""]
        for path, _, text in mem:
            lines.append(f"- [{text}]({os.path.relpath(path, here).replace(os.sep, '/')})")
    return "\n".join(lines) + "\n", sources


def write_day_note(vault: Vault, day: date) -> str | None:
    """Write ``day``'s note; returns its path, or None if it exists or the day has no data."""
    rel = layout.daily_path(vault.node, day)
    if vault.path(rel).exists():
        return None
    rendered = render_day_note(vault, day)
    if rendered is None:
        return None
    return vault.write_file(rel, rendered[0])
