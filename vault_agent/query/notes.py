"""Observations and memory facts as :class:`ObservationInfo` (their YAML frontmatter).

Files: ``agents/<node>/observations/**/*.md`` and ``agents/<node>/memory/**/*.md``
(conflict copies excluded). Parsed files are kept per process and re-read when their
size or mtime changes. A file failing the observation schema is skipped and logged.

The day an observation is about: frontmatter ``day`` if given; a memory fact's last
covered day (window end − 1 s); else its window start; else when it was written; in
the vault's time zone.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ..errors import RecordError
from ..vault import files, layout
from ..vault.records import Observation, parse_observation
from .model import ObservationInfo

log = logging.getLogger("vault_agent.query")
FOLDERS = ("observations", "memory")


def _time(text: object) -> datetime | None:
    try:
        return layout.parse_iso(text)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


def note_day(obs: Observation, tz: ZoneInfo) -> date | None:
    """The vault-zone day ``obs`` is about (see the module docstring)."""
    day = obs.extra.get("day")
    if isinstance(day, date) and not isinstance(day, datetime):
        return day
    if isinstance(day, str):
        try:
            return date.fromisoformat(day[:10])
        except ValueError:
            pass
    window = obs.window or {}
    end = _time(window.get("end"))
    if obs.kind == "memory" and end is not None:
        return (end - timedelta(seconds=1)).astimezone(tz).date()
    t = _time(window.get("start")) or _time(obs.created)
    return t.astimezone(tz).date() if t else None


def info_of(rel: str, obs: Observation, tz: ZoneInfo) -> ObservationInfo:
    """The :class:`ObservationInfo` of a parsed observation file."""
    window = obs.window or {}
    start, end = _time(window.get("start")), _time(window.get("end"))
    return ObservationInfo(
        rel,
        obs.node,
        obs.kind,
        obs.title,
        obs.body.strip(),
        obs.created,
        layout.iso(start) if start else None,
        layout.iso(end) if end else None,
        tuple(str(s) for s in obs.sensors),
        note_day(obs, tz),
    )


def overlaps(o: ObservationInfo, t0: datetime | None, t1: datetime | None) -> bool:
    """True when ``o``'s window (else its creation time) overlaps [t0, t1)."""
    a = _time(o.start) or _time(o.created)
    z = _time(o.end) or a
    if a is None or z is None:
        return t0 is None and t1 is None
    if t0 is not None and z <= t0 and not (a == z and a >= t0):
        return False
    return t1 is None or a < t1


class NoteCache:
    """Parsed observation files of a vault, re-read when size or mtime changes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._seen: dict[str, tuple[int, int, Observation | None]] = {}

    def files(self) -> list[Path]:
        """Observation and memory files (no conflict copies)."""
        out: list[Path] = []
        for sub in FOLDERS:
            for p in (self.root / layout.AGENTS).glob(f"*/{sub}/**/*.md"):
                if layout.is_conflict_copy(p.name) or p.name == "README.md":
                    continue
                if files.readable(self.root, p.relative_to(self.root).as_posix()):
                    out.append(p)
        return out

    def refresh(self, tz: ZoneInfo) -> list[ObservationInfo]:
        """Every readable observation, oldest window first."""
        seen: dict[str, tuple[int, int, Observation | None]] = {}
        for p in self.files():
            rel = p.relative_to(self.root).as_posix()
            st = p.stat()
            old = self._seen.get(rel)
            if old and old[:2] == (st.st_size, st.st_mtime_ns):
                seen[rel] = old
                continue
            try:
                obs: Observation | None = parse_observation(p.read_text("utf-8"), rel)
            except (RecordError, UnicodeDecodeError, OSError) as e:
                log.warning("event=query_observation_skipped file=%s problem=%s", rel, e)
                obs = None
            seen[rel] = (st.st_size, st.st_mtime_ns, obs)
        self._seen = seen
        out = [info_of(rel, o, tz) for rel, (_, _, o) in seen.items() if o is not None]
        return sorted(out, key=lambda o: (o.start or o.created, o.path))
