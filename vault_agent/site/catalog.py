"""What the site knows about the vault: day summaries, observation and note metadata.

The catalog is derived from the files and cached in ``.vault/site-state.json`` so an
incremental build re-reads only the files that changed (docs/architecture.md: derived state can be
thrown away; ``vault site build --clean`` rebuilds it from the files).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..errors import RecordError
from ..query.summary import summarize
from ..vault import Vault, files, layout
from ..vault.records import Observation, Rollup, parse_markdown

log = logging.getLogger("vault_agent.site")
CATALOG_VERSION = 2  # 2: NoteMeta.start/end (window labels)


@dataclass(frozen=True)
class SensorDay:
    """One sensor's day: windows, sample count, count-weighted mean, extremes with their
    times (UTC ISO 8601), last value; binary sensors add ``events`` and ``on_s`` (seconds)."""

    sensor: str
    quantity: str
    unit: str
    windows: int
    samples: int
    mean: float | None = None
    min: float | None = None
    min_at: str | None = None
    max: float | None = None
    max_at: str | None = None
    last: float | None = None
    last_at: str | None = None
    binary: bool = False
    events: int | None = None
    on_s: float | None = None


@dataclass(frozen=True)
class DaySummary:
    """A node's UTC day of rollups (``rel`` is the rollup file; empty if none)."""

    node: str
    day: str
    rel: str
    first: str | None
    last: str | None
    sensors: tuple[SensorDay, ...] = ()
    bad_lines: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DaySummary:
        """Inverse of ``asdict``."""
        return cls(**{**d, "sensors": tuple(SensorDay(**s) for s in d.get("sensors", ()))})


@dataclass(frozen=True)
class NoteMeta:
    """An observation, memory fact or interaction: where it is and what the pages show."""

    rel: str
    id: str
    node: str
    created: str
    kind: str
    title: str
    day: str
    excerpt: str = ""
    sensors: tuple[str, ...] = ()
    confidence: float | None = None
    model: str = ""
    start: str = ""  # the window an observation is about (UTC ISO 8601), "" if none
    end: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NoteMeta:
        """Inverse of ``asdict``."""
        return cls(**{**d, "sensors": tuple(d.get("sensors", ()))})


@dataclass
class Catalog:
    """Everything the aggregate pages need, keyed for incremental updates."""

    days: dict[str, DaySummary] = field(default_factory=dict)  # "<node>/<YYYY-MM-DD>"
    notes: dict[str, NoteMeta] = field(default_factory=dict)  # vault path -> meta
    errors: dict[str, list[str]] = field(default_factory=dict)  # vault path -> problems

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (the cache format)."""
        return {
            "v": CATALOG_VERSION,
            "days": {k: asdict(v) for k, v in self.days.items()},
            "notes": {k: asdict(v) for k, v in self.notes.items()},
            "errors": self.errors,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Catalog:
        """Load the cache; raises ValueError on another version or a malformed cache."""
        if d.get("v") != CATALOG_VERSION:
            raise ValueError("site catalog version changed")
        return cls(
            {k: DaySummary.from_dict(v) for k, v in d["days"].items()},
            {k: NoteMeta.from_dict(v) for k, v in d["notes"].items()},
            {k: list(v) for k, v in d.get("errors", {}).items()},
        )

    def observations(self, node: str | None = None, kind: str = "observation") -> list[NoteMeta]:
        """Notes of ``kind`` (of ``node`` or all), oldest first."""
        return sorted(
            (n for n in self.notes.values() if n.kind == kind and (node is None or n.node == node)),
            key=lambda n: (n.created, n.id),
        )

    def days_of(self, node: str) -> list[DaySummary]:
        """The node's day summaries, oldest first."""
        return sorted((d for d in self.days.values() if d.node == node), key=lambda d: d.day)


def day_key(node: str, day: str) -> str:
    """Catalog key of a node's day."""
    return f"{node}/{day}"


# -- summarising rollups ------------------------------------------------------------------------
def summarize_sensor(sensor: str, rollups: list[Rollup]) -> SensorDay:
    """One sensor's windows of a day as the site shows them; the figures are
    :func:`vault_agent.query.summary.summarize`'s (count-weighted mean, count-0 lines
    ignored, extremes with their times)."""
    rs = sorted(rollups, key=lambda r: r.start)
    q, unit = rs[-1].quantity, rs[-1].unit
    st = summarize(rs)
    if st.binary:
        return SensorDay(
            sensor,
            q,
            unit,
            len(rs),
            st.count,
            binary=True,
            events=st.events,
            on_s=round(st.on_s, 3),
            last_at=rs[-1].end,
        )
    if st.mean is None:
        return SensorDay(sensor, q, unit, len(rs), st.count, last_at=rs[-1].end)
    return SensorDay(
        sensor,
        q,
        unit,
        len(rs),
        st.count,
        mean=round(st.mean, 6),
        min=st.min,
        min_at=_iso(st.min_at),
        max=st.max,
        max_at=_iso(st.max_at),
        last=st.last,
        last_at=_iso(st.last_at),
    )


def _iso(t: datetime | None) -> str | None:
    return layout.iso(t) if t is not None else None


def summarize_day(node: str, day: str, rel: str, rollups: list[Rollup], bad: int = 0) -> DaySummary:
    """A :class:`DaySummary` from one day file's rollups."""
    by_sensor: dict[str, list[Rollup]] = defaultdict(list)
    for r in rollups:
        by_sensor[r.sensor].append(r)
    sensors = tuple(summarize_sensor(s, rs) for s, rs in sorted(by_sensor.items()))
    return DaySummary(
        node,
        day,
        rel,
        min((r.start for r in rollups), default=None),
        max((r.end for r in rollups), default=None),
        sensors,
        bad,
    )


