"""Replay of a recorded real data set as this node's sensors (``vault replay``).

Two formats are recognised by their header (see ``datasets/*/SOURCE.md``):

* ``room-occupancy-estimation`` (Singh et al., 2018): ``Date,Time,S1_Temp,…`` —
  seven recorded nodes in one room. S1–S4 give temperature (°C), light (lx) and sound
  (V); S5 CO2 (ppm); S6 and S7 a PIR (binary motion). ``Date`` is ``DD-MM-YYYY`` in the
  bundled copy, ``YYYY/MM/DD`` in UCI's: both are accepted.
* ``occupancy-detection`` (Candanedo & Feldheim, 2016): ``"date","Temperature",…`` —
  one office (source ``office``). Rows carry a leading unnamed row id (one field more
  than the header); copies without it, and unquoted dates, are accepted too.

One recorded node ↔ one vault node: ``source`` picks the recorded node (``S6``). When
it is omitted, a source already configured in node.toml for this file's format is
reused; else a vault node name holding the token ``s1``…``s7`` (``s6``, ``room-s6``)
picks it; else the default is ``S1`` (the richest multi-sensor node) for the room data
and ``office`` for the office data.

Time: the recordings hold local wall-clock times without a zone. By default they are
read **as if they were UTC**, so "09:00 in the room" stays 09:00 in the vault and
daily patterns line up with the day files; pass ``tz`` (an IANA name such as
``Asia/Kolkata`` or ``Europe/Brussels``) to convert real local times to UTC instead.
:func:`configure_node` records which it was in node.toml, so answers can name the
clock their times are on (:func:`clock_note`)::

    [replay]
    times = "local"            # the recording's wall clock, stored as if UTC ("utc": converted)
    zone = "Europe/Brussels"   # where it was recorded (bundled data sets; or the --tz given)

A malformed row (wrong number of fields, a bad date or number) is reported with its
1-based line number and skipped; an unterminated last line that does not parse is
reported as truncated.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..errors import VaultError
from ..vault import layout
from . import datasets
from .base import Reading
from .config import SensorSpec, parse_sensors, window_seconds
from .rollup import RollupEngine, written_windows

DMY_RE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
YMD_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")
SOURCE_TOKEN_RE = re.compile(r"(?:^|-)s([1-7])(?:-|$)")


class ReplayFormatError(VaultError):
    """A file whose header is not a known recorded data set, or an unknown source."""


@dataclass(frozen=True)
class ReplayColumn:
    """One recorded column and the sensor it becomes.

    Attributes:
        column: header name in the file (``S1_Temp``).
        source: recorded node it belongs to (``S1``, ``office``).
        name: sensor id suffix (the id is ``<source>-<name>``, lower case).
        quantity, unit: of the values (``temperature``, ``°C``).
        binary: a 0/1 column (PIR motion).
        words: what people call it ("temperature", "light"), for the sensor's ``name``.
        aliases: other names ("temp"), for the sensor's ``aliases`` in node.toml.
    """

    column: str
    source: str
    name: str
    quantity: str
    unit: str
    binary: bool = False
    words: str = ""
    aliases: tuple[str, ...] = ()

    def sensor_id(self) -> str:
        """The sensor id in node.toml (``s1-temperature``)."""
        return f"{self.source.lower()}-{self.name}"


@dataclass(frozen=True)
class ReplayFormat:
    """A recognised recorded data set: its columns, cadence and default source."""

    name: str
    columns: tuple[ReplayColumn, ...]
    interval_s: float
    default_source: str
    date_column: str
    time_column: str | None = None
    room: str = ""

    def sources(self) -> list[str]:
        """Recorded node ids in column order (``S1``…``S7``, or ``office``)."""
        out: list[str] = []
        for c in self.columns:
            if c.source not in out:
                out.append(c.source)
        return out

    def columns_of(self, source: str) -> list[ReplayColumn]:
        """The columns recorded by one node."""
        return [c for c in self.columns if c.source == source]


TEMP = ("temp",)
LIGHT = ("light", "lux")
CO2 = ("co2", "carbon dioxide")
MOTION = ("motion", "pir")


def _room_columns() -> tuple[ReplayColumn, ...]:
    cols = []
    for n in range(1, 5):
        cols += [
            ReplayColumn(f"S{n}_Temp", f"S{n}", "temperature", "temperature", "°C",
                         words="temperature", aliases=TEMP),
            ReplayColumn(f"S{n}_Light", f"S{n}", "light", "illuminance", "lx",
                         words="light", aliases=LIGHT),
            ReplayColumn(f"S{n}_Sound", f"S{n}", "sound", "sound", "V",
                         words="sound", aliases=("noise",)),
        ]  # fmt: skip
    cols.append(ReplayColumn("S5_CO2", "S5", "co2", "co2", "ppm", words="co2", aliases=CO2[1:]))
    cols += [
        ReplayColumn(f"S{n}_PIR", f"S{n}", "motion", "motion", "", binary=True,
                     words="motion", aliases=MOTION[1:])
        for n in (6, 7)
    ]  # fmt: skip
    return tuple(cols)


ROOM = ReplayFormat(
    "room-occupancy-estimation", _room_columns(), 30.0, "S1", "Date", "Time", room="room"
)
OFFICE = ReplayFormat(
    "occupancy-detection",
    (
        ReplayColumn("Temperature", "office", "temperature", "temperature", "°C",
                     words="temperature", aliases=TEMP),
        ReplayColumn("Humidity", "office", "humidity", "humidity", "%RH",
                     words="humidity", aliases=("rh",)),
        ReplayColumn("Light", "office", "light", "illuminance", "lx", words="light",
                     aliases=LIGHT[1:]),
        ReplayColumn("CO2", "office", "co2", "co2", "ppm", words="co2", aliases=CO2[1:]),
        ReplayColumn("HumidityRatio", "office", "humidity-ratio", "humidity_ratio", "kg/kg",
                     words="humidity ratio"),
    ),
    60.0,
    "office",
    "date",
    room="office",
)  # fmt: skip


def _split(line: str) -> list[str]:
    return [f.strip().strip('"').strip() for f in line.rstrip("\r\n").split(",")]


def read_header(path: str | Path) -> list[str]:
    """The header fields of a CSV file (quotes and a UTF-8 BOM removed).

    Raises:
        ReplayFormatError: empty or unreadable as UTF-8.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise ReplayFormatError(f"{path}:1: not a UTF-8 text file") from None
    if not first.strip():
        raise ReplayFormatError(f"{path}:1: empty file, no header")
    return _split(first)


