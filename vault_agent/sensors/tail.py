"""``vault logs --tail``: follow rollup lines and observations as they are written.

Polling, not inotify: it works the same on every filesystem (SD cards, NFS, a synced
copy) and costs a ``stat`` per day file per second. Rollup files are read from the
offset reached last time (only whole lines; a partial last line waits for its
newline); observations are reported when a new file appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import RecordError
from ..vault.records import Rollup, parse_rollup_lines


@dataclass(frozen=True)
class LogEntry:
    """One followed record: ``kind`` rollup|observation, its time (UTC ISO), text, path."""

    kind: str
    node: str
    t: str
    text: str
    path: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "kind": self.kind,
            "node": self.node,
            "t": self.t,
            "text": self.text,
            "path": self.path,
            "data": self.data,
        }


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def format_rollup(r: Rollup) -> str:
    """One human line for a rollup (``s1-temperature 24.9 °C (24.8–25.0, n=10)``)."""
    head = f"{r.start[11:16]}–{r.end[11:16]} {r.sensor}"
    if r.events is not None or r.on_s is not None:
        body = f"{r.events or 0} event(s), on {r.on_s or 0:.0f} s (n={r.count})"
    elif r.count == 0:
        body = "no readings"
    else:
        body = (f"{_num(r.mean)} {r.unit} ({_num(r.min)}–{_num(r.max)}, n={r.count})").replace(
            "  ", " "
        )
    extra = "".join([f" errors={r.errors}" if r.errors else "", " LATE" if r.late else ""])
    return f"{head} {body}{extra}"


def rollup_entry(r: Rollup, rel: str) -> LogEntry:
    """A :class:`LogEntry` of a rollup line."""
    return LogEntry(
        "rollup",
        r.node,
        r.end,
        format_rollup(r),
        rel,
        {k: v for k, v in r.__dict__.items() if v is not None},
    )


class LogFollower:
    """Remembers how far each file was read; :meth:`poll` returns what is new.

    Args:
        vault: the vault.
        node: only this node (default: every node's folder).
    """

    def __init__(self, vault: Any, node: str | None = None) -> None:
        self.vault = vault
        self.node = node
        self._offsets: dict[str, int] = {}
        self._seen_obs: set[str] = set()

    def recent(self, n: int = 10) -> list[LogEntry]:
        """The last ``n`` entries (newest day file per node, newest observations) and mark
        everything existing as read."""
        entries: list[LogEntry] = []
        files = self.vault.rollup_files(self.node)
        newest: dict[str, str] = {}
        for rel in files:
            newest[rel.split("/")[1]] = rel
        for rel in files:
            self._offsets[rel] = self.vault.path(rel).stat().st_size
        for rel in newest.values():
            for r in self.vault.read_rollups(rel):
                entries.append(rollup_entry(r, rel))
        for rel in self.vault.observation_files(self.node):
            self._seen_obs.add(rel)
        for rel in self.vault.observation_files(self.node)[-n:]:
            e = self._obs_entry(rel)
            if e:
                entries.append(e)
        entries.sort(key=lambda e: e.t)
        return entries[-n:] if n > 0 else []

    def poll(self) -> list[LogEntry]:
        """New rollup lines and new observation files since the last call."""
        out: list[LogEntry] = []
        for rel in self.vault.rollup_files(self.node):
            out += self._new_lines(rel)
        for rel in self.vault.observation_files(self.node):
            if rel not in self._seen_obs:
                self._seen_obs.add(rel)
                e = self._obs_entry(rel)
                if e:
                    out.append(e)
        return out

    def _new_lines(self, rel: str) -> list[LogEntry]:
        p = self.vault.path(rel)
        start = self._offsets.get(rel, 0)
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            return []
        if size < start:  # cut back (torn tail repaired): read from its new end on
            self._offsets[rel] = size
            return []
        if size == start:
            return []
        with open(p, "rb") as fh:
            fh.seek(start)
            data = fh.read(size - start)
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self._offsets[rel] = start + end + 1
        return [rollup_entry(r, rel) for _, r in parse_rollup_lines(data[:end], rel)]

    def _obs_entry(self, rel: str) -> LogEntry | None:
        try:
            o = self.vault.read_observation(rel)
        except RecordError:
            return None
        text = " ".join(o.body.split())
        return LogEntry(
            "observation",
            o.node,
            o.created,
            (o.title + ": " if o.title else "") + text[:200],
            rel,
            {"id": o.id, "kind": o.kind, "sensors": list(o.sensors)},
        )
