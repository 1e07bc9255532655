"""The query layer over hand-written rollup files: truth from the files read with json.

Each test writes the JSONL lines itself (a real vault from ``Vault.init``), computes
what the answer must be from those lines with plain Python, and compares.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.support.core_fixtures import make_vault
from vault_agent.query import (
    AmbiguousSensorError,
    NoDataError,
    QueryError,
    Store,
    UnknownSensorError,
)
from vault_agent.vault import Vault

NODE = "office"
DAY = "2015-02-05"


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def win(sensor: str, start: datetime, **fields) -> dict:
    """A rollup line of a 300 s window (fields override)."""
    d = {
        "v": 1,
        "node": NODE,
        "sensor": sensor,
        "quantity": "temperature",
        "unit": "°C",
        "start": iso(start),
        "end": iso(start + timedelta(seconds=300)),
        "count": 5,
    }
    d.update(fields)
    return d


def write_lines(v: Vault, day: str, lines: list) -> str:
    """Write raw lines (dicts become JSON, strings are written as they are)."""
    rel = f"agents/{v.node}/sensors/{day[:4]}/{day[5:7]}/{day}.jsonl"
    p = v.path(rel)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)
    with open(p, "a", encoding="utf-8") as fh:
        fh.write(text)
    return rel


def read_line(v: Vault, cite: str) -> dict:
    """The JSON of the line a citation names, read independently of the query layer."""
    path, _, n = cite.partition("#L")
    return json.loads(v.path(path).read_text("utf-8").splitlines()[int(n) - 1])


def configure(v: Vault, sensors: list[dict], **node) -> None:
    cfg = v.node_config()
    cfg["sensors"] = sensors
    cfg.update(node)
    v.write_node_config(cfg)


T0 = datetime(2015, 2, 5, 7, 30, tzinfo=UTC)


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return make_vault(tmp_path, node=NODE)


def test_citations_name_the_exact_line_and_bad_lines_are_reported(vault: Vault) -> None:
    lines: list = []
    for i in range(6):
        t = T0 + timedelta(minutes=5 * i)
        lines.append(win("office-temperature", t, mean=20 + i, min=19.5 + i, max=20.5 + i))
        lines.append(win("office-co2", t, quantity="co2", unit="ppm", mean=400 + i))
    lines.insert(3, "")  # blank line: skipped, but counts for line numbers
    lines.insert(5, '{"v":1,"node":"office","sensor":')  # torn JSON
    lines.insert(8, json.dumps(win("office-temperature", T0, count=-1)))  # schema failure
    rel = write_lines(vault, DAY, lines)
    store = Store(vault.root)
    got = store.lines("office-temperature", T0, T0 + timedelta(hours=1))
    assert [ln.rollup.mean for ln in got] == [20, 21, 22, 23, 24, 25]
    for ln in got:
        d = read_line(vault, ln.cite)
        assert ln.cite == f"{rel}#L{ln.line}"
        assert (d["sensor"], d["start"], d["mean"]) == (
            "office-temperature",
            ln.rollup.start,
            ln.rollup.mean,
        )
    bad = {(b.path, b.line) for b in store.bad_lines()}
    assert bad == {(rel, 6), (rel, 9)}
    assert any("count" in b.problem for b in store.bad_lines())


def test_count_zero_line_does_not_distort_the_day(vault: Vault) -> None:
    # issue 15: a count-0 line of mean 30 and a window of mean 20, max 21 -> mean 20, max 21
    write_lines(
        vault,
        DAY,
        [
            win("office-temperature", T0, count=0, mean=30.0, min=30.0, max=30.0, errors=3),
            win("office-temperature", T0 + timedelta(minutes=5), mean=20.0, min=19.0, max=21.0),
        ],
    )
    store = Store(vault.root)
    (s,) = store.day_summaries("office-temperature", date(2015, 2, 5), date(2015, 2, 5))
    assert (s.mean, s.max, s.min, s.count, s.windows, s.lines, s.errors) == (
        20.0,
        21.0,
        19.0,
        5,
        1,
        2,
        3,
    )
    assert read_line(vault, s.max_cite)["max"] == 21.0
    (p,) = store.series("office-temperature", date(2015, 2, 5), date(2015, 2, 5), 3600, "max")
    assert p.value == 21.0 and p.mean == 20.0


def test_late_line_is_merged_into_its_window(vault: Vault) -> None:
    on_time = win("office-temperature", T0, count=4, mean=20.0, min=19.0, max=21.0, last=20.5)
    late = win(
        "office-temperature", T0, count=1, mean=25.0, min=25.0, max=25.0, last=25.0, late=True
    )
    nxt = win("office-temperature", T0 + timedelta(minutes=5), count=5, mean=22.0)
    write_lines(vault, DAY, [on_time, nxt, late])
    store = Store(vault.root)
    lines = store.lines("office-temperature", T0, T0 + timedelta(minutes=10))
    assert [(ln.rollup.late, ln.line) for ln in lines] == [(False, 1), (True, 3), (False, 2)]
    pts = store.series("office-temperature", T0, T0 + timedelta(minutes=10), None, "mean")
    assert [p.t for p in pts] == [iso(T0), iso(T0 + timedelta(minutes=5))]
    assert pts[0].mean == pytest.approx((4 * 20.0 + 1 * 25.0) / 5)
    assert (pts[0].count, pts[0].max, pts[0].last) == (5, 25.0, 20.5)


def test_days_are_cut_at_midnight_in_the_vault_time_zone(vault: Vault) -> None:
    toml = vault.path("vault.toml")
    toml.write_text(toml.read_text() + 'timezone = "Europe/Berlin"\n')
    # 22:55 UTC on the 4th is 23:55 in Berlin (the 4th); 23:00 UTC is 00:00 on the 5th
    a = win("office-temperature", datetime(2015, 2, 4, 22, 55, tzinfo=UTC), mean=10.0)
    b = win("office-temperature", datetime(2015, 2, 4, 23, 0, tzinfo=UTC), mean=30.0)
    c = win("office-temperature", datetime(2015, 2, 5, 22, 55, tzinfo=UTC), mean=32.0)
    d = win("office-temperature", datetime(2015, 2, 5, 23, 0, tzinfo=UTC), mean=50.0)
    write_lines(vault, "2015-02-04", [a, b])
    write_lines(vault, "2015-02-05", [c, d])
    store = Store(vault.root)
    assert store.tz.key == "Europe/Berlin"
    days = store.day_summaries("office-temperature", date(2015, 2, 4), date(2015, 2, 6))
    assert [(s.day, s.mean) for s in days] == [
        (date(2015, 2, 4), 10.0),
        (date(2015, 2, 5), 31.0),
        (date(2015, 2, 6), 50.0),
    ]
    pts = store.series("office-temperature", date(2015, 2, 5), date(2015, 2, 5), 86400, "mean")
    assert [(p.t, p.end, p.value) for p in pts] == [
        ("2015-02-04T23:00:00Z", "2015-02-05T23:00:00Z", 31.0)
    ]
    assert store.coverage("office-temperature") == (date(2015, 2, 4), date(2015, 2, 6))


def test_hourly_series_matches_the_lines(vault: Vault) -> None:
    lines = []
    for i in range(36):  # 3 hours of 5-minute windows, counts and means varying
        t = datetime(2015, 2, 5, 6, 0, tzinfo=UTC) + timedelta(minutes=5 * i)
        m = 18 + (i * 7 % 11) / 3
        lines.append(
            win(
                "office-temperature",
                t,
                count=1 + i % 5,
                mean=m,
                min=m - 0.5,
                max=m + i % 3,
                last=m + 0.1,
            )
        )
    rel = write_lines(vault, DAY, lines)
    raw = [json.loads(x) for x in vault.path(rel).read_text().splitlines()]
    store = Store(vault.root)
    for agg in ("mean", "min", "max", "last", "sum", "count"):
        pts = store.series("office-temperature", date(2015, 2, 5), date(2015, 2, 5), 3600, agg)
        assert [p.t for p in pts] == [f"2015-02-05T0{h}:00:00Z" for h in (6, 7, 8)]
        for h, p in zip((6, 7, 8), pts, strict=True):
            group = [d for d in raw if d["start"][11:13] == f"0{h}"]
            n = sum(d["count"] for d in group)
            truth = {
                "mean": sum(d["mean"] * d["count"] for d in group) / n,
                "min": min(d["min"] for d in group),
                "max": max(d["max"] for d in group),
                "last": group[-1]["last"],
                "sum": sum(d["mean"] * d["count"] for d in group),
                "count": n,
            }[agg]
            assert p.value == pytest.approx(truth)
            if agg in ("min", "max", "last"):
                (c,) = p.cites
                assert read_line(vault, c)[agg] == pytest.approx(truth)


@pytest.mark.parametrize("every", [None, 900, 3600, 86400])
def test_series_with_count_zero_late_lines_and_ties(vault: Vault, every: int | None) -> None:
    rng = np.random.default_rng(13)
    lines = []
    for i in range(60):  # 5 hours; every 7th window has no readings, every 5th a late line
        t = datetime(2015, 2, 5, 6, 0, tzinfo=UTC) + timedelta(minutes=5 * i)
        m = float(np.round(rng.uniform(18, 24), 1))  # rounded: ties in min/max happen
        count = 0 if i % 7 == 3 else int(rng.integers(1, 6))
        lines.append(win("office-temperature", t, count=count, mean=m, min=m - 1, max=m + 1,
                         last=m))  # fmt: skip
        if i % 5 == 2:
            lines.append(win("office-temperature", t, count=1, mean=m + 2, min=m + 2,
                             max=m + 2, last=m + 2, late=True))  # fmt: skip
    rel = write_lines(vault, DAY, lines)
    raw = [json.loads(x) for x in vault.path(rel).read_text().splitlines()]
    store = Store(vault.root)

    def bucket(d: dict) -> str:
        t = datetime.fromisoformat(d["start"].replace("Z", "+00:00"))
        if every is None:
            return d["start"]
        b = int(t.timestamp()) // every * every
        return iso(datetime.fromtimestamp(b, UTC))

    groups: dict[str, list[dict]] = {}
    for d in raw:
        if d["count"] > 0:
            groups.setdefault(bucket(d), []).append(d)
    for agg in ("mean", "min", "max", "last", "sum", "count"):
        pts = store.series("office-temperature", T0 - timedelta(hours=2), T0 + timedelta(hours=6),
                           every, agg)  # fmt: skip
        assert [p.t for p in pts] == sorted(groups)
        for p in pts:
            g = groups[p.t]
            newest = max(d["start"] for d in g)
            on_time = [d for d in g if d["start"] == newest and not d.get("late")]
            truth = {
                "mean": sum(d["mean"] * d["count"] for d in g) / sum(d["count"] for d in g),
                "min": min(d["min"] for d in g),
                "max": max(d["max"] for d in g),
                "last": (on_time or [d for d in g if d["start"] == newest])[-1]["last"],
                "sum": sum(d["mean"] * d["count"] for d in g),
                "count": sum(d["count"] for d in g),
            }[agg]
            assert p.value == pytest.approx(truth), (agg, p.t)
            if agg in ("min", "max"):
                (c,) = p.cites
                assert read_line(vault, c)[agg] == pytest.approx(truth)
    days = store.day_summaries("office-temperature", date(2015, 2, 5), date(2015, 2, 5))
    (p,) = store.series("office-temperature", date(2015, 2, 5), date(2015, 2, 5), 86400, "max")
    assert (days[0].max, days[0].max_cite) == (p.max, p.cites[0])
    assert days[0].mean == pytest.approx(p.mean)


def test_intervals_of_a_binary_sensor(vault: Vault) -> None:
    configure(vault, [{"id": "hall-motion", "driver": "motion", "pin": 17}])
    t = datetime(2015, 2, 5, 21, 0, tzinfo=UTC)
    on = [(0, 0, 0), (1, 2, 40.0), (2, 0, 300.0), (3, 1, 12.0), (4, 0, 0), (5, 0, 0), (6, 3, 90.0)]
    lines = [
        win("hall-motion", t + timedelta(minutes=5 * i), quantity="motion", unit="", count=300,
            events=e, on_s=s, last=1.0 if s else 0.0)
        for i, e, s in on
    ]  # fmt: skip
    write_lines(vault, DAY, lines)
    store = Store(vault.root)
    assert store.resolve("hall-motion").binary
    got = store.intervals("hall-motion", t, t + timedelta(hours=1))
    assert [(i.start, i.end, i.on_s, i.events) for i in got] == [
        (iso(t + timedelta(minutes=5)), iso(t + timedelta(minutes=20)), 352.0, 3),
        (iso(t + timedelta(minutes=30)), iso(t + timedelta(minutes=35)), 90.0, 3),
    ]
    assert got[0].cites == (f"agents/office/sensors/2015/02/{DAY}.jsonl#L2-L4",)
    pts = store.series("hall-motion", t, t + timedelta(hours=1), 3600, "on_s")
    assert pts[0].value == 442.0 and pts[0].events == 6
    with pytest.raises(QueryError, match="binary"):
        store.series("hall-motion", t, t + timedelta(hours=1), 3600, "mean")


def test_extreme_gives_value_time_and_line(vault: Vault) -> None:
    lines = [
        win("office-temperature", T0, mean=20.0, min=19.0, max=22.0,
            max_at=iso(T0 + timedelta(seconds=70))),
        win("office-temperature", T0 + timedelta(minutes=5), mean=23.0, min=18.5, max=24.5,
            min_at=iso(T0 + timedelta(minutes=9)), max_at=iso(T0 + timedelta(minutes=6))),
        win("office-temperature", T0 + timedelta(minutes=10), mean=21.0, min=20.0, max=24.5),
    ]  # fmt: skip
    write_lines(vault, DAY, lines)
    store = Store(vault.root)
    hi = store.extreme("office-temperature", date(2015, 2, 5), date(2015, 2, 5), "max")
    assert (hi.value, hi.at, hi.unit) == (24.5, iso(T0 + timedelta(minutes=6)), "°C")
    assert read_line(vault, hi.cite)["max_at"] == hi.at  # the first of two equal maxima
    lo = store.extreme("office-temperature", date(2015, 2, 5), date(2015, 2, 5), "min")
    assert (lo.value, lo.at) == (18.5, iso(T0 + timedelta(minutes=9)))
    msg = (
        r"No data for office-temperature from 2015-03-01 to 2015-03-01; "
        r"office-temperature covers 2015-02-05 … 2015-02-05"
    )
    with pytest.raises(NoDataError, match=msg):
        store.extreme("office-temperature", date(2015, 3, 1), date(2015, 3, 1), "max")
    with pytest.raises(QueryError, match="reversed"):
        store.lines("office-temperature", date(2015, 2, 6), date(2015, 2, 5))


def test_sql_is_read_only_and_bad_sql_is_one_line(vault: Vault) -> None:
    write_lines(
        vault,
        DAY,
        [win("office-temperature", T0 + timedelta(minutes=5 * i), mean=20.0 + i) for i in range(4)],
    )
    store = Store(vault.root)
    cols, rows = store.sql("SELECT sensor, count(*) AS n, avg(mean) FROM rollups GROUP BY sensor")
    assert cols == ["sensor", "n", "avg(mean)"] and rows == [("office-temperature", 4, 21.5)]
    cols, rows = store.sql("WITH x AS (SELECT cite FROM rollups WHERE mean = 22) SELECT * FROM x")
    assert rows == [(f"agents/office/sensors/2015/02/{DAY}.jsonl#L3",)]
    writes = (
        "DELETE FROM _lines",
        "DROP VIEW rollups",
        "CREATE TABLE t (a INT)",
        "INSERT INTO _lines SELECT * FROM _lines",
        "SELECT 1; SELECT 2",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "ATTACH '/tmp/x.db'",
        "PRAGMA version",
    )
    for bad in writes:
        with pytest.raises(QueryError) as e:
            store.sql(bad)
        assert "\n" not in str(e.value)
    with pytest.raises(QueryError, match=r"^no column nope in rollups; columns: node, sensor, "):
        store.sql("SELECT nope FROM rollups")
    with pytest.raises(QueryError, match="bad SQL"):
        store.sql("SELEC 1")
    with pytest.raises(QueryError, match="bad SQL"):
        store.sql("SELECT * FROM read_text('/etc/hostname')")  # no file access
    assert store.sql("SELECT count(*) FROM rollups")[1] == [(4,)]


def test_unknown_and_ambiguous_sensor_names(vault: Vault) -> None:
    write_lines(vault, DAY, [win("office-temperature", T0), win("office-co2", T0, quantity="co2")])
    store = Store(vault.root)
    with pytest.raises(UnknownSensorError) as e:
        store.resolve("kitchen humidity")
    assert (
        str(e.value) == "no sensor called 'kitchen humidity'; known: office-co2, office-temperature"
    )
    with pytest.raises(AmbiguousSensorError, match="office-co2, office-temperature"):
        store.resolve("office")


def test_vocabulary_from_node_toml(vault: Vault) -> None:
    configure(
        vault,
        [
            {
                "id": "t1",
                "driver": "bme280",
                "quantity": "temperature",
                "name": "desk temperature",
                "aliases": ["desk"],
            },
            {"id": "h1", "driver": "bme280", "quantity": "humidity"},
            {"id": "t2", "driver": "cpu_temperature", "room": "cupboard"},
        ],
        room="office",
        aliases=["study"],
    )
    store = Store(vault.root)
    infos = {i.id: i for i in store.sensors()}
    assert (infos["t1"].room, infos["t1"].name, infos["t2"].room) == (
        "office",
        "desk temperature",
        "cupboard",
    )
    assert infos["t1"].first_day is None
    assert store.resolve("t1").id == "t1"
    assert store.resolve("office/h1").id == "h1"
    assert store.resolve("Desk Temperature").id == "t1"
    assert store.resolve("desk").id == "t1"
    assert store.resolve("study humidity").id == "h1"
    assert store.resolve("humidity in the office").id == "h1"
    assert store.resolve("cupboard temp").id == "t2"
    with pytest.raises(AmbiguousSensorError):
        store.resolve("office temperature")  # t1 and t2's node room… t2 is in the cupboard
    assert store.coverage("t1") is None


def test_cache_follows_appends_and_rewrites(vault: Vault) -> None:
    rel = write_lines(vault, DAY, [win("office-temperature", T0, mean=20.0)])
    store = Store(vault.root)
    assert len(store.lines("office-temperature", date(2015, 2, 5), date(2015, 2, 5))) == 1
    write_lines(vault, DAY, [win("office-temperature", T0 + timedelta(minutes=5), mean=21.0)])
    assert [
        ln.line for ln in store.lines("office-temperature", date(2015, 2, 5), date(2015, 2, 5))
    ] == [1, 2]
    again = Store(vault.root)  # a new process-level store reuses the cache file
    assert [
        ln.rollup.mean for ln in again.lines("office-temperature", T0, T0 + timedelta(hours=1))
    ] == [20.0, 21.0]
    vault.path(rel).unlink()
    assert store.sql("SELECT count(*) FROM rollups")[1] == [(0,)]
    with pytest.raises(UnknownSensorError):  # its only file is gone, so is the sensor
        store.lines("office-temperature", T0, T0 + timedelta(hours=1))


@pytest.mark.parametrize(
    ("entry", "node", "message"),
    [
        ({"name": 5}, {}, "sensors[0] (t1): name must be a non-empty string, got 5"),
        ({"aliases": "temp"}, {}, "aliases must be a list of strings"),
        ({"aliases": ["ok", ""]}, {}, "alias must be a non-empty string"),
        ({"room": "x" * 65}, {}, "room 'xxxx"),
        ({}, {"room": ["office"]}, "room must be a non-empty string"),
        ({}, {"aliases": [1]}, "alias must be a non-empty string, got 1"),
    ],
)
def test_vault_check_rejects_bad_vocabulary(
    vault: Vault, entry: dict, node: dict, message: str
) -> None:
    import tomli_w

    from vault_agent.vault.check import check_tree

    cfg = vault.node_config()
    cfg["sensors"] = [{"id": "t1", "driver": "bme280", **entry}]
    cfg.update(node)
    rel = "agents/office/node.toml"
    vault.path(rel).write_text(tomli_w.dumps(cfg), encoding="utf-8")
    problems = [str(p) for p in check_tree(vault.root, [rel])]
    assert len(problems) == 1 and message in problems[0], problems
    store = Store(vault.root)  # the query layer skips what it cannot use, and says so
    assert [i.id for i in store.sensors() if i.node == "office"] in ([], ["t1"])


def test_threshold_runs_with_peaks(vault: Vault) -> None:
    maxes = [20, 26, 27.5, 25.5, 21, 22, 26.2, 20]  # above 25: windows 1-3 and 6
    lines = [
        win("office-temperature", T0 + timedelta(minutes=5 * i), mean=m - 1, min=m - 2, max=m)
        for i, m in enumerate(maxes)
    ]
    write_lines(vault, DAY, lines)
    store = Store(vault.root)
    runs = store.threshold("office-temperature", date(2015, 2, 5), date(2015, 2, 5), above=25)
    truth = [(1, 4), (6, 7)]  # [first, last + 1) window indexes
    assert [(r.start, r.end, r.windows) for r in runs] == [
        (iso(T0 + timedelta(minutes=5 * a)), iso(T0 + timedelta(minutes=5 * z)), z - a)
        for a, z in truth
    ]
    assert [r.peak for r in runs] == [max(maxes[a:z]) for a, z in truth]
    assert all(read_line(vault, r.cite)["max"] == r.peak for r in runs)
    low = store.threshold("office-temperature", date(2015, 2, 5), date(2015, 2, 5), below=19)
    assert [(r.peak, r.windows) for r in low] == [(18, 1), (18, 1)]
    with pytest.raises(QueryError, match="exactly one"):
        store.threshold("office-temperature", date(2015, 2, 5), date(2015, 2, 5))


def test_observations_from_frontmatter(vault: Vault) -> None:
    toml = vault.path("vault.toml")
    toml.write_text(toml.read_text() + 'timezone = "Europe/Berlin"\n')
    late_evening = {"start": "2015-02-05T23:10:00Z", "end": "2015-02-05T23:40:00Z"}
    rel_a, _ = vault.write_observation(
        "Light went on at 07:35.", title="Lights on early", sensors=["office-light"],
        window={"start": "2015-02-05T07:30:00Z", "end": "2015-02-05T08:30:00Z"},
        created=datetime(2015, 2, 5, 8, 31, tzinfo=UTC),
    )  # fmt: skip
    rel_b, _ = vault.write_observation(
        "Still warm after midnight.", title="Warm night", sensors=["office-temperature"],
        window=late_evening, created=datetime(2015, 2, 6, 0, 5, tzinfo=UTC),
    )  # fmt: skip
    store = Store(vault.root)
    got = store.observations()
    assert [(o.path, o.title, o.day) for o in got] == [
        (rel_a, "Lights on early", date(2015, 2, 5)),
        (rel_b, "Warm night", date(2015, 2, 6)),  # 00:10 in Berlin
    ]
    assert got[0].sensors == ("office-light",) and got[0].text == "Light went on at 07:35."
    assert (got[1].start, got[1].end) == (late_evening["start"], late_evening["end"])
    assert [o.path for o in store.observations(since=date(2015, 2, 6))] == [rel_b]
    assert [o.path for o in store.observations(until=date(2015, 2, 5))] == [rel_a]
    assert store.observations(node="kitchen") == []
    cols, rows = store.sql("SELECT path, day, sensors FROM observations ORDER BY day")
    assert rows == [(rel_a, date(2015, 2, 5), ["office-light"]),
                    (rel_b, date(2015, 2, 6), ["office-temperature"])]  # fmt: skip


def test_symlinked_rollup_folders_and_files_are_not_read(vault: Vault, tmp_path: Path) -> None:
    write_lines(vault, DAY, [win("office-temperature", T0, mean=20.0)])
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "2015-03-01.jsonl").write_text(
        json.dumps(win("office-temperature", T0 + timedelta(days=24), mean=99.0)) + "\n"
    )
    sensors = vault.path("agents/office/sensors/2015")
    (sensors / "03").symlink_to(outside, target_is_directory=True)
    (sensors / "02" / "2015-02-06.jsonl").symlink_to(outside / "2015-03-01.jsonl")
    store = Store(vault.root)
    assert store.sql("SELECT path, mean FROM rollups")[1] == [
        (f"agents/office/sensors/2015/02/{DAY}.jsonl", 20.0)
    ]
    write_lines(vault, DAY, [win("office-temperature", T0 + timedelta(minutes=5), mean=21.0)])
    assert store.sql("SELECT sum(mean) FROM rollups")[1] == [(41.0,)]  # the append is seen


def test_make_point_equals_the_dataclass() -> None:
    from vault_agent.query.model import POINT_FIELDS, Point, make_point

    values = ("2015-02-05T07:00:00Z", "2015-02-05T07:05:00Z", "max", 21.5, 5, 21.0, 20.5,
              21.5, 21.2, 105.0, None, None, ("a.jsonl#L3",))  # fmt: skip
    p = make_point(*values)
    assert p == Point(*values) and hash(p) == hash(Point(*values))
    assert tuple(getattr(p, f) for f in POINT_FIELDS) == values
    with pytest.raises(AttributeError):
        p.value = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        make_point(*values[:-1])


def test_as_dict_of_values_lists_every_field_in_order(vault: Vault) -> None:
    from dataclasses import fields

    write_lines(vault, DAY, [win("office-temperature", T0, mean=20.0, min=19.0, max=21.0)])
    store = Store(vault.root)
    (p,) = store.series("office-temperature", T0, T0 + timedelta(hours=1), 3600, "max")
    (s,) = store.day_summaries("office-temperature", date(2015, 2, 5), date(2015, 2, 5))
    for obj in (p, s):
        d = obj.as_dict()
        assert list(d) == [f.name for f in fields(obj)]
        assert all(not isinstance(v, tuple) for v in d.values())
    assert p.as_dict()["cites"] == [f"agents/office/sensors/2015/02/{DAY}.jsonl#L1"]
    assert (p.as_dict()["value"], p.as_dict()["max"]) == (21.0, 21.0)