def detect_format(path: str | Path) -> ReplayFormat:
    """Recognise a recorded data set by its header.

    Raises:
        ReplayFormatError: the header matches no known format (it is quoted in the error).
        FileNotFoundError: no such file.
    """
    header = read_header(path)
    names = set(header)
    for fmt in (ROOM, OFFICE):
        needed = {c.column for c in fmt.columns} | {fmt.date_column}
        if fmt.time_column:
            needed.add(fmt.time_column)
        if needed <= names:
            return fmt
    shown = ",".join(header)[:120]
    raise ReplayFormatError(
        f"{path}:1: header not recognised ({shown}); known formats: "
        "room-occupancy-estimation (Date,Time,S1_Temp,…), "
        'occupancy-detection ("date","Temperature","Humidity","Light","CO2",…)'
    )


def sources(path: str | Path) -> list[str]:
    """Recorded node ids in a data set (``S1``…``S7``, or ``office``)."""
    return detect_format(path).sources()


def parse_local_time(date_text: str, time_text: str | None = None) -> datetime:
    """Parse a recorded date (``DD-MM-YYYY``, ``YYYY/MM/DD``, ``YYYY-MM-DD``, with an
    optional `` HH:MM[:SS]`` or a separate time field) into a naive datetime.

    Raises:
        ValueError: with what was wrong.
    """
    d = date_text.strip()
    t = time_text.strip() if time_text is not None else ""
    if time_text is None and " " in d:
        d, t = d.split(None, 1)
    m = YMD_RE.match(d)
    if m:
        y, mo, da = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = DMY_RE.match(d)
        if not m:
            raise ValueError(f"date {date_text!r} is not DD-MM-YYYY or YYYY/MM/DD")
        da, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h = mi = s = 0
    if t:
        mt = TIME_RE.match(t)
        if not mt:
            raise ValueError(f"time {t!r} is not HH:MM:SS")
        h, mi, s = int(mt.group(1)), int(mt.group(2)), int(mt.group(3) or 0)
    return datetime(y, mo, da, h, mi, s)  # raises ValueError on 31-02-2017 etc.


