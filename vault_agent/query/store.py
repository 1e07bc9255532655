""":class:`Store`: the one reader of a vault's sensor world (rollups, sensors, observations).

Every public method first brings the DuckDB cache up to date with the files
(:mod:`vault_agent.query.cache`), then answers from it; statistics come from
:func:`vault_agent.query.summary.summarize` (the one computation). Times given as naive
datetimes, and dates, are in the vault's time zone (``vault.toml``: ``timezone =
"Europe/Berlin"``, default UTC); times returned are UTC ISO 8601. A window belongs to a
span when its start is in [since, until).
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import repeat
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from ..errors import RecordError
from ..sensors.config import parse_node_vocabulary, parse_sensor
from ..vault import layout
from ..vault.config import read_toml
from ..vault.records import Rollup
from . import notes, vocab
from .cache import LineCache
from .model import (
    BadLine,
    Comparison,
    DaySummary,
    Fact,
    Interval,
    Line,
    NoDataError,
    ObservationInfo,
    PeriodStat,
    Point,
    QueryError,
    SensorInfo,
    Span,
    cite,
    make_point,
)
from .summary import Stats, summarize

log = logging.getLogger("vault_agent.query")

COMPARE_STATS = {False: ("mean", "min", "max", "sum", "count"), True: ("on_s", "events", "count")}
AGGS = ("mean", "min", "max", "last", "sum", "on_s", "events", "count")
BINARY_AGGS = ("on_s", "events", "sum", "count", "last")
DAY_S = 86400
Bound = datetime | date
# a (since, until) span, or several (the nights of a week)
Period = tuple[Bound, Bound] | Sequence[tuple[Bound, Bound]]
LINE_COLUMNS = (
    'path, line, node, sensor, quantity, unit, start, "end", count, mean, min, max, last, '
    "stddev, events, on_s, errors, late, hlc, min_at, max_at, v"
)


def vault_timezone(root: Path) -> ZoneInfo:
    """The vault's time zone: ``timezone`` in vault.toml (IANA name), default UTC.

    Raises:
        RecordError: vault.toml names a zone that does not exist.
    """
    p = Path(root) / "vault.toml"
    data = read_toml(p, "vault.toml") if p.is_file() else {}
    name = data.get("timezone", "UTC")
    try:
        return ZoneInfo(str(name))
    except (ValueError, KeyError, OSError):
        raise RecordError(
            "vault.toml", 0, f"timezone {name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from None


class Store:
    """Answers about one vault's sensors (see the module docstring).

    Args:
        vault_root: the vault folder (the one holding vault.toml).
        persist: keep the line cache in ``.vault/query/`` (False: in memory only).

    Thread-safe (one lock around the DuckDB connection).
    """

    def __init__(self, vault_root: Path, persist: bool = True) -> None:
        self.root = Path(vault_root)
        self.tz: ZoneInfo = vault_timezone(self.root)
        self._cache = LineCache(self.root, persist)
        self._lock = threading.RLock()
        self._infos: tuple[tuple[Any, ...], list[SensorInfo], dict[str, tuple[str, ...]]] | None
        self._infos = None
        self._notes = notes.NoteCache(self.root)

    def close(self) -> None:
        """Close the DuckDB connection."""
        with self._lock:
            self._cache.close()

    # -- time helpers ------------------------------------------------------------------
    def utc(self, t: datetime | date) -> datetime:
        """``t`` as aware UTC (naive datetimes and dates are in the vault's zone)."""
        if not isinstance(t, datetime):
            t = datetime.combine(t, time.min)
        if t.tzinfo is None:
            t = t.replace(tzinfo=self.tz)
        return t.astimezone(UTC)

    def day_start(self, d: date) -> datetime:
        """UTC start of day ``d`` in the vault's zone."""
        return self.utc(datetime.combine(d, time.min))

    def end_utc(self, until: datetime | date) -> datetime:
        """The exclusive UTC end of ``until``: a time as is, a date inclusive (next midnight)."""
        if isinstance(until, datetime):
            return self.utc(until)
        return self.day_start(until + timedelta(days=1))

    def day_of(self, t: datetime) -> date:
        """The vault-zone day of an aware time."""
        return t.astimezone(self.tz).date()

    def _refresh(self) -> None:
        self._cache.refresh()

    # -- sensors -----------------------------------------------------------------------
    def sensors(self) -> list[SensorInfo]:
        """Every sensor of every node: from node.toml (with name, room, aliases) and
        from the rollup lines (sensors no longer configured), sorted by node and id."""
        with self._lock:
            self._refresh()
            return list(self._sensor_infos()[0])

    def node_aliases(self) -> dict[str, tuple[str, ...]]:
        """Words that also name each node (node.toml's top-level ``aliases``), by node."""
        with self._lock:
            self._refresh()
            return dict(self._sensor_infos()[1])

    def _sensor_infos(self) -> tuple[list[SensorInfo], dict[str, tuple[str, ...]]]:
        tomls = sorted((self.root / layout.AGENTS).glob("*/node.toml"))
        stamp = (self._cache.refreshes, tuple((str(p), p.stat().st_mtime_ns) for p in tomls))
        if self._infos is not None and self._infos[0] == stamp:
            return self._infos[1], self._infos[2]
        infos, aliases = self._build_infos(tomls)
        self._infos = (stamp, infos, aliases)
        return infos, aliases

    def _build_infos(
        self, tomls: list[Path]
    ) -> tuple[list[SensorInfo], dict[str, tuple[str, ...]]]:
        seen = {
            (n, s): (q, u, b, a, z)
            for n, s, q, u, b, a, z in self._cache.con.execute(
                "SELECT node, sensor, last(quantity ORDER BY start_s), last(unit ORDER BY start_s),"
                " bool_or(mean IS NULL AND (events IS NOT NULL OR on_s IS NOT NULL)),"
                " min(start_s), max(start_s) FROM _lines GROUP BY node, sensor"
            ).fetchall()
        }
        out: dict[tuple[str, str], SensorInfo] = {}
        node_aliases: dict[str, tuple[str, ...]] = {}
        for p in tomls:
            node = p.parent.name
            rel = f"{layout.AGENTS}/{node}/node.toml"
            try:
                cfg = read_toml(p, rel)
                room, node_aliases[node] = parse_node_vocabulary(cfg, rel)
            except RecordError as e:
                log.warning("event=query_node_toml_skipped problem=%s", e)
                continue
            for i, entry in enumerate(cfg.get("sensors", []) or []):
                try:
                    spec = parse_sensor(entry, i)
                except ValueError as e:
                    log.warning("event=query_sensor_skipped file=%s entry=%d problem=%s", rel, i, e)
                    continue
                days = self._days(seen.get((node, spec.id)))
                out[(node, spec.id)] = SensorInfo(
                    node,
                    spec.id,
                    spec.quantity,
                    spec.unit,
                    spec.name,
                    spec.room or room,
                    spec.aliases,
                    spec.binary,
                    *days,
                )
        for (node, sid), row in seen.items():
            if (node, sid) not in out:
                out[(node, sid)] = SensorInfo(
                    node,
                    sid,
                    row[0],
                    row[1],
                    binary=bool(row[2]),
                    first_day=self._days(row)[0],
                    last_day=self._days(row)[1],
                )
        return [out[k] for k in sorted(out)], node_aliases

    def _days(self, row: tuple[Any, ...] | None) -> tuple[date | None, date | None]:
        if row is None:
            return None, None
        a, z = row[3], row[4]
        return (
            self.day_of(datetime.fromtimestamp(a, UTC)),
            self.day_of(datetime.fromtimestamp(z, UTC)),
        )

    def resolve(self, text: str | SensorInfo) -> SensorInfo:
        """The sensor ``text`` names: id, ``node/id``, name, alias, or words such as
        "office temperature" (see :mod:`vault_agent.query.vocab`).

        Raises:
            UnknownSensorError: "no sensor called X; known: a, b, …" (also when ambiguous,
                as :class:`AmbiguousSensorError`).
        """
        if isinstance(text, SensorInfo):
            return text
        with self._lock:
            self._refresh()
            infos, aliases = self._sensor_infos()
        return vocab.resolve(text, infos, aliases)

    def coverage(self, sensor: str | SensorInfo) -> tuple[date, date] | None:
        """(first, last) day in the vault's zone with lines of ``sensor``; None if none.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
        """
        info = self.resolve(sensor)
        if info.first_day is None or info.last_day is None:
            return None
        return info.first_day, info.last_day

    # -- lines ---------------------------------------------------------------------------
    def lines(
        self, sensor: str | SensorInfo, since: datetime | date, until: datetime | date
    ) -> list[Line]:
        """The rollup lines of ``sensor`` whose window starts in [since, until), oldest
        first (a late line right after the on-time line of its window), each with its
        file and 1-based line number.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
            QueryError: ``until`` before ``since``.
        """
        return [ln for _, _, ln in self._timed(self.resolve(sensor), since, until)]

    def _timed(
        self, info: SensorInfo, since: datetime | date, until: datetime | date
    ) -> list[tuple[float, float, Line]]:
        """(start epoch s, end epoch s, Line) of ``info``'s lines in the span, in order."""
        t0, t1 = self._span(since, until)
        with self._lock:
            self._refresh()
            rows = self._cache.con.execute(
                f"SELECT start_s, end_s, {LINE_COLUMNS} FROM _lines WHERE node = ? AND sensor = ?"
                " AND start_s >= ? AND start_s < ? ORDER BY start_s, late, path, line",
                [info.node, info.id, t0.timestamp(), t1.timestamp()],
            ).fetchall()
        return [(r[0], r[1], _line(r[2:])) for r in rows]

    def _span(self, since: datetime | date, until: datetime | date) -> tuple[datetime, datetime]:
        t0, t1 = self.utc(since), self.end_utc(until)
        if t1 < t0 or (t1 == t0 and not isinstance(until, datetime)):
            raise QueryError(
                f"the range is reversed: until {_when(until, self.tz)} is before "
                f"since {_when(since, self.tz)}"
            )
        return t0, t1

    def bad_lines(self) -> list[BadLine]:
        """Rollup lines skipped as malformed (file, line, problem)."""
        with self._lock:
            self._refresh()
            return self._cache.bad_lines()

    # -- series and summaries ----------------------------------------------------------------
    def series(
        self,
        sensor: str | SensorInfo,
        since: datetime | date,
        until: datetime | date,
        every_s: int | None = None,
        agg: str = "mean",
    ) -> list[Point]:
        """``sensor`` in buckets of ``every_s`` seconds (None: one per rollup window, late
        lines merged into theirs). Buckets of whole days start at midnight in the vault's
        zone; shorter ones at multiples of ``every_s`` since the Unix epoch (UTC). Only
        buckets with readings are returned. ``agg``: mean, min, max, last, sum (Σ of the
        readings; a binary sensor's events), on_s and events (binary sensors), count.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
            QueryError: unknown ``agg``, ``every_s`` ≤ 0, a reversed range, or an
                aggregate that does not fit the sensor (on_s of a temperature).
        """
        info = self.resolve(sensor)
        check_agg(agg, info)
        if every_s is not None and every_s <= 0:
            raise QueryError(f"every_s must be > 0 seconds, got {every_s}")
        t0, t1 = self._span(since, until)
        with self._lock:
            self._refresh()
            edges = self._series_edges(info, t0, t1, every_s)
            cur = self._cache.con.execute(
                SERIES_SQL.format(
                    bucket=_bucket_sql(every_s, edges is not None),
                    figures=FIGURES[info.binary],
                    pick=PICK.get((info.binary, agg), "NULL"),
                    **(PER_WINDOW if every_s is None else PER_SPAN),
                ),
                [info.node, info.id, t0.timestamp(), t1.timestamp(), *(edges or ())],
            )
            return _points(cur, agg)

    def _series_edges(
        self, info: SensorInfo, t0: datetime, t1: datetime, every_s: int | None
    ) -> tuple[list[float], list[float]] | None:
        """Day bucket edges (start list, end list) for whole-day ``every_s``; else None."""
        if every_s is None or every_s % DAY_S:
            return None
        row = self._cache.con.execute(
            "SELECT min(start_s), max(start_s) FROM _lines WHERE node = ? AND sensor = ?"
            " AND start_s >= ? AND start_s < ?",
            [info.node, info.id, t0.timestamp(), t1.timestamp()],
        ).fetchone()
        if row is None or row[0] is None:
            return [], []
        e = self._day_edges(row[0], row[1], every_s // DAY_S)
        return e[:-1], e[1:]

    def _buckets(
        self, timed: Sequence[tuple[float, float, Line]], every_s: int | None
    ) -> Iterator[tuple[datetime, datetime, list[Line]]]:
        """Lines grouped by bucket (see :meth:`series`), oldest bucket first."""
        groups: dict[tuple[float, float], list[Line]] = defaultdict(list)
        if every_s is not None and every_s % DAY_S == 0 and timed:
            edges = self._day_edges(timed[0][0], timed[-1][0], every_s // DAY_S)
            for s, _, ln in timed:
                i = bisect.bisect_right(edges, s) - 1
                groups[(edges[i], edges[i + 1])].append(ln)
        elif every_s is not None:
            for s, _, ln in timed:
                b = s // every_s * every_s
                groups[(b, b + every_s)].append(ln)
        else:
            for s, e, ln in timed:
                groups[(s, e)].append(ln)
        for (a, z), group in sorted(groups.items()):
            yield datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(z, UTC), group

    def _day_edges(self, first_s: float, last_s: float, n: int) -> list[float]:
        """Epoch starts of n-day buckets (vault zone midnights, day ordinal % n == 0)
        covering [first_s, last_s], plus the end of the last one."""
        d0 = self.day_of(datetime.fromtimestamp(first_s, UTC))
        d0 -= timedelta(days=d0.toordinal() % n)
        d1 = self.day_of(datetime.fromtimestamp(last_s, UTC))
        edges = []
        d = d0
        while d <= d1 + timedelta(days=n):
            edges.append(self.day_start(d).timestamp())
            d += timedelta(days=n)
        return edges

    def day_summaries(
        self, sensor: str | SensorInfo, since_day: date, until_day: date
    ) -> list[DaySummary]:
        """One :class:`DaySummary` per day (vault zone) from ``since_day`` to ``until_day``
        inclusive that has lines of ``sensor``.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
            QueryError: a reversed range.
        """
        info = self.resolve(sensor)
        timed = self._timed(info, since_day, until_day)
        return [
            day_summary(info, self.day_of(a), group, info.binary)
            for a, _, group in self._buckets(timed, DAY_S)
        ]

    def intervals(
        self, sensor: str | SensorInfo, since: datetime | date, until: datetime | date
    ) -> list[Interval]:
        """On-intervals of a binary sensor: runs of adjacent windows with on-time or events.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
            QueryError: not a binary sensor, or a reversed range.
        """
        info = self.resolve(sensor)
        if not info.binary:
            raise QueryError(
                f"{info.id} is not a binary sensor (motion, door); it has no on-intervals"
            )
        out: list[Interval] = []
        cur: list[tuple[datetime, datetime, list[Line]]] = []
        for a, z, group in self._buckets(self._timed(info, since, until), None):
            st = summarize([ln.rollup for ln in group], binary=True)
            if st.on_s <= 0 and st.events <= 0:
                continue
            if cur and cur[-1][1] < a:
                out.append(_interval(cur))
                cur = []
            cur.append((a, z, group))
        if cur:
            out.append(_interval(cur))
        return out

    def threshold(
        self,
        sensor: str | SensorInfo,
        since: datetime | date,
        until: datetime | date,
        above: float | None = None,
        below: float | None = None,
    ) -> list[Span]:
        """Runs of adjacent windows whose max is above ``above`` (or whose min is below
        ``below``: give exactly one), oldest first, each with its peak, time and line.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
            QueryError: neither or both of above/below; a binary sensor; a reversed range.
        """
        if (above is None) == (below is None):
            raise QueryError("give exactly one of above or below")
        info = self.resolve(sensor)
        if info.binary:
            raise QueryError(f"{info.id} is a binary sensor; use intervals() for its on-times")
        hit = [
            (s0, e0, ln)
            for s0, e0, ln in self._timed(info, since, until)
            if ln.rollup.count > 0 and ln.rollup.mean is not None and _crosses(ln, above, below)
        ]
        runs: list[list[Line]] = []
        end = None
        for s0, e0, ln in hit:
            if end is None or s0 > end:  # a gap: a new run
                runs.append([])
            runs[-1].append(ln)
            end = e0 if end is None or s0 > end else max(end, e0)
        return [_span(run, above is not None) for run in runs]

    def extreme(
        self, sensor: str | SensorInfo, since: datetime | date, until: datetime | date, which: str
    ) -> Fact:
        """The highest (``which="max"``) or lowest (``"min"``) value in the span, when it
        happened (``max_at``/``min_at`` of its line, else the window's middle) and the line.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
            QueryError: ``which`` not max/min; a binary sensor.
            NoDataError: no readings in the span (the message says what the sensor covers).
        """
        if which not in ("max", "min"):
            raise QueryError(f"extreme must be 'max' or 'min', got {which!r}")
        info = self.resolve(sensor)
        if info.binary:
            raise QueryError(f"{info.id} is a binary sensor; it has no {which}imum value")
        lines = self.lines(info, since, until)
        st = summarize([ln.rollup for ln in lines], binary=False)
        value = st.max if which == "max" else st.min
        at = st.max_at if which == "max" else st.min_at
        i = st.max_i if which == "max" else st.min_i
        if value is None or at is None or i is None:
            raise self.no_data(info, since, until)
        return Fact(info.id, info.node, which, value, info.unit, layout.iso(at), lines[i].cite)

    def compare(
        self, sensor: str | SensorInfo, a: Period, b: Period, stat: str | None = None
    ) -> Comparison:
        """The same statistic of ``sensor`` over periods ``a`` and ``b``, each with its
        value, readings and cited lines, and their difference (a − b).

        A period is ``(since, until)`` or a list of such spans (the nights of several
        days); its lines are those of every span (see :meth:`lines`) and the statistic is
        :func:`~vault_agent.query.summary.summarize` over all of them. ``stat``: mean
        (default), min, max, sum, count for numeric sensors; on_s (default), events,
        count for binary ones. A period without readings gets ``value`` None.

        Raises:
            UnknownSensorError: see :meth:`resolve`.
            QueryError: a statistic that does not fit the sensor, an empty period, or a
                reversed span.
        """
        info = self.resolve(sensor)
        stat = stat or ("on_s" if info.binary else "mean")
        allowed = COMPARE_STATS[info.binary]
        if stat not in allowed:
            kind = "a binary" if info.binary else "a numeric"
            raise QueryError(
                f"{info.id} is {kind} sensor: compare {', '.join(allowed)}, not {stat}"
            )
        unit = "s" if stat == "on_s" else "" if stat in ("events", "count") else info.unit
        return Comparison(
            info.id, info.node, stat, unit, self._period(info, a, stat), self._period(info, b, stat)
        )

    def _period(self, info: SensorInfo, period: Period, stat: str) -> PeriodStat:
        spans = _spans_of(period)
        utc = tuple(self._span(s, u) for s, u in spans)
        lines = [ln for s, u in spans for _, _, ln in self._timed(info, s, u)]
        st = summarize([ln.rollup for ln in lines], binary=info.binary)
        iso = tuple((layout.iso(s), layout.iso(u)) for s, u in utc)
        if st.empty:
            return PeriodStat(iso, None, 0)
        if stat in ("min", "max"):
            i = st.min_i if stat == "min" else st.max_i
            at = st.min_at if stat == "min" else st.max_at
            value = st.min if stat == "min" else st.max
            assert i is not None and at is not None
            return PeriodStat(iso, value, st.count, layout.iso(at), (lines[i].cite,))
        value = {"mean": st.mean, "sum": st.sum, "count": float(st.count),
                 "on_s": st.on_s, "events": float(st.events)}[stat]  # fmt: skip
        return PeriodStat(iso, value, st.count, None, cite_ranges(lines))

    def no_data(
        self, sensor: str | SensorInfo, since: datetime | date, until: datetime | date
    ) -> NoDataError:
        """ "No data for X from A to B; X covers C … D." (or "has no data at all")."""
        info = self.resolve(sensor)
        span = f"{_when(since, self.tz)} to {_when(until, self.tz)}"
        cov = self.coverage(info)
        where = f"{info.id} has no data at all"
        if cov:
            where = f"{info.id} covers {cov[0]} … {cov[1]} ({self.tz.key})"
        return NoDataError(f"No data for {info.id} from {span}; {where}.")

    # -- observations and SQL -----------------------------------------------------------
    def observations(
        self,
        node: str | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
    ) -> list[ObservationInfo]:
        """Observations and memory facts (frontmatter), oldest first; ``since``/``until``
        keep those whose window (else creation time) overlaps [since, until)."""
        t0 = self.utc(since) if since is not None else None
        t1 = self.end_utc(until) if until is not None else None
        with self._lock:
            items = self._notes.refresh(self.tz)
        return [o for o in items if (node is None or o.node == node) and notes.overlaps(o, t0, t1)]

    def sql(self, text: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only SELECT (or WITH … SELECT) over the views ``rollups``,
        ``observations`` and ``sensors``; returns (column names, rows).

        The statement runs in a transaction that is rolled back, on a connection that
        cannot touch files (``enable_external_access = false``).

        Raises:
            QueryError: not exactly one SELECT statement, or DuckDB's one-line error.
        """
        with self._lock:
            self._refresh()
            con = self._cache.con
            try:
                stmts = con.extract_statements(text)
            except duckdb.Error as e:
                raise QueryError(f"bad SQL: {_first_line(e)}") from None
            if len(stmts) != 1:
                raise QueryError(f"give exactly one SELECT statement (got {len(stmts)})")
            kind = stmts[0].type
            if kind != duckdb.StatementType.SELECT:
                raise QueryError(f"only read-only SELECT/WITH queries are allowed, not {kind.name}")
            self._sql_views()
            con.execute("BEGIN")
            try:
                cur = con.execute(text)
                cols = [d[0] for d in cur.description or []]
                rows = cur.fetchall()
            except duckdb.Error as e:
                error: duckdb.Error | None = e
            else:
                error = None
            finally:
                con.execute("ROLLBACK")
            if error is not None:
                raise QueryError(self._sql_problem(error, text)) from None
        return cols, rows

    def _sql_problem(self, e: duckdb.Error, text: str) -> str:
        """One line for a failed statement: an unknown column names the columns of the
        views the statement uses ("no column foo in rollups; columns: node, sensor, …");
        anything else is DuckDB's first line."""
        m = MISSING_COLUMN_RE.search(str(e))
        used = list(dict.fromkeys(v.lower() for v in VIEW_RE.findall(text)))
        if not isinstance(e, duckdb.BinderException) or m is None or not used:
            return f"bad SQL: {_first_line(e)}"
        name = m.group(1) or m.group(2)
        cols = {
            v: [d[0] for d in self._cache.con.execute(f"SELECT * FROM {v} LIMIT 0").description]
            for v in used
        }
        if len(used) == 1:
            return f"no column {name} in {used[0]}; columns: {', '.join(cols[used[0]])}"
        listed = "; ".join(f"{v} columns: {', '.join(c)}" for v, c in cols.items())
        return f"no column {name} in {' or '.join(used)}; {listed}"

    def _sql_views(self) -> None:
        con = self._cache.con
        con.execute(
            "CREATE OR REPLACE TEMP VIEW rollups AS SELECT node, sensor, quantity, unit,"
            ' to_timestamp(start_s) AS start, to_timestamp(end_s) AS "end", count, mean, min,'
            " max, last, stddev, events, on_s, errors, late, min_at, max_at, path, line,"
            " path || '#L' || line AS cite FROM _lines"
        )
        infos, _ = self._sensor_infos()
        con.execute(
            "CREATE OR REPLACE TEMP TABLE sensors (node VARCHAR, id VARCHAR, quantity VARCHAR,"
            ' unit VARCHAR, name VARCHAR, room VARCHAR, aliases VARCHAR[], "binary" BOOLEAN,'
            " first_day DATE, last_day DATE)"
        )
        if infos:
            con.executemany(
                "INSERT INTO sensors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        i.node,
                        i.id,
                        i.quantity,
                        i.unit,
                        i.name,
                        i.room,
                        list(i.aliases),
                        i.binary,
                        i.first_day,
                        i.last_day,
                    )
                    for i in infos
                ],
            )
        obs = self._notes.refresh(self.tz)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE observations (path VARCHAR, node VARCHAR, kind VARCHAR,"
            ' title VARCHAR, text VARCHAR, created VARCHAR, start VARCHAR, "end" VARCHAR,'
            " sensors VARCHAR[], day DATE)"
        )
        if obs:
            con.executemany(
                "INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        o.path,
                        o.node,
                        o.kind,
                        o.title,
                        o.text,
                        o.created,
                        o.start,
                        o.end,
                        list(o.sensors),
                        o.day,
                    )
                    for o in obs
                ],
            )


