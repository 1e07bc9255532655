"""Replay of the bundled real data sets: formats, quirks, resume, rollups vs numpy."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.support.replayed import training_vault
from vault_agent.cli import main
from vault_agent.errors import VaultError
from vault_agent.resources import project_path
from vault_agent.sensors import datasets
from vault_agent.sensors import replay as rp
from vault_agent.vault import Vault
from vault_agent.vault import repo as git
from vault_agent.vault.check import check_tree

ROOM = project_path("datasets") / "room-occupancy-estimation" / "Occupancy_Estimation.csv"
OFFICE = project_path("datasets") / "occupancy-detection" / "datatraining.txt"
OFFICE_TEST = project_path("datasets") / "occupancy-detection" / "datatest.txt"


def office_file(tmp_path: Path, *rows: str) -> Path:
    """A small occupancy-detection style file (the data set's header, then ``rows``)."""
    path = tmp_path / "office.txt"
    path.write_text(
        "date,Temperature,Humidity,Light,CO2,HumidityRatio,Occupancy\n"
        + "".join(f"{row}\n" for row in rows)
    )
    return path


def new_vault(tmp_path: Path, node: str) -> Vault:
    return Vault.init(tmp_path / node, node)[0]


def numpy_windows(epochs: np.ndarray, values: np.ndarray, window: int = 300) -> dict:
    """Independent per-window statistics: start epoch → (count, mean, min, max, std, last)."""
    starts = np.floor(epochs / window) * window
    out = {}
    for s in np.unique(starts):
        x = values[starts == s]
        out[int(s)] = (x.size, x.mean(), x.min(), x.max(), x.std(), x[-1])
    return out


def load_room(column: str) -> tuple[np.ndarray, np.ndarray]:
    with open(ROOM, newline="") as fh:
        rows = list(csv.DictReader(fh))
    t = np.array(
        [
            datetime.strptime(r["Date"] + " " + r["Time"], "%d-%m-%Y %H:%M:%S")
            .replace(tzinfo=UTC)
            .timestamp()
            for r in rows
        ]
    )
    return t, np.array([float(r[column]) for r in rows])


def by_start(v: Vault, sensor: str) -> dict:
    return {
        int(datetime.fromisoformat(r.start.replace("Z", "+00:00")).timestamp()): r
        for r in v.iter_rollups(v.node)
        if r.sensor == sensor
    }


def test_dataset_argument_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert datasets.resolve("occupancy-detection") == OFFICE
    assert datasets.resolve("datasets/room-occupancy-estimation") == ROOM
    assert datasets.resolve("datasets/occupancy-detection/datatest.txt") == OFFICE_TEST
    mine = tmp_path / "rec"
    mine.mkdir()
    (mine / "notes.txt").write_text("hello\n")
    (mine / "b.csv").write_text(ROOM.read_text()[:2000])
    assert datasets.resolve(str(mine)) == mine / "b.csv"
    with pytest.raises(rp.ReplayFormatError, match="no such file, folder or bundled data set"):
        datasets.resolve("nope")


def test_one_dataset_vocabulary_for_every_command(tmp_path, monkeypatch):
    """The names `vault replay`, `vault agent run --replay` and `vault demo` accept are one set."""
    monkeypatch.chdir(tmp_path)
    assert datasets.resolve("occupancy-detection-test") == OFFICE_TEST
    assert datasets.resolve("datasets/occupancy-detection") == OFFICE
    assert datasets.resolve("occupancy-detection/datatest.txt") == OFFICE_TEST
    for name in datasets.BUNDLED:
        assert datasets.resolve(name).is_file()
    vault_root = tmp_path / "v"
    vault_root.mkdir()
    ref = datasets.ref(vault_root, OFFICE_TEST)
    assert ref == "datasets/occupancy-detection/datatest.txt"
    assert datasets.from_ref(vault_root, ref).resolve() == OFFICE_TEST


def test_detect_format_and_sources(tmp_path):
    assert rp.detect_format(ROOM) is rp.ROOM
    assert rp.detect_format(OFFICE) is rp.OFFICE
    assert rp.sources(ROOM) == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
    assert rp.sources(OFFICE_TEST) == ["office"]
    bad = tmp_path / "x.csv"
    bad.write_text("when,temp\n2020-01-01,3\n")
    with pytest.raises(rp.ReplayFormatError, match=r"x.csv:1: header not recognised \(when,temp"):
        rp.detect_format(bad)


def test_room_data_rollups_match_numpy(tmp_path):
    v = new_vault(tmp_path, "room-s1")
    st = rp.replay(v, ROOM, rp.configure_node(v, ROOM))  # source S1 from the node name
    assert (st.source, st.rows, st.malformed) == ("S1", 10129, [])
    assert st.readings == 3 * 10129
    for column, sensor in (
        ("S1_Temp", "s1-temperature"),
        ("S1_Light", "s1-light"),
        ("S1_Sound", "s1-sound"),
    ):
        t, x = load_room(column)
        expected = numpy_windows(t, x)
        got = by_start(v, sensor)
        assert set(got) == set(expected)
        for start, (n, mean, lo, hi, std, last) in expected.items():
            r = got[start]
            assert r.count == n
            assert r.mean == pytest.approx(mean, abs=1e-5)
            assert (r.min, r.max, r.last) == (
                pytest.approx(lo),
                pytest.approx(hi),
                pytest.approx(last),
            )
            assert r.stddev == pytest.approx(std, abs=1e-5)


def test_room_pir_events_match_numpy(tmp_path):
    v = new_vault(tmp_path, "s7")
    st = rp.replay(v, ROOM, rp.configure_node(v, ROOM))
    assert st.source == "S7" and st.sensors == ["s7-motion"]
    t, x = load_room("S7_PIR")
    on = x > 0.5
    events = int(on[0]) + int(np.sum(on[1:] & ~on[:-1]))
    got = by_start(v, "s7-motion")
    assert sum(r.events for r in got.values()) == events
    assert sum(r.count for r in got.values()) == x.size
    # each on-reading holds until the next reading, at most 45 s (1.5 × 30 s)
    gaps = np.minimum(np.diff(t), 45.0)
    expected_on = float(np.sum(gaps[on[:-1]])) + (45.0 if on[-1] else 0.0)
    assert sum(r.on_s for r in got.values()) == pytest.approx(expected_on, abs=1e-3)


def test_office_data_with_quirks_matches_numpy(tmp_path):
    v, st = training_vault(tmp_path / "office")  # OFFICE (its TRAINING_FILE) replayed
    assert (st.format, st.source, st.rows) == ("occupancy-detection", "office", 8143)
    with open(OFFICE, newline="") as fh:
        rows = list(csv.reader(fh))[1:]  # 8 fields: row id + the 7 named
    t = np.array(
        [datetime.strptime(r[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() for r in rows]
    )
    co2 = np.array([float(r[5]) for r in rows])
    expected = numpy_windows(t, co2)
    got = by_start(v, "office-co2")
    assert len(got) == len(expected)
    for start, (n, mean, lo, hi, std, _last) in expected.items():
        assert got[start].count == n
        assert (got[start].min, got[start].max) == (pytest.approx(lo), pytest.approx(hi))
        assert got[start].mean == pytest.approx(mean, abs=1e-5)
        assert got[start].stddev == pytest.approx(std, abs=1e-5)
    assert got[min(got)].unit == "ppm"


def test_unquoted_dates_without_row_id_and_ymd_slashes(tmp_path):
    office = office_file(
        tmp_path,
        "2015-02-04 17:51:00,23.18,27.27,426,721.25,0.0047,1",
        '"7","2015-02-04 17:52:00",23.2,27.3,430,722,0.0048,1',
    )
    v = new_vault(tmp_path, "n1")
    st = rp.replay(v, office, rp.configure_node(v, office))
    assert (st.rows, st.malformed) == (2, [])
    room = tmp_path / "room.csv"
    header = ROOM.read_text().splitlines()[0]
    row = "24.94,24.75,24.56,25.38,121,34,53,40,0.08,0.19,0.06,0.06,390,0.769,1,0,1"
    room.write_text(f"{header}\n2017/12/22,10:49:41,{row}\n22-12-2017,10:50:12,{row}\n")
    v2 = new_vault(tmp_path, "n2")
    st = rp.replay(v2, room, rp.configure_node(v2, room, "s6"))
    assert (st.rows, st.first, st.last) == (2, "2017-12-22T10:49:41Z", "2017-12-22T10:50:12Z")


def test_malformed_rows_and_truncated_last_line_are_reported(tmp_path):
    lines = ROOM.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    body = [
        lines[0],
        lines[1],
        "31-02-2017,10:50:12" + lines[2][19:],
        lines[3],
        lines[4].replace(",121,", ",abc,", 1),
        lines[5],
        "22-12-2017,10:52",
        lines[6],
        lines[7][:40],
    ]
    bad.write_text("\n".join(body))  # no newline at the end: the last row was cut
    v = new_vault(tmp_path, "n1")
    st = rp.replay(v, bad, rp.configure_node(v, bad))
    assert st.rows == 4
    problems = dict(st.malformed)
    assert sorted(problems) == [3, 5, 7, 9]
    assert "day is out of range" in problems[3]
    assert "could not convert string to float: 'abc'" in problems[5]
    assert "fields, expected 19" in problems[7]
    assert problems[9].startswith("truncated last line")


def test_resume_writes_nothing_twice(tmp_path):
    v = new_vault(tmp_path, "s5")
    stop = threading.Event()

    def stop_after_3000(stats):
        if stats.rows >= 3000:
            stop.set()

    first = rp.replay(
        v, ROOM, rp.configure_node(v, ROOM), stop=stop, progress=stop_after_3000, commit=True
    )
    assert first.stopped and 3000 <= first.rows < 10129
    second = rp.replay(
        v, ROOM, rp.configure_node(v, ROOM), commit=True
    )  # resumes where the first stopped
    assert second.skipped_closed > 0 and not second.stopped
    third = rp.replay(v, ROOM, rp.configure_node(v, ROOM))
    assert third.readings == 0 and third.rollups == 0
    resumed = [(r.start, r.count, r.mean) for r in v.iter_rollups(v.node)]
    fresh_v = new_vault(tmp_path, "fresh-s5")
    rp.replay(fresh_v, ROOM, rp.configure_node(fresh_v, ROOM))
    fresh = [(r.start, r.count, r.mean) for r in fresh_v.iter_rollups(fresh_v.node)]
    assert sorted(resumed) == sorted(fresh)
    assert len(set(resumed)) == len(resumed)
    assert not v.pending()  # everything committed
    kinds = [c.kind for c in git.history(v.repo)]
    assert kinds.count("config") == 1 and kinds.count("rollup") >= 7


def test_replay_in_pieces_equals_replay_in_one_go(tmp_path):
    cut = datetime(2015, 2, 5, 10, 2, 30, tzinfo=UTC)  # inside a 5-minute window
    pieces = new_vault(tmp_path, "office")
    a = rp.replay(pieces, OFFICE, rp.configure_node(pieces, OFFICE), until=cut)
    b = rp.replay(pieces, OFFICE, rp.configure_node(pieces, OFFICE), since=cut)
    assert a.last < "2015-02-05T10:02:30Z" and b.first == "2015-02-05T10:00:00Z"
    assert b.skipped_closed == 0
    whole, _ = training_vault(tmp_path / "whole-office")  # OFFICE replayed in one go
    key = [(r.sensor, r.start, r.count, r.mean) for r in pieces.iter_rollups(pieces.node)]
    ref = [(r.sensor, r.start, r.count, r.mean) for r in whole.iter_rollups(whole.node)]
    assert sorted(key) == sorted(ref)


def test_an_earlier_recording_fills_its_gap(tmp_path):
    v, _ = training_vault(tmp_path / "office")  # OFFICE replayed: 2015-02-04 17:51 → 02-10
    st = rp.replay(
        v, OFFICE_TEST, rp.configure_node(v, OFFICE_TEST)
    )  # 2015-02-02 14:19 → 02-04 10:43: earlier, not a resume
    assert st.readings == 5 * 2665 and st.skipped_closed == 0 and st.late == 0
    assert v.node_config()["sensors"][0]["dataset"].endswith("datatest.txt")
    starts = [r.start for r in v.iter_rollups(v.node) if r.sensor == "office-co2"]
    assert len(starts) == len(set(starts)) and min(starts) == "2015-02-02T14:15:00Z"
    assert (
        rp.replay(v, OFFICE, rp.configure_node(v, OFFICE)).readings == 0
    )  # both written: nothing twice


def test_configure_node_is_idempotent_and_refuses_clashes(tmp_path):
    v = new_vault(tmp_path, "alpaca")
    specs = rp.configure_node(v, ROOM)  # no source, no token in the name: S1
    assert [s.id for s in specs] == ["s1-temperature", "s1-light", "s1-sound"]
    assert [s.params["dataset"] for s in specs][
        0
    ] == "datasets/room-occupancy-estimation/Occupancy_Estimation.csv"
    head = v.head()
    assert rp.configure_node(v, ROOM) == specs and v.head() == head  # nothing new
    assert rp.configured_replays(v, specs) == [(ROOM, "S1")]
    assert rp.resolve_source(rp.ROOM, None, "alpaca", v.node_config()["sensors"]) == "S1"
    with pytest.raises(rp.ReplayFormatError, match="source 'S9' is not in"):
        rp.configure_node(v, ROOM, source="S9")
    with pytest.raises(
        rp.ReplayFormatError,
        match="already replays room-occupancy-estimation S1; one recorded node per vault node",
    ):
        rp.configure_node(v, ROOM, source="S6")
    v2 = new_vault(tmp_path, "hall")
    cfg = v2.node_config()
    cfg["sensors"] = [{"id": "s6-motion", "driver": "motion", "pin": 4}]
    v2.write_node_config(cfg)
    with pytest.raises(VaultError, match="already configured .* as a different sensor"):
        rp.configure_node(v2, ROOM, source="S6")


def test_real_time_speed_and_stop(tmp_path):
    v = new_vault(tmp_path, "office")
    st = rp.replay(
        v,
        OFFICE,
        rp.configure_node(v, OFFICE),
        backfill=False,
        speed=1e6,
        since=datetime(2015, 2, 5, tzinfo=UTC),
        until=datetime(2015, 2, 5, 1, tzinfo=UTC),
    )
    assert st.rows == 60 and st.first == "2015-02-05T00:00:00Z"
    starts = {r.start[11:16] for r in v.iter_rollups(v.node)}
    assert starts == {f"00:{m:02d}" for m in range(0, 60, 5)}
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    st = rp.replay(
        v, OFFICE, rp.configure_node(v, OFFICE), backfill=False, speed=60, stop=stop
    )  # 1 row per second
    assert st.stopped and st.rows <= 3


def test_real_time_does_not_wait_out_long_recording_gaps(tmp_path):
    office = office_file(
        tmp_path,
        "2015-02-04 17:51:00,23.18,27.27,426,721.25,0.0047,1",
        "2015-02-04 19:51:00,23.2,27.3,430,722,0.0048,1",
    )
    v = new_vault(tmp_path, "office")
    st = rp.replay(
        v, office, rp.configure_node(v, office), backfill=False, speed=1.0
    )  # a 2 h pause in the recording
    assert st.rows == 2 and st.elapsed_s < 5


def test_tz_converts_local_times(tmp_path):
    v = new_vault(tmp_path, "office")
    st = rp.replay(v, OFFICE_TEST, rp.configure_node(v, OFFICE_TEST), tz="Europe/Brussels")
    assert st.first == "2015-02-02T13:19:00Z"  # 14:19 CET = 13:19 UTC


def test_cli_replay_with_no_prior_configuration(tmp_path):
    v = new_vault(tmp_path, "office")
    r = CliRunner().invoke(
        main, ["replay", str(OFFICE), "--node", "office", "--backfill", "--vault", str(v.root)]
    )
    assert r.exit_code == 0, r.output
    assert "replayed 8143 rows of occupancy-detection office" in r.output
    hist = git.history(v.repo)
    assert [c.kind for c in hist].count("rollup") == 7 and hist[-2].kind == "config"
    assert not v.pending()
    assert check_tree(v.root) == []  # node.toml and every rollup line pass `vault check`
    r = CliRunner().invoke(
        main, ["replay", "occupancy-detection", "--json", "--vault", str(v.root)]
    )
    assert r.exit_code == 0 and '"skipped_closed": 40715' in r.output
    r = CliRunner().invoke(main, ["replay", str(OFFICE), "--node", "llama", "--vault", str(v.root)])
    assert r.exit_code == 1 and "this working copy is node 'office', not 'llama'" in r.output
    r = CliRunner().invoke(
        main, ["replay", str(OFFICE), "--speed", "5", "--backfill", "--vault", str(v.root)]
    )
    assert r.exit_code == 2