@dataclass(frozen=True)
class Row:
    """One parsed data row: 1-based line number, UTC time, values by column name."""

    line: int
    t: datetime
    values: dict[str, float]


@dataclass
class ReplayStats:
    """What a replay did (counts; ``malformed`` lists (line, problem) of skipped rows)."""

    format: str = ""
    source: str = ""
    rows: int = 0
    readings: int = 0
    skipped_closed: int = 0
    rollups: int = 0
    late: int = 0
    commits: int = 0
    malformed: list[tuple[int, str]] = field(default_factory=list)
    first: str | None = None
    last: str | None = None
    bytes_read: int = 0
    bytes_total: int = 0
    elapsed_s: float = 0.0
    stopped: bool = False
    sensors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = dict(self.__dict__)
        d["malformed"] = [{"line": n, "problem": p} for n, p in self.malformed]
        return d


def iter_rows(
    path: str | Path,
    fmt: ReplayFormat,
    columns: list[ReplayColumn],
    errors: list[tuple[int, str]],
    tz: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """Parse the data rows of ``path``, yielding the ``columns`` needed.

    Malformed rows are appended to ``errors`` as (line, problem) and skipped.
    """
    zone = None
    if tz:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tz)
    header = read_header(path)
    idx = {name: i for i, name in enumerate(header)}
    di = idx[fmt.date_column]
    ti = idx[fmt.time_column] if fmt.time_column else None
    wanted = [(c.column, idx[c.column]) for c in columns]
    width = len(header)
    with open(path, "rb") as fh:
        head = fh.readline()
        if on_bytes:
            on_bytes(len(head))
        n = 1
        for raw in fh:
            n += 1
            if on_bytes:
                on_bytes(len(raw))
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                errors.append((n, f"not valid UTF-8 (byte {e.start})"))
                continue
            if not line.strip():
                continue
            fields = _split(line)
            off = len(fields) - width
            try:
                if off not in (0, 1):  # 1: the UCI files' unnamed leading row id
                    raise ValueError(f"{len(fields)} fields, expected {width}")
                t = parse_local_time(fields[di + off], fields[ti + off] if ti is not None else None)
                values = {}
                for name, i in wanted:
                    v = float(fields[i + off])
                    if not math.isfinite(v):
                        raise ValueError(f"{name} is {fields[i + off]!r}")
                    values[name] = v
            except (ValueError, IndexError) as e:
                if not raw.endswith(b"\n"):
                    errors.append((n, f"truncated last line (no newline at end of file): {e}"))
                else:
                    errors.append((n, f"malformed row: {e}"))
                continue
            t = t.replace(tzinfo=zone).astimezone(UTC) if zone else t.replace(tzinfo=UTC)
            yield Row(n, t, values)


# -- node configuration ----------------------------------------------------------------
def resolve_source(
    fmt: ReplayFormat, source: str | None, node: str, configured: list[dict] | None = None
) -> str:
    """Which recorded node to replay (see the module docstring for the default rule).

    Raises:
        ReplayFormatError: ``source`` is not in the data set.
    """
    known = fmt.sources()
    if source:
        for s in known:
            if s.lower() == source.strip().lower():
                return s
        raise ReplayFormatError(
            f"source {source!r} is not in {fmt.name} (it has {', '.join(known)})"
        )
    for entry in configured or []:
        if entry.get("driver") == "replay" and entry.get("format") == fmt.name:
            if entry.get("source") in known:
                return str(entry["source"])
    m = SOURCE_TOKEN_RE.search(node)
    if m and f"S{m.group(1)}" in known:
        return f"S{m.group(1)}"
    return fmt.default_source


