"""The rollup lines of a vault in DuckDB: a disposable cache under ``.vault/query/``.

Invariant: the files are canonical; the table ``_lines`` holds every valid line of every
rollup day file (``agents/<node>/sensors/YYYY/MM/YYYY-MM-DD.jsonl``, conflict copies
excluded) with its vault path and 1-based line number, and ``_files`` the size and
mtime each file had when it was read. :meth:`LineCache.refresh` compares them with the
files and re-reads a file whose size or mtime changed (and forgets deleted files), so
the cache converges on the files on every call; deleting ``.vault/query/`` is always
safe.

Lines are split and JSON-decoded by DuckDB from the file's text (Python reads the bytes:
the connection runs with ``enable_external_access = false``, so SQL given to
:meth:`~vault_agent.query.Store.sql` cannot read or write files). A line the checks
below reject is skipped and kept in ``_bad`` with the problem named by the vault's own
validator (:func:`~vault_agent.vault.records.parse_rollup_line`). The checks are those of
that validator: an object with ``node``, ``sensor`` (non-empty), ``start``/``end`` (ISO
8601, end ≥ start), ``count`` (integer ≥ 0), finite numbers, ``v`` ≤ 1.

Concurrency: DuckDB lets one process open a database file for writing. When another
process holds the cache, this one builds its own in memory (same result, slower start).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import RecordError
from ..vault import files, layout
from ..vault.records import parse_rollup_line
from .model import BadLine

log = logging.getLogger("vault_agent.query")

CACHE_VERSION = 1
CACHE_DIR = "query"
CACHE_FILE = "rollups.duckdb"
NUMBER_TYPES = "('DOUBLE', 'BIGINT', 'UBIGINT')"
NUMERIC_FIELDS = ("mean", "min", "max", "last", "stddev", "on_s")

SCHEMA = """
CREATE TABLE IF NOT EXISTS _meta (version INTEGER);
CREATE TABLE IF NOT EXISTS _files (path VARCHAR PRIMARY KEY, size BIGINT, mtime_ns BIGINT);
CREATE TABLE IF NOT EXISTS _bad (path VARCHAR, line INTEGER, problem VARCHAR);
CREATE TABLE IF NOT EXISTS _lines (
    path VARCHAR, line INTEGER, node VARCHAR, sensor VARCHAR, quantity VARCHAR, unit VARCHAR,
    start_s DOUBLE, end_s DOUBLE, start VARCHAR, "end" VARCHAR, count BIGINT,
    mean DOUBLE, min DOUBLE, max DOUBLE, last DOUBLE, stddev DOUBLE,
    events BIGINT, on_s DOUBLE, errors BIGINT, late BOOLEAN, hlc VARCHAR,
    min_at VARCHAR, max_at VARCHAR, v INTEGER
);
"""


FIELDS = (
    "v", "node", "sensor", "quantity", "unit", "start", "end", "count", "mean", "min", "max",
    "last", "stddev", "events", "on_s", "errors", "late", "hlc", "min_at", "max_at",
)  # fmt: skip
# each line is parsed once into a struct of small JSON values, checked and cast below
STRUCT = "{" + ", ".join(f'"{k}": "JSON"' for k in FIELDS) + "}"


def _f(name: str) -> str:
    return f'j."{name}"'


def _num(name: str) -> str:
    return f"TRY_CAST({_f(name)} AS DOUBLE)"


def _num_ok(name: str) -> str:
    t = f"json_type({_f(name)})"
    return f"({t} IS NULL OR {t} = 'NULL' OR ({t} IN {NUMBER_TYPES} AND isfinite({_num(name)})))"


def _str(name: str) -> str:
    return f"({_f(name)} ->> '$')"


_OK = " AND ".join(
    [
        f"(json_type({_f('v')}) IS NULL OR (json_type({_f('v')}) IN ('UBIGINT', 'BIGINT')"
        f" AND TRY_CAST({_f('v')} AS BIGINT) <= 1))",
        f"json_type({_f('node')}) = 'VARCHAR'",
        f"regexp_full_match({_str('node')}, '{layout.NODE_RE.pattern.strip('^$')}')",
        f"json_type({_f('sensor')}) = 'VARCHAR'",
        f"{_str('sensor')} <> ''",
        f"json_type({_f('count')}) = 'UBIGINT'",
        f"json_type({_f('start')}) = 'VARCHAR'",
        f"json_type({_f('end')}) = 'VARCHAR'",
        "t0 IS NOT NULL",
        "t1 IS NOT NULL",
        "t1 >= t0",
        *(_num_ok(k) for k in NUMERIC_FIELDS),
    ]
)

INGEST = f"""
WITH files AS (
    SELECT unnest(?::VARCHAR[]) AS path, unnest(?::VARCHAR[]) AS node,
           unnest(?::VARCHAR[]) AS content
), raw AS (
    SELECT path, node, unnest(generate_series(1, len(ls))) AS line, unnest(ls) AS txt
    FROM (SELECT path, node, string_split(content, chr(10)) AS ls FROM files)
), parsed AS (
    SELECT path, node, line, txt,
           CASE WHEN json_valid(txt) AND json_type(txt) = 'OBJECT'
                THEN json_transform(txt, '{STRUCT}') END AS j
    FROM raw WHERE trim(txt, ' ' || chr(9) || chr(13)) <> ''
), timed AS (
    SELECT *, TRY_CAST({_str("start")} AS TIMESTAMPTZ) AS t0,
              TRY_CAST({_str("end")} AS TIMESTAMPTZ) AS t1
    FROM parsed
), checked AS (
    SELECT *, coalesce(j IS NOT NULL AND {_OK}, false) AS ok FROM timed
)
SELECT path, line, txt, ok, node, {_str("sensor")} AS sensor,
       coalesce({_str("quantity")}, '') AS quantity, coalesce({_str("unit")}, '') AS unit,
       epoch(t0) AS start_s, epoch(t1) AS end_s, {_str("start")} AS start, {_str("end")} AS "end",
       TRY_CAST({_f("count")} AS BIGINT) AS count,
       {", ".join(_num(k) + " AS " + k for k in NUMERIC_FIELDS[:5])},
       TRY_CAST({_f("events")} AS BIGINT) AS events, {_num("on_s")} AS on_s,
       coalesce(TRY_CAST({_f("errors")} AS BIGINT), 0) AS errors,
       coalesce(TRY_CAST({_f("late")} AS BOOLEAN), false) AS late,
       coalesce({_str("hlc")}, '') AS hlc, {_str("min_at")} AS min_at,
       {_str("max_at")} AS max_at, coalesce(TRY_CAST({_f("v")} AS INTEGER), 1) AS v