# -- series in SQL -------------------------------------------------------------------------------
# The rules of vault_agent.query.summary.summarize, vectorised for long series (a test
# checks both give the same points): only lines with readings (count > 0) count; the mean
# is count-weighted over lines with a mean; min/max are the lines' min/max (else mean),
# the first line in order (start, on-time before late, file, line) wins a tie; last is
# that of the newest window, on-time before late.
#
# A bucket holding one line (every rollup window of a per-window series but those with a
# late line) takes that line's own figures: the same values the aggregates give for one
# line (Σ mean·count over Σ count is done by the caller, as for any bucket), without the
# grouping, so a 30-day per-window series costs a scan, not 8,640 groups.
LINES_IN_SPAN = """
    SELECT start_s, end_s, late, path, line, count, mean, min, max, last, events, on_s
    FROM _lines WHERE node = ? AND sensor = ? AND start_s >= ? AND start_s < ? AND count > 0
"""
ISO = "'%Y-%m-%dT%H:%M:%SZ'"
SERIES_SQL = (
    "WITH l AS (" + LINES_IN_SPAN + "), b AS (SELECT l.*, {bucket}), "
    """
multi AS (SELECT b0 FROM b GROUP BY b0 HAVING count(*) > 1),
one AS ({one}),
many AS (SELECT *, path || '#L' || line AS c FROM {many}),
spans AS (
    SELECT b0, list(CASE WHEN a = z THEN path || '#L' || a
                         ELSE path || '#L' || a || '-L' || z END ORDER BY path) AS cites
    FROM (SELECT b0, path, min(line) AS a, max(line) AS z FROM many GROUP BY b0, path)
    GROUP BY b0
), agg AS (
    SELECT b0, b1, sum(count) AS n,
        sum(mean * count) FILTER (mean IS NOT NULL) AS total,
        sum(count) FILTER (mean IS NOT NULL) AS w,
        min(coalesce(min, mean)) FILTER (mean IS NOT NULL) AS lo,
        arg_min(c, (coalesce(min, mean), start_s, late, path, line))
            FILTER (mean IS NOT NULL) AS lo_c,
        max(coalesce(max, mean)) FILTER (mean IS NOT NULL) AS hi,
        arg_min(c, (-coalesce(max, mean), start_s, late, path, line))
            FILTER (mean IS NOT NULL) AS hi_c,
        arg_max(coalesce(last, mean), (start_s, NOT late, path, line)) FILTER (mean IS NOT NULL)
            AS last_n,
        arg_max(c, (start_s, NOT late, path, line)) FILTER (mean IS NOT NULL) AS last_n_c,
        arg_max(last, (start_s, NOT late, path, line)) AS last_b,
        arg_max(c, (start_s, NOT late, path, line)) AS last_b_c,
        sum(coalesce(events, 0)) AS events, sum(coalesce(on_s, 0)) AS on_s,
        {each} AS each
    FROM many GROUP BY b0, b1
), buckets AS (
    SELECT b0, b1, count AS n, CASE WHEN mean IS NOT NULL THEN mean * count END AS total,
        CASE WHEN mean IS NOT NULL THEN count END AS w,
        CASE WHEN mean IS NOT NULL THEN coalesce(min, mean) END AS lo, NULL AS lo_c,
        CASE WHEN mean IS NOT NULL THEN coalesce(max, mean) END AS hi, NULL AS hi_c,
        CASE WHEN mean IS NOT NULL THEN coalesce(last, mean) END AS last_n, NULL AS last_n_c,
        last AS last_b, NULL AS last_b_c, coalesce(events, 0) AS events,
        coalesce(on_s, 0) AS on_s, NULL::VARCHAR[] AS cites, path || '#L' || line AS one
    FROM one
    UNION ALL
    SELECT agg.b0, b1, n, total, w, lo, lo_c, hi, hi_c, last_n, last_n_c, last_b, last_b_c,
        events, on_s, {cites}, NULL
    FROM agg {join}
)
SELECT strftime(to_timestamp(b0), """
    + ISO
    + ") AS t, strftime(to_timestamp(b1), "
    + ISO
    + """) AS "end", n::BIGINT AS count,
    {figures}, one, {pick} AS pick, cites
FROM buckets ORDER BY b0
"""
)
# The Point fields of a bucket, numeric sensors / binary sensors (as summarize gives them).
FIGURES = {
    False: "CASE WHEN w > 0 THEN total / w END AS mean, lo AS min, hi AS max, last_n AS last,"
    " total AS sum, NULL::DOUBLE AS on_s, NULL::BIGINT AS events",
    True: "NULL::DOUBLE AS mean, NULL::DOUBLE AS min, NULL::DOUBLE AS max, last_b AS last,"
    " events::DOUBLE AS sum, on_s, events::BIGINT AS events",
}
# The line an aggregate's value comes from (other aggregates cite the bucket's lines).
PICK = {(False, "min"): "lo_c", (False, "max"): "hi_c", (False, "last"): "last_n_c",
        (True, "last"): "last_b_c"}  # fmt: skip
