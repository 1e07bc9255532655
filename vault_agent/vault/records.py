"""Record schemas (docs/architecture.md §4): rollup lines and observation files, with validation.

Schemas carry a version ``v``; readers accept every version up to
:data:`RECORD_VERSION`. A record that fails its schema raises
:class:`~vault_agent.errors.RecordError` naming the file and line; callers (indexers,
the site, ``vault check``) report and skip it, never rewrite it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from ..errors import RecordError
from .layout import NODE_RE, iso, parse_iso

RECORD_VERSION = 1
ROLLUP_REQUIRED = ("node", "sensor", "start", "end", "count")
OBSERVATION_REQUIRED = ("id", "node", "created", "kind")


@dataclass(frozen=True)
class Rollup:
    """One sensor's summary over one window [start, end).

    Numeric sensors fill mean/min/max/last/stddev (population, Welford) in ``unit``;
    binary sensors (motion, door) fill ``events`` (off→on transitions) and ``on_s``
    (seconds on). ``errors`` counts failed reads in the window; ``late`` marks a line
    written for readings that arrived after their window had closed.
    Times are UTC ISO 8601 strings.
    """

    node: str
    sensor: str
    quantity: str
    unit: str
    start: str
    end: str
    count: int
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    last: float | None = None
    stddev: float | None = None
    events: int | None = None
    on_s: float | None = None
    errors: int = 0
    late: bool = False
    hlc: str = ""
    min_at: str | None = None
    max_at: str | None = None
    v: int = RECORD_VERSION

    def to_json(self, hlc: str = "") -> str:
        """One JSON line (no newline), keys in the documented order, empty fields omitted.

        ``hlc``: the stamp to write instead of this rollup's own (how a new line is stamped
        without copying the rollup)."""
        d: dict[str, Any] = {"v": self.v}
        for k, val in self.__dict__.items():  # field order; values are plain (no deep copy)
            if k == "hlc" and hlc:
                val = hlc
            if k == "v" or val is None or (k == "late" and not val) or (k == "errors" and not val):
                continue
            if isinstance(val, float):
                val = round(val, 6)
            d[k] = val
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"))

    @property
    def day(self) -> date:
        """The UTC day of the window start (which file the line goes in)."""
        return parse_iso(self.start).date()


_ROLLUP_FIELDS = frozenset(Rollup.__dataclass_fields__)


def parse_rollup_line(text: str, path: str = "<rollup>", line: int = 0) -> Rollup:
    """Parse and validate one rollup JSONL line.

    Raises:
        RecordError: not JSON, not an object, a newer ``v``, a missing or ill-typed field.
    """
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordError(path, line, f"invalid JSON: {e.msg}") from None
    if not isinstance(d, dict):
        raise RecordError(path, line, f"rollup line is a JSON {type(d).__name__}, not an object")
    v = d.get("v", 1)
    if not isinstance(v, int) or v > RECORD_VERSION:
        raise RecordError(path, line, f"rollup schema v={v!r} is newer than this vault-agent")
    missing = [k for k in ROLLUP_REQUIRED if k not in d]
    if missing:
        raise RecordError(path, line, f"rollup line lacks {', '.join(missing)}")
    if not isinstance(d["node"], str) or not NODE_RE.match(d["node"]):
        raise RecordError(path, line, f"rollup node {d['node']!r} is not a valid node id")
    if not isinstance(d["sensor"], str) or not d["sensor"]:
        raise RecordError(path, line, f"rollup sensor {d['sensor']!r} must be a non-empty string")
    if isinstance(d["count"], bool) or not isinstance(d["count"], int) or d["count"] < 0:
        raise RecordError(path, line, "rollup count must be a non-negative integer")
    try:
        if not isinstance(d["start"], str) or not isinstance(d["end"], str):
            raise TypeError
        ends_before = parse_iso(d["end"]) < parse_iso(d["start"])
    except (ValueError, TypeError):
        raise RecordError(path, line, "rollup start/end are not ISO 8601 times") from None
    if ends_before:
        raise RecordError(path, line, "rollup window ends before it starts")
    for k in ("mean", "min", "max", "last", "stddev", "on_s"):
        val = d.get(k)
        if val is not None and (
            not isinstance(val, int | float) or isinstance(val, bool) or not math.isfinite(val)
        ):
            raise RecordError(path, line, f"rollup {k} must be a finite number, got {val!r}")
    kwargs = {k: val for k, val in d.items() if k in _ROLLUP_FIELDS}
    kwargs.setdefault("quantity", "")
    kwargs.setdefault("unit", "")
    return Rollup(**kwargs)


def parse_rollup_lines(
    data: bytes | str,
    path: str = "<rollup>",
    first_line: int = 0,
    errors: list[RecordError] | None = None,
) -> list[tuple[int, Rollup]]:
    """The one reader of rollup lines: ``(line number, Rollup)`` of every valid line.

    ``data`` is a file's content (or a part of it that starts at a line start:
    ``first_line`` is the number of the line before it). Line numbers are 1-based, blank
    lines count; a line that is not UTF-8 or fails :func:`parse_rollup_line` is skipped
    and added to ``errors`` (if given) with its file and line.
    """
    out: list[tuple[int, Rollup]] = []
    raw_lines: list[bytes] | list[str] = (
        data.split(b"\n") if isinstance(data, bytes) else data.split("\n")
    )
    for i, raw in enumerate(raw_lines, first_line + 1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError as e:
            if errors is not None:
                errors.append(RecordError(path, i, f"not valid UTF-8 (byte {e.start})"))
            continue
        if not text.strip():
            continue
        try:
            out.append((i, parse_rollup_line(text, path, i)))
        except RecordError as e:
            if errors is not None:
                errors.append(e)
    return out


@dataclass(frozen=True)
class Observation:
    """A short note about what a node noticed (Markdown body + YAML frontmatter).

    ``window`` is ``{"start": iso, "end": iso}``; ``confidence`` in [0, 1]; ``model`` is
    ``ollama/<model>``, ``llamacpp/<file>`` or ``rules/v1``; ``sources`` are vault paths.
    ``extra`` carries further frontmatter keys (``supersedes``, ``llm_rejected``,
    ``clock``, ``facts``…) unchanged.
    """

    id: str
    node: str
    created: str
    body: str
    hlc: str = ""
    kind: str = "observation"
    title: str = ""
    sensors: tuple[str, ...] = ()
    window: dict[str, str] | None = None
    confidence: float | None = None
    model: str = ""
    sources: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """The file's full text: YAML frontmatter (title included), then the body."""
        meta: dict[str, Any] = {
            "id": self.id,
            "node": self.node,
            "created": self.created,
            "hlc": self.hlc,
            "kind": self.kind,
        }
        if self.title:
            meta["title"] = self.title
        if self.sensors:
            meta["sensors"] = list(self.sensors)
        if self.window:
            meta["window"] = dict(self.window)
        if self.confidence is not None:
            meta["confidence"] = round(float(self.confidence), 3)
        if self.model:
            meta["model"] = self.model
        if self.sources:
            meta["sources"] = list(self.sources)
        meta.update(self.extra)
        head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
        body = self.body.strip() + "\n"
        return f"---\n{head}---\n{body}"