FROM checked
"""


@dataclass(frozen=True)
class FileStamp:
    """A rollup file's vault path, node, size (bytes) and mtime (ns) when seen."""

    path: str
    node: str
    size: int
    mtime_ns: int


def rollup_files(root: Path, known: dict[str, tuple[int, int]] | None = None) -> list[FileStamp]:
    """Every rollup day file of every node under ``root`` with its size and mtime (lstat).

    One ``scandir`` pass: symlinked folders are not entered and reported once. A file
    whose (size, mtime) is in ``known`` was checked when it was read, so a regular file
    under the size limit is taken as is; any other file gets the vault's full reader check
    (:func:`~vault_agent.vault.files.readable`: a symlink, odd name or oversized file is
    skipped and reported once).
    """
    out: list[FileStamp] = []
    known = known or {}
    limit = files.max_file_bytes(root)
    for node, month in _month_dirs(Path(root)):
        for e in _entries(month):
            if not layout.ROLLUP_NAME_RE.match(e.name):
                continue
            rel = f"{layout.AGENTS}/{node}/sensors/{month.parent.name}/{month.name}/{e.name}"
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            stamp = (st.st_size, st.st_mtime_ns)
            plain = stat.S_ISREG(st.st_mode) and st.st_size <= limit
            if not (plain and known.get(rel) == stamp) and not files.readable(root, rel, limit):
                continue
            out.append(FileStamp(rel, node, *stamp))
    return out


def _month_dirs(root: Path) -> Iterator[tuple[str, Path]]:
    """(node, ``agents/<node>/sensors/YYYY/MM`` folder) in sorted order, symlinks skipped."""
    if _linked(root, layout.AGENTS):
        return
    for node in _entries(root / layout.AGENTS):
        sensors = f"{layout.AGENTS}/{node.name}/sensors"
        if not layout.NODE_RE.match(node.name) or not _real_dir(root, node):
            continue
        if _linked(root, sensors):
            continue
        for year in _entries(root / sensors):
            if _real_dir(root, year):
                for month in _entries(Path(year.path)):
                    if _real_dir(root, month):
                        yield node.name, Path(month.path)


def _linked(root: Path, rel: str) -> bool:
    """True (reported once) when the folder ``rel`` is a symlink."""
    if os.path.islink(root / rel):
        files.report_skip(rel, "symlinked folder; never followed")
        return True
    return False


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _real_dir(root: Path, e: os.DirEntry[str]) -> bool:
    """A folder that is not a symlink (a symlinked one is reported once, never followed)."""
    if e.is_symlink():
        rel = Path(e.path).relative_to(root).as_posix()
        files.report_skip(rel, "symlinked folder; never followed")
        return False
    return e.is_dir(follow_symlinks=False)