# one rollup window per bucket: cite its line(s); longer buckets: a range per file
# Per window, most buckets hold one line: those skip the grouping. Longer steps group all.
PER_WINDOW = {
    "each": "list(c ORDER BY path, line)", "cites": "each", "join": "",
    "one": "SELECT * FROM b ANTI JOIN multi USING (b0)", "many": "b SEMI JOIN multi USING (b0)",
}  # fmt: skip
PER_SPAN = {
    "each": "NULL", "cites": "cites", "join": "JOIN spans USING (b0)",
    "one": "SELECT * FROM b WHERE false", "many": "b",
}  # fmt: skip


def _bucket_sql(every_s: int | None, by_edges: bool) -> str:
    """FROM-clause tail giving each line ``l`` its bucket ``b0``/``b1`` (epoch s); day edges
    come as two list parameters (starts, ends)."""
    if by_edges:
        return (
            "e.a AS b0, e.z AS b1 FROM l ASOF JOIN (SELECT unnest(?::DOUBLE[]) AS a,"
            " unnest(?::DOUBLE[]) AS z) e ON l.start_s >= e.a"
        )
    if every_s is None:
        return "start_s AS b0, end_s AS b1 FROM l"
    n = int(every_s)
    return f"floor(start_s / {n}) * {n} AS b0, floor(start_s / {n}) * {n} + {n} AS b1 FROM l"