def configured_replays(vault: Any, specs: list[SensorSpec]) -> list[tuple[Path, str]]:
    """(data set file, source) pairs of the ``replay`` sensors among ``specs``, in order
    (what ``vault agent run`` feeds through :func:`replay`)."""
    out: list[tuple[Path, str]] = []
    for s in specs:
        if s.driver == "replay":
            ref = str(s.params["dataset"])
            pair = (datasets.from_ref(vault.root, ref), str(s.params.get("source")))
            if pair not in out:
                out.append(pair)
    return out


def vocabulary(fmt: ReplayFormat, c: ReplayColumn) -> dict[str, Any]:
    """``name`` and ``aliases`` of a replayed sensor: "office temperature"; where several
    recorded nodes have the column, the source too ("room temperature s1")."""
    if not c.words:
        return {}
    same = [x for x in fmt.columns if x.words == c.words]
    name = " ".join(w for w in (fmt.room, c.words) if w)
    if len(same) > 1:
        name += f" {c.source.lower()}"
    out: dict[str, Any] = {"name": name}
    if c.aliases:
        out["aliases"] = list(c.aliases)
    return out


def sensor_entries(fmt: ReplayFormat, dataset: str, source: str) -> list[dict[str, Any]]:
    """node.toml ``[[sensors]]`` tables for one recorded node of a data set."""
    out = []
    for c in fmt.columns_of(source):
        out.append(
            {
                "id": c.sensor_id(),
                "driver": "replay",
                "quantity": c.quantity,
                "unit": c.unit,
                "interval_s": fmt.interval_s,
                "dataset": dataset,
                "format": fmt.name,
                "source": source,
                "column": c.column,
                "stuck_after_s": 0,
                **vocabulary(fmt, c),
            }
        )
    return out


def clock_table(path: str | Path, tz: str | None) -> dict[str, str]:
    """node.toml ``[replay]``: ``times`` "local" (read as UTC) or "utc" (converted from
    ``tz``), and ``zone`` when known (``tz``, else the bundled data set's zone)."""
    zone = tz or datasets.zone_of(path)
    out = {"times": "utc" if tz else "local"}
    if zone:
        out["zone"] = zone
    return out


def clock_note(node_cfg: dict[str, Any]) -> str | None:
    """How to name the times of a node whose data was replayed with local times read as
    UTC: ``"local time in Europe/Brussels, as the recording wrote them"`` (no negation
    words: answers are checked for them); None for a node whose times are real UTC
    (live sensors, or replayed with ``tz``)."""
    table = node_cfg.get("replay")
    if not isinstance(table, dict) or table.get("times") != "local":
        return None
    zone = table.get("zone")
    if isinstance(zone, str) and zone:
        return f"local time in {zone}, as the recording wrote them"
    return "the recording's local time, as it wrote them"