def _text(data: bytes, rel: str, bad: list[BadLine]) -> str:
    """The file's text; a line that is not UTF-8 becomes empty and is reported."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    out = []
    for i, raw in enumerate(lines, 1):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            bad.append(BadLine(rel, i, f"not valid UTF-8 (byte {e.start})"))
            out.append("")
    return "\n".join(out)


def _problem(text: str, rel: str, line: int) -> str:
    try:
        parse_rollup_line(text, rel, line)
    except RecordError as e:
        return e.problem
    return "rollup line rejected (a field has the wrong type)"


class LineCache:
    """The DuckDB connection holding ``_lines`` for one vault (see the module docstring).

    Args:
        root: the vault folder.
        persist: keep the cache in ``.vault/query/rollups.duckdb`` (False: in memory).
    """

    def __init__(self, root: Path, persist: bool = True) -> None:
        self.root = Path(root)
        self.con = self._connect(persist)
        self.refreshes = 0
        # ``_files`` as a dict (path → (size, mtime_ns)); this process alone writes the cache
        self._known: dict[str, tuple[int, int]] | None = None

    def _connect(self, persist: bool) -> duckdb.DuckDBPyConnection:
        config: dict[str, str | bool | int | float | list[str]] = {"enable_external_access": False}
        if persist:
            folder = self.root / layout.VAULT_DIR / CACHE_DIR
            path = folder / CACHE_FILE
            try:
                folder.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect(str(path), config=config)
                return self._prepare(con, path)
            except (duckdb.Error, OSError) as e:
                # Trigger: another process holds the cache, or it is unreadable. Why: the
                # cache is disposable. What: build this process's own copy in memory.
                log.info("event=query_cache_in_memory reason=%s", str(e).splitlines()[0])
        return self._prepare(duckdb.connect(":memory:", config=config), None)

    def _prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path | None
    ) -> duckdb.DuckDBPyConnection:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        # Trigger: every query. Why: a query reads one sensor's lines (one or a few row
        # groups), so DuckDB's worker threads add hand-offs that cost more than they save
        # on a busy small machine (MCP history p50 64-90 ms with one thread, 83-128 ms with
        # two, load 5-6 on 2 cores). What: queries run on the calling thread; ingesting
        # files (:meth:`refresh`) uses all of DuckDB's threads.
        self._ingest_threads = os.cpu_count() or 1  # DuckDB's own default
        con.execute("SET threads = 1")
        con.execute(SCHEMA)
        row = con.execute("SELECT max(version) FROM _meta").fetchone()
        if row is None or row[0] != CACHE_VERSION:
            for t in ("_lines", "_files", "_bad"):
                con.execute(f"DELETE FROM {t}")
            con.execute("DELETE FROM _meta")
            con.execute("INSERT INTO _meta VALUES (?)", [CACHE_VERSION])
        return con

    def refresh(self) -> int:
        """Re-read rollup files whose size or mtime changed; forget deleted ones.

        Returns:
            how many files were (re-)read.
        """
        if self._known is None:
            rows = self.con.execute("SELECT * FROM _files").fetchall()
            self._known = {p: (s, m) for p, s, m in rows}
        known = self._known
        seen = {f.path: f for f in rollup_files(self.root, known)}
        changed = [f for p, f in seen.items() if known.get(p) != (f.size, f.mtime_ns)]
        gone = [p for p in known if p not in seen]
        if not changed and not gone:
            return 0
        self.con.execute(f"SET threads = {self._ingest_threads}")
        self.con.execute("BEGIN")
        try:
            for paths in (gone, [f.path for f in changed]):
                if paths:
                    for t in ("_lines", "_files", "_bad"):
                        self.con.execute(f"DELETE FROM {t} WHERE path IN ?", [paths])
            for i in range(0, len(changed), 64):
                self._ingest(changed[i : i + 64])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            self._known = None  # re-read from the table next time
            raise
        finally:
            self.con.execute("SET threads = 1")
        for p in gone:
            del known[p]
        known.update((f.path, (f.size, f.mtime_ns)) for f in changed)
        self.refreshes += 1
        return len(changed)

    def _ingest(self, files: list[FileStamp]) -> None:
        bad: list[BadLine] = []
        paths, nodes, texts = [], [], []
        for f in files:
            try:
                data = (self.root / f.path).read_bytes()
            except OSError as e:
                bad.append(BadLine(f.path, 0, f"unreadable: {e}"))
                continue
            paths.append(f.path)
            nodes.append(f.node)
            texts.append(_text(data, f.path, bad))
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _batch AS {INGEST}", [paths, nodes, texts])
        self.con.execute("INSERT INTO _lines SELECT * EXCLUDE (txt, ok) FROM _batch WHERE ok")
        rejected = "SELECT path, line, txt FROM _batch WHERE NOT ok ORDER BY path, line"
        for path, line, txt in self.con.execute(rejected).fetchall():
            bad.append(BadLine(path, line, _problem(txt, path, line)))
        self.con.execute("DROP TABLE _batch")
        if bad:
            self.con.executemany(
                "INSERT INTO _bad VALUES (?, ?, ?)", [(b.path, b.line, b.problem) for b in bad]
            )
            for b in bad:
                log.warning("skipping bad rollup line: %s", b)
        self.con.executemany(
            "INSERT INTO _files VALUES (?, ?, ?)", [(f.path, f.size, f.mtime_ns) for f in files]
        )

    def bad_lines(self) -> list[BadLine]:
        """Lines skipped (file, line, problem), in file and line order."""
        rows = self.con.execute("SELECT * FROM _bad ORDER BY path, line").fetchall()
        return [BadLine(*r) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        self.con.close()