def _points(cur: duckdb.DuckDBPyConnection, agg: str) -> list[Point]:
    """The Points of a :data:`SERIES_SQL` result, fetched as columns (numpy arrays with
    NULL masked: one conversion per column, not a Python tuple per row)."""
    c = {k: v.tolist() for k, v in cur.fetchnumpy().items()}
    value = [float(n) for n in c["count"]] if agg == "count" else c[agg]
    if agg == "events":
        value = c["sum"]  # a binary sensor's events, as a float like every value
    cites = [
        (one,) if one is not None else (pick,) if pick else tuple(each)
        for one, pick, each in zip(c["one"], c["pick"], c["cites"], strict=True)
    ]
    return list(
        map(
            make_point, c["t"], c["end"], repeat(agg), value, c["count"], c["mean"], c["min"],
            c["max"], c["last"], c["sum"], c["on_s"], c["events"], cites,
        )
    )  # fmt: skip


# -- pure helpers -----------------------------------------------------------------------------
def check_agg(agg: str, info: SensorInfo) -> None:
    """Raise QueryError when ``agg`` is unknown or does not fit the sensor's kind."""
    if agg not in AGGS:
        raise QueryError(f"unknown aggregate {agg!r} (use {', '.join(AGGS)})")
    if info.binary and agg not in BINARY_AGGS:
        raise QueryError(f"{info.id} is a binary sensor: use {', '.join(BINARY_AGGS)}, not {agg}")
    if not info.binary and agg in ("on_s", "events"):
        raise QueryError(f"{agg} applies to binary sensors (motion, door); {info.id} is numeric")