def read_day(v: Vault, rel: str) -> tuple[list[Rollup], list[RecordError]]:
    """All valid rollups of a day file and the problems found (never raises on bad lines)."""
    errors: list[RecordError] = []
    try:
        rollups = v.read_rollups(rel, errors)
    except OSError as e:
        return [], [RecordError(rel, 0, f"unreadable: {e}")]
    return rollups, errors


# -- notes ------------------------------------------------------------------------------------
def note_day(obs: Observation) -> str:
    """The UTC day an observation is about: its window start, else when it was written.

    A memory fact's window is its whole baseline (e.g. 14 days back): it belongs to
    the last day it covers (window end − 1 s), not to the first, which may be a day
    with no data at all.
    """
    window = obs.window or {}
    try:
        if obs.kind == "memory" and window.get("end"):
            return (layout.parse_iso(window["end"]) - timedelta(seconds=1)).date().isoformat()
        return layout.parse_iso(window.get("start") or obs.created).date().isoformat()
    except ValueError:
        return obs.created[:10]


def excerpt(body: str, n: int = 220) -> str:
    """First paragraph of a Markdown body without headings, cut to ``n`` characters."""
    lines = [ln.strip() for ln in body.strip().splitlines()]
    text = " ".join(ln for ln in lines if ln and not ln.startswith("#"))
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def meta_of_observation(rel: str, obs: Observation) -> NoteMeta:
    """Catalog entry of an observation or memory file."""
    title = obs.title or excerpt(obs.body, 80) or obs.id
    window = obs.window or {}
    return NoteMeta(
        rel,
        obs.id,
        obs.node,
        obs.created,
        obs.kind if obs.kind == "memory" or "/memory/" in rel else "observation",
        title,
        note_day(obs),
        excerpt(obs.body),
        tuple(str(s) for s in obs.sensors),
        obs.confidence,
        obs.model,
        str(window.get("start") or ""),
        str(window.get("end") or ""),
    )


def meta_of_interaction(v: Vault, rel: str) -> NoteMeta:
    """Catalog entry of an ``interactions/`` file (frontmatter optional).

    Raises:
        RecordError: unreadable file or malformed frontmatter.
    """
    try:
        text = v.path(rel).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(rel, 0, f"not valid UTF-8 (byte {e.start})") from None
    meta, body = parse_markdown(text, rel)
    name = rel.rsplit("/", 1)[-1]
    m = layout.INTERACTION_NAME_RE.match(name)
    created = str(meta.get("created") or "")
    if not created and m:
        s = m.group(1)
        created = f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z"
    node = str(meta.get("node") or (m.group(2) if m else ""))
    question = str(meta.get("question") or meta.get("title") or "")
    if not question:
        for ln in body.splitlines():
            if ln.startswith("#"):
                question = ln.lstrip("#").strip()
                break
    return NoteMeta(
        rel,
        str(meta.get("id") or name[:-3]),
        node,
        created,
        "interaction",
        question or name[:-3],
        created[:10],
        excerpt(body),
    )


def scan_note(v: Vault, rel: str) -> NoteMeta:
    """Catalog entry of any note file the site shows (observation, memory, interaction).

    Raises:
        RecordError: the file fails its schema.
    """
    if rel.startswith(layout.INTERACTIONS + "/"):
        return meta_of_interaction(v, rel)
    return meta_of_observation(rel, v.read_observation(rel))


def note_files(v: Vault) -> list[str]:
    """Vault paths of every observation, memory and interaction file (no conflict copies)."""
    out = v.observation_files(None, "observations") + v.observation_files(None, "memory")
    base = v.path(layout.INTERACTIONS)
    if base.is_dir():
        out += sorted(
            v.rel(p)
            for p in base.rglob("*.md")
            if p.name != "README.md"
            and not layout.is_conflict_copy(p.name)
            and files.readable(v.root, v.rel(p))
        )
    return out


def is_note_path(rel: str) -> bool:
    """True for a path the catalog keeps as a note."""
    info = layout.classify(rel)
    return rel.endswith(".md") and info.kind in ("observation", "memory", "interaction")


def is_rollup_path(rel: str) -> bool:
    """True for a rollup day file."""
    return layout.classify(rel).kind == "rollup" and bool(
        layout.ROLLUP_NAME_RE.match(rel.rsplit("/", 1)[-1])
    )


def rollup_day(rel: str) -> tuple[str, str]:
    """(node, YYYY-MM-DD) of a rollup file path."""
    parts = rel.split("/")
    return parts[1], parts[-1][:10]


def kb_notes(v: Vault) -> list[str]:
    """Knowledge-base files (any type) relative to ``knowledge-base/``, no conflict copies.

    Symlinks, names that are not UTF-8 and files over the size limit are skipped and
    reported once (:func:`~vault_agent.vault.files.vault_files`): never published.
    """
    base = v.path(layout.KNOWLEDGE)
    if not base.is_dir():
        return []
    prefix = layout.KNOWLEDGE + "/"
    return sorted(
        rel.removeprefix(prefix)
        for rel in files.vault_files(v.root, under=layout.KNOWLEDGE)
        if not rel.rsplit("/", 1)[-1].startswith(".") and not layout.is_conflict_copy(rel)
    )


def load_catalog(data: dict[str, Any] | None) -> Catalog | None:
    """A cached catalog; None when absent or unusable (a full scan follows)."""
    if not data:
        return None
    try:
        return Catalog.from_json(data)
    except (ValueError, KeyError, TypeError) as e:
        log.info("site catalog cache unusable (%s); rebuilding", e)
        return None


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    return list(dict.fromkeys(items))
