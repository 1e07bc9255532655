"""The query layer: the one owner of a vault's rollup data (DuckDB over the JSONL files).

Everything that reads rollup lines or summarises them goes through here: the observer's
statistics, the site's day pages, the index's day chunks, ``vault history``,
``vault query``, ``vault ask``, ``vault mcp`` and the ``vault serve`` dashboard.

Public API (times: UTC ISO 8601 strings out; naive datetimes and dates in are in the
vault's time zone, ``timezone`` in vault.toml, default UTC; a window belongs to a span
when its start is in [since, until); values in the sensor's unit, ``on_s`` in seconds)::

    from vault_agent.query import Store, UnknownSensorError, NoDataError
    store = Store(vault_root)
    store.tz                                   # ZoneInfo of the vault
    store.sensors() -> list[SensorInfo]        # node, id, quantity, unit, name, room,
                                               # aliases, binary, first_day, last_day
    store.resolve("office temperature") -> SensorInfo   # id, node/id, name, alias, words
    store.coverage(sensor) -> (date, date) | None
    store.lines(sensor, since, until) -> list[Line]     # parsed lines + cite
    store.series(sensor, since, until, every_s=None, agg="mean") -> list[Point]
    store.day_summaries(sensor, since_day, until_day) -> list[DaySummary]
    store.intervals(sensor, since, until) -> list[Interval]   # binary sensors
    store.extreme(sensor, since, until, "max" | "min") -> Fact
    store.threshold(sensor, since, until, above=N | below=N) -> list[Span]  # runs, peak
    store.compare(sensor, (since, until), [(since, until), …], stat="mean") -> Comparison
                                               # both values, their lines, a − b
    store.observations(node=None, since=None, until=None) -> list[ObservationInfo]
    store.sql("SELECT …") -> (columns, rows)   # read-only; views rollups, observations,
                                               # sensors
    store.bad_lines() -> list[BadLine]         # malformed lines skipped (file:line)

A citation is ``agents/office/sensors/2015/02/2015-02-05.jsonl#L148`` (1-based line),
or ``…#L5-L1440`` for the first to last line of a sensor in one file (other
sensors' lines may lie between). :func:`summarize` (module
:mod:`~vault_agent.query.summary`) is the one computation of mean/min/max/last/events/
on-time over rollup lines; renderers elsewhere call it.

Errors: :class:`UnknownSensorError` (and :class:`AmbiguousSensorError`) name the known
sensors; :class:`NoDataError` says what the sensor covers; :class:`QueryError` names a bad
parameter or SQL statement. All are :class:`~vault_agent.errors.VaultError`.

Layering: imports only ``vault_agent.vault`` and ``vault_agent.sensors.config``.
"""

from __future__ import annotations

from .model import (
    AmbiguousSensorError,
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
    UnknownSensorError,
    cite,
)
from .store import AGGS, COMPARE_STATS, Period, Store, vault_timezone
from .summary import Stats, summarize

__all__ = [
    "AGGS",
    "COMPARE_STATS",
    "AmbiguousSensorError",
    "BadLine",
    "Comparison",
    "DaySummary",
    "Fact",
    "Interval",
    "Line",
    "NoDataError",
    "ObservationInfo",
    "Period",
    "PeriodStat",
    "Point",
    "QueryError",
    "SensorInfo",
    "Span",
    "Stats",
    "Store",
    "UnknownSensorError",
    "cite",
    "summarize",
    "vault_timezone",
]