def _line(row: tuple[Any, ...]) -> Line:
    path, line, node, sensor, quantity, unit, start, end, count, *rest = row
    mean, mn, mx, last, stddev, events, on_s, errors, late, hlc, min_at, max_at, v = rest
    r = Rollup(
        node,
        sensor,
        quantity,
        unit,
        start,
        end,
        count,
        mean,
        mn,
        mx,
        last,
        stddev,
        events,
        on_s,
        errors,
        late,
        hlc,
        min_at,
        max_at,
        v,
    )
    return Line(path, line, r)


def cite_ranges(lines: Sequence[Line]) -> tuple[str, ...]:
    """One citation per file: ``path#L<first>-L<last>`` spanning ``lines`` in that file
    (other sensors' lines may lie between), ``path#L<n>`` for a single line."""
    spans: dict[str, tuple[int, int]] = {}
    for ln in lines:
        a, z = spans.get(ln.path, (ln.line, ln.line))
        spans[ln.path] = (min(a, ln.line), max(z, ln.line))
    return tuple(cite(p, a, z) for p, (a, z) in sorted(spans.items()))


def day_summary(info: SensorInfo, day: date, group: Sequence[Line], binary: bool) -> DaySummary:
    """A :class:`DaySummary` of ``group`` (the day's lines of one sensor)."""
    st: Stats = summarize([ln.rollup for ln in group], binary=binary)
    iso = _iso_or_none
    return DaySummary(
        info.node,
        info.id,
        day,
        info.quantity,
        info.unit,
        st.binary,
        st.lines,
        st.windows,
        st.count,
        st.errors,
        iso(st.start),
        iso(st.end),
        st.mean,
        st.min,
        iso(st.min_at),
        group[st.min_i].cite if st.min_i is not None else None,
        st.max,
        iso(st.max_at),
        group[st.max_i].cite if st.max_i is not None else None,
        st.last,
        iso(st.last_at),
        st.events,
        st.on_s,
        iso(st.first_event_at),
        iso(st.last_event_at),
        cite_ranges(group),
    )