def configure_node(
    vault: Any, path: str | Path, source: str | None = None, tz: str | None = None
) -> list[SensorSpec]:
    """Add a recorded node's sensors to this node's node.toml and commit that change.

    Also records the clock of the replayed times (``[replay]``, see :func:`clock_table`;
    ``tz`` as given to :func:`replay`). Idempotent: sensors already configured the same
    way are kept as they are and nothing is committed. Returns the specs of the
    replayed sensors.

    Raises:
        ReplayFormatError: unknown format or source.
        VaultError: a sensor id already used by a different sensor.
    """
    fmt = detect_format(path)
    cfg = vault.node_config()
    existing = list(cfg.get("sensors", []))
    src = resolve_source(fmt, source, vault.node, existing)
    other = sorted(
        {
            str(e.get("source"))
            for e in existing
            if isinstance(e, dict)
            and e.get("driver") == "replay"
            and e.get("format") == fmt.name
            and e.get("source") != src
        }
    )
    if other:
        raise ReplayFormatError(
            f"node {vault.node} already replays {fmt.name} {', '.join(other)}; one recorded "
            f"node per vault node: replay {src} in another node's working copy, or remove "
            f"the {', '.join(other)} sensors from agents/{vault.node}/node.toml"
        )
    entries = sensor_entries(fmt, datasets.ref(vault.root, path), src)
    by_id = {e.get("id"): e for e in existing if isinstance(e, dict)}
    added = []
    for e in entries:
        old = by_id.get(e["id"])
        if old is None:
            existing.append(e)
            added.append(e["id"])
        elif old.get("driver") != "replay" or old.get("column") != e["column"]:
            raise VaultError(
                f"sensor id {e['id']!r} is already configured on node "
                f"{vault.node} as a different sensor (driver {old.get('driver')!r}); "
                "rename it in node.toml"
            )
        else:
            # Trigger: a replay sensor configured before (moved data set, or written by a
            # version without names). Why: keep node.toml in step. What: update those keys.
            keep = {k: e[k] for k in ("name", "aliases") if k in e and k not in old}
            if old.get("dataset") != e["dataset"]:
                keep["dataset"] = e["dataset"]
            if keep:
                old.update(keep)
                added.append(e["id"])

    rel = layout.node_toml(vault.node)
    specs = parse_sensors(existing, rel)
    if fmt.room and "room" not in cfg:
        cfg["room"] = fmt.room  # where the recorded node was; the user may change it
        added.append(f"room={fmt.room}")
    clock = clock_table(path, tz)
    if cfg.get("replay") != clock:
        cfg["replay"] = clock
        added.append(f"times={clock['times']}")
    if added:
        cfg["sensors"] = existing
        vault.write_node_config(cfg)
        vault.commit(
            f"Configure replay of {fmt.name} {src}: {', '.join(added)}", "config", paths=[rel]
        )
    ids = {e["id"] for e in entries}
    return [s for s in specs if s.id in ids]


# -- replay ----------------------------------------------------------------------------
class Pacer:
    """Paces rows in real time divided by ``speed`` (``speed=60``: a recorded minute per
    second). A pause in the recording longer than ``max_gap_s`` seconds of recorded time
    restarts the clock instead of being waited out (None: always wait)."""

    def __init__(self, speed: float, max_gap_s: float | None, stop: threading.Event) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed, self.max_gap_s, self.stop = speed, max_gap_s, stop
        self._wall0 = 0.0
        self._data0: datetime | None = None
        self._last: datetime | None = None

    def wait(self, t: datetime) -> bool:
        """Sleep until row time ``t`` is due; False when ``stop`` was set meanwhile."""
        gap = (t - self._last).total_seconds() if self._last is not None else 0.0
        self._last = t
        if self._data0 is None or (self.max_gap_s is not None and gap > self.max_gap_s):
            self._wall0, self._data0 = time.monotonic(), t
        delay = self._wall0 + (t - self._data0).total_seconds() / self.speed - time.monotonic()
        return not (delay > 0 and self.stop.wait(delay))


class DayCommitter:
    """Closes the engine's windows and commits its rollups once per recorded UTC day."""

    def __init__(
        self, vault: Any, engine: RollupEngine, label: str, commit: bool, stats: ReplayStats
    ) -> None:
        self.vault, self.engine, self.label, self.commit, self.stats = (
            vault,
            engine,
            label,
            commit,
            stats,
        )
        self.day: date | None = None

    def new_day(self, t: datetime) -> bool:
        """True when ``t`` starts a new UTC day (the previous one is closed and committed)."""
        if t.date() == self.day:
            return False
        if self.day is not None:
            self.engine.close_until(t)
            self.flush()
        self.day = t.date()
        return True

    def flush(self) -> None:
        """Commit what the engine wrote since the last commit (when committing is on)."""
        paths = self.engine.take_written()
        day = self.day.isoformat() if self.day else ""
        if self.commit and paths:
            if self.vault.commit(f"{self.label}: rollups {day}", "rollup", paths=paths):
                self.stats.commits += 1