def _as_str_time(val: Any) -> str:
    if isinstance(val, datetime | date):
        return iso(parse_iso(val))
    return str(val)


YAML_FRONTMATTER = YAMLHandler()


def parse_markdown(text: str, path: str = "<markdown>") -> tuple[dict[str, Any], str]:
    """Split Markdown into (frontmatter dict, body). No frontmatter gives ({}, text).

    Frontmatter is a YAML mapping between a first line ``---`` and the next ``---``
    line (Jekyll/Obsidian style), split by python-frontmatter's YAML handler; a file
    starting with ``---`` without a closing line has none. Timestamps in the YAML
    become datetimes.

    Raises:
        RecordError: malformed YAML (with its line in the file) or YAML that is not a mapping.
    """
    if not YAML_FRONTMATTER.detect(text):
        return {}, text
    try:
        block, body = YAML_FRONTMATTER.split(text)
    except ValueError:
        return {}, text
    last_yaml_line = block.count("\n")  # block: opening newline, YAML lines, newline
    try:
        meta = yaml.safe_load(block)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1  # block line 0 is the opening ---
        line = min(line, last_yaml_line)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise RecordError(path, line, f"malformed YAML frontmatter: {problem}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise RecordError(path, 2, f"frontmatter is a YAML {type(meta).__name__}, not a mapping")
    return {str(k): v for k, v in meta.items()}, body.strip()


def _str_list(val: Any, key: str, path: str) -> tuple[str, ...]:
    """A frontmatter list of strings (a single string counts as a list of one)."""
    if val is None:
        return ()
    if isinstance(val, str):
        return (val,)
    if not isinstance(val, list) or not all(isinstance(x, str | int | float) for x in val):
        raise RecordError(path, 1, f"observation {key} must be a list of names, got {val!r}")
    return tuple(str(x) for x in val)


def parse_observation(text: str, path: str = "<observation>") -> Observation:
    """Parse and validate an observation (or memory) file.

    Raises:
        RecordError: malformed frontmatter, missing fields, an invalid node or time.
    """
    meta, body = parse_markdown(text, path)
    if not meta:
        raise RecordError(path, 1, "observation has no YAML frontmatter")
    missing = [k for k in OBSERVATION_REQUIRED if k not in meta]
    if missing:
        raise RecordError(path, 1, f"observation frontmatter lacks {', '.join(missing)}")
    node = meta["node"]
    if not isinstance(node, str) or not NODE_RE.match(node):
        raise RecordError(path, 1, f"observation node {node!r} is not a valid node id")
    try:
        created = _as_str_time(meta["created"])
        parse_iso(created)
    except (ValueError, TypeError):
        raise RecordError(
            path, 1, f"observation created {meta['created']!r} is not ISO 8601"
        ) from None
    conf = meta.get("confidence")
    if conf is not None and (
        isinstance(conf, bool) or not isinstance(conf, int | float) or not 0 <= conf <= 1
    ):
        raise RecordError(path, 1, f"observation confidence {conf!r} is not in [0, 1]")
    window = meta.get("window")
    if window is not None:
        if not isinstance(window, dict) or not {"start", "end"} <= set(window):
            raise RecordError(path, 1, "observation window must have start and end")
        window = {k: _as_str_time(v) for k, v in window.items()}
    sensors = _str_list(meta.get("sensors"), "sensors", path)
    sources = _str_list(meta.get("sources"), "sources", path)
    known = {
        "id",
        "node",
        "created",
        "hlc",
        "kind",
        "title",
        "sensors",
        "window",
        "confidence",
        "model",
        "sources",
    }
    return Observation(
        id=str(meta["id"]),
        node=node,
        created=created,
        body=body,
        hlc=str(meta.get("hlc") or ""),
        kind=str(meta["kind"]),
        title=str(meta.get("title") or ""),
        sensors=sensors,
        window=window,
        confidence=conf,
        model=str(meta.get("model") or ""),
        sources=sources,
        extra={k: v for k, v in meta.items() if k not in known},
    )