def _interval(run: list[tuple[datetime, datetime, list[Line]]]) -> Interval:
    group = [ln for _, _, g in run for ln in g]
    st = summarize([ln.rollup for ln in group], binary=True)
    return Interval(
        layout.iso(run[0][0]), layout.iso(run[-1][1]), st.on_s, st.events, cite_ranges(group)
    )


def _crosses(ln: Line, above: float | None, below: float | None) -> bool:
    r = ln.rollup
    if above is not None:
        return float(r.max if r.max is not None else r.mean) > above  # type: ignore[arg-type]
    return float(r.min if r.min is not None else r.mean) < float(below)  # type: ignore[arg-type]


def _span(run: list[Line], high: bool) -> Span:
    st = summarize([ln.rollup for ln in run], binary=False)
    i = st.max_i if high else st.min_i
    at = st.max_at if high else st.min_at
    value = st.max if high else st.min
    assert i is not None and at is not None and value is not None and st.start and st.end
    return Span(
        layout.iso(st.start), layout.iso(st.end), value, layout.iso(at), run[i].cite,
        len({ln.rollup.start for ln in run}),
    )  # fmt: skip


def _iso_or_none(t: datetime | None) -> str | None:
    return layout.iso(t) if t is not None else None


def _when(t: datetime | date, tz: ZoneInfo) -> str:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=tz)
        local = t.astimezone(tz)
        return local.date().isoformat() if local.time() == time.min else local.isoformat()
    return t.isoformat()


VIEWS = ("rollups", "observations", "sensors")
VIEW_RE = re.compile(r"\b(" + "|".join(VIEWS) + r")\b", re.IGNORECASE)
# DuckDB's Binder errors for a column that does not exist (unqualified and qualified)
MISSING_COLUMN_RE = re.compile(
    r'Referenced column "([^"]+)" not found|does not have a column named "([^"]+)"'
)


def _spans_of(period: Period) -> list[tuple[datetime | date, datetime | date]]:
    """A period as a list of (since, until) spans.

    Raises:
        QueryError: no span.
    """
    if len(period) == 2 and isinstance(period[0], date):
        return [period]  # type: ignore[list-item]
    spans = list(period)
    if not spans:
        raise QueryError("a period needs at least one (since, until) span")
    return spans  # type: ignore[return-value]


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