def replay(
    vault: Any,
    path: str | Path,
    specs: list[SensorSpec],
    backfill: bool = True,
    speed: float = 1.0,
    since: datetime | None = None,
    until: datetime | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[ReplayStats], None] | None = None,
    tz: str | None = None,
    commit: bool = False,
    engine: RollupEngine | None = None,
    max_gap_s: float | None = 3600.0,
) -> ReplayStats:
    """Stream a recorded data set through a :class:`RollupEngine` into this node's rollups.

    Args:
        path: the CSV file.
        specs: the replay sensors of ``path`` on this node, from :func:`configure_node`
            (configuring the node, which may commit node.toml, is the caller's step).
        backfill: as fast as possible; else paced by a :class:`Pacer` at ``speed``.
        since, until: only rows with ``since <= t < until`` (UTC).
        stop: set it to end early; complete windows are written, the open one is
            left for the next run (which resumes there). Likewise a window holding
            ``until`` is left open when the recording goes on past it, and ``since``
            is rounded down to its window's start, so replaying a file in pieces
            (``--to 10:02`` then ``--from 10:02``) gives the same rollups as one run.
        progress: called with the stats every 500 rows.
        tz: IANA zone of the recording's local times (default: read them as UTC).
        commit: commit the rollups (Vault-Kind rollup) once per recorded UTC day.
        engine: an engine to feed (default: a new, resuming one for the replayed sensors).
        max_gap_s: see :class:`Pacer`.

    Returns:
        counts; windows already written by an earlier run are skipped (``skipped_closed``).
    Raises:
        ReplayFormatError: unknown format.
        ValueError: ``speed`` ≤ 0.
    """
    t0 = time.monotonic()
    stop = stop or threading.Event()
    pacer = None if backfill else Pacer(speed, max_gap_s, stop)
    fmt = detect_format(path)
    src = str(specs[0].params["source"]) if specs else fmt.default_source
    # Resuming: our own engine skips exactly the windows present in the day files (so a
    # second recording of earlier days fills its gap instead of being skipped); an
    # engine passed in uses its own rule (everything before its last written window).
    own_engine = engine is None
    if engine is None:
        engine = RollupEngine(vault, specs, window_s=window_seconds(vault), resume=False)
    w = engine.window_s
    if since is not None:  # start at the window holding `since`: its earlier rows belong to it
        since = datetime.fromtimestamp(since.timestamp() // w * w, UTC)
    stats = ReplayStats(
        format=fmt.name,
        source=src,
        sensors=[s.id for s in specs],
        bytes_total=Path(path).stat().st_size,
    )
    col_of = {s.id: s.params["column"] for s in specs}
    columns = [c for c in fmt.columns_of(src) if c.sensor_id() in col_of]
    days = DayCommitter(vault, engine, f"Replay {fmt.name} {src}", commit, stats)
    written: set[tuple[str, int]] = set()
    last_t: datetime | None = None
    more_after_until = False

    def on_bytes(n: int) -> None:
        stats.bytes_read += n

    for row in iter_rows(path, fmt, columns, stats.malformed, tz, on_bytes):
        if until and row.t >= until:
            more_after_until = True
            continue
        if since and row.t < since:
            continue
        if stop.is_set() or (pacer is not None and not pacer.wait(row.t)):
            stats.stopped = True
            break
        stats.rows += 1
        stats.first = stats.first or layout.iso(row.t)
        last_t = row.t
        if days.new_day(row.t):
            if own_engine:
                written = written_windows(vault, row.t.date(), col_of)
        elif pacer is not None:
            engine.close_until(row.t)
        wstart = int(row.t.timestamp() // w * w)
        for spec in specs:
            if (own_engine and (spec.id, wstart) in written) or (
                not own_engine and engine.is_closed(spec.id, row.t)
            ):
                stats.skipped_closed += 1
                continue
            engine.add(
                Reading(spec.id, row.t, row.values[col_of[spec.id]], spec.quantity, spec.unit)
            )
            stats.readings += 1
        if progress and stats.rows % 500 == 0:
            progress(stats)
    if last_t is not None:
        stats.last = layout.iso(last_t)
    if stats.stopped:
        if last_t is not None:
            engine.close_until(last_t)
    elif more_after_until and until is not None:
        engine.close_until(until)  # the window around --to stays open for the next piece
    else:
        engine.flush()  # the recording ends here: its last window is complete
    days.flush()
    stats.rollups = engine.rollups_written
    stats.late = engine.late_written
    stats.elapsed_s = time.monotonic() - t0
    if progress:
        progress(stats)
    return stats
