"""Library API: rollups, observations, iteration with validation, shared memory, writes."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.core_fixtures import NODE, T0, make_vault, rollup
from vault_agent.errors import RecordError, VaultError
from vault_agent.vault import Observation, Rollup, Vault, core
from vault_agent.vault.hlc import Timestamp
from vault_agent.vault.records import parse_observation, parse_rollup_line


# -- rollups -------------------------------------------------------------------------
def test_append_rollups_goes_to_day_files_with_hlc(tmp_path):
    v = make_vault(tmp_path)
    late = rollup(i=0, start=T0 + timedelta(days=1))
    paths = v.append_rollups([rollup(i=0), rollup(i=1), late])
    assert paths == [
        f"agents/{NODE}/sensors/2025/10/2025-10-14.jsonl",
        f"agents/{NODE}/sensors/2025/10/2025-10-15.jsonl",
    ]
    lines = v.path(paths[0]).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert list(first)[:2] == ["v", "node"] and first["unit"] == "°C"
    assert "errors" not in first and "late" not in first  # empty fields omitted
    stamps = [Timestamp.parse(json.loads(x)["hlc"]) for x in lines]
    assert stamps[0] < stamps[1]


def test_read_back_equals_written(tmp_path):
    v = make_vault(tmp_path)
    written = [rollup(i=i, mean=20 + i / 10) for i in range(5)]
    v.append_rollups(written)
    got = list(v.iter_rollups(NODE))
    assert [replace(r, hlc="") for r in got] == written
    assert all(r.hlc for r in got)


def test_binary_rollup_round_trip():
    r = Rollup(
        node=NODE,
        sensor="hall-motion",
        quantity="motion",
        unit="",
        count=30,
        start="2025-10-14T10:00:00Z",
        end="2025-10-14T10:05:00Z",
        events=3,
        on_s=42.5,
        hlc="20251014T100500.000Z-0000",
    )
    assert parse_rollup_line(r.to_json()) == r


def test_iter_rollups_day_range_and_node(tmp_path):
    v = make_vault(tmp_path)
    v.append_rollups([rollup(start=T0 + timedelta(days=d)) for d in range(4)])
    got = list(v.iter_rollups(NODE, since=date(2025, 10, 15), until=date(2025, 10, 16)))
    assert [r.start[:10] for r in got] == ["2025-10-15", "2025-10-16"]
    assert list(v.iter_rollups("llama")) == []


def test_iter_rollups_skips_bad_lines_and_reports_them(tmp_path):
    v = make_vault(tmp_path)
    rel = v.append_rollups([rollup(i=0)])[0]
    p = v.path(rel)
    with open(p, "ab") as fh:
        fh.write(b"[1, 2, 3]\n")
        fh.write(
            b'{"v":1,"node":"alpaca-1","sensor":"x","start":"2025-10-14T10:00:00Z",'
            b'"end":"2025-10-14T10:05:00Z","count":1,"mean":"warm"}\n'
        )
        fh.write(b"\xff\xfe not utf-8\n")
    v.append_rollups([rollup(i=1)])
    errors: list[RecordError] = []
    got = list(v.iter_rollups(NODE, errors=errors))
    assert len(got) == 2
    assert [(e.path, e.line) for e in errors] == [(rel, 2), (rel, 3), (rel, 4)]
    assert "not an object" in errors[0].problem
    assert "finite number" in errors[1].problem
    assert "UTF-8" in errors[2].problem


@pytest.mark.parametrize(
    "bad",
    [
        {"mean": math.nan},
        {"mean": math.inf},
        {"start": "yesterday"},
        {"end": "2025-10-14T09:00:00Z"},
        {"count": -1},
        {"sensor": ""},
    ],
)
def test_append_refuses_invalid_rollup_and_writes_nothing(tmp_path, bad):
    v = make_vault(tmp_path)
    good = rollup(i=0)
    with pytest.raises(RecordError):
        v.append_rollups([good, replace(good, **bad)])
    assert v.rollup_files(NODE) == []


def test_append_refuses_other_nodes_rollup(tmp_path):
    v = make_vault(tmp_path)
    with pytest.raises(VaultError, match="cannot be written by"):
        v.append_rollups([rollup(node="llama")])
    assert v.rollup_files() == []


@pytest.mark.parametrize(
    "line, problem",
    [
        ('"just a string"', "not an object"),
        ("{not json", "invalid JSON"),
        ('{"v":2,"node":"a","sensor":"s","start":"x","end":"y","count":1}', "newer"),
        ('{"v":1,"node":"a","sensor":"s","start":"2025-10-14T10:00:00Z"}', "lacks end, count"),
        (
            '{"v":1,"node":"A B","sensor":"s","start":"2025-10-14T10:00:00Z",'
            '"end":"2025-10-14T10:05:00Z","count":1}',
            "not a valid node id",
        ),
        (
            '{"v":1,"node":"a","sensor":"s","start":"2025-10-14T10:00:00Z",'
            '"end":"2025-10-14T10:05:00Z","count":true}',
            "non-negative integer",
        ),
    ],
)
def test_parse_rollup_line_errors_name_file_and_line(line, problem):
    with pytest.raises(RecordError) as e:
        parse_rollup_line(line, "agents/a/sensors/2025/10/2025-10-14.jsonl", 7)
    assert e.value.line == 7 and problem in e.value.problem
    assert str(e.value).startswith("agents/a/sensors/2025/10/2025-10-14.jsonl:7: ")


# -- observations --------------------------------------------------------------------
def test_write_and_read_observation(tmp_path):
    v = make_vault(tmp_path)
    created = datetime(2025, 10, 14, 3, 4, 12, tzinfo=UTC)
    window = {"start": "2025-10-14T02:00:00Z", "end": "2025-10-14T03:00:00Z"}
    rel, obs = v.write_observation(
        "Motion in the hall at 03:04, unusual.",
        title="Night motion",
        sensors=["hall-motion"],
        window=window,
        confidence=0.7,
        model="ollama/qwen2.5:0.5b",
        sources=[f"agents/{NODE}/sensors/2025/10/2025-10-14.jsonl"],
        created=created,
    )
    assert rel == (
        f"agents/{NODE}/observations/2025/10/20251014T030412Z-{NODE}-000001-night-motion.md"
    )
    assert obs.id == f"20251014T030412Z-{NODE}-000001"
    text = v.path(rel).read_text()
    assert text.startswith("---\nid: 20251014T030412Z-alpaca-1-000001\nnode: alpaca-1\n")
    back = v.read_observation(rel)
    assert back == obs
    assert back.window == window and back.sensors == ("hall-motion",)
    Timestamp.parse(back.hlc)


def test_observation_sequence_and_memory_kind(tmp_path):
    v = make_vault(tmp_path)
    r1, _ = v.write_observation("one", created=T0)
    r2, _ = v.write_observation("two", created=T0)
    r3, o3 = v.write_observation("motion usually 7-9am", kind="memory", created=T0)
    assert "-000001-" in r1 and "-000002-" in r2 and "-000003-" in r3
    assert r3.startswith(f"agents/{NODE}/memory/") and o3.kind == "memory"
    # a fresh Vault (new process) continues the sequence from the files
    v2 = Vault.open(v.root)
    r4, _ = v2.write_observation("four", created=T0)
    assert "-000004-" in r4
    assert [r for r, _ in v2.iter_observations(NODE)] == [r1, r2, r4]
    assert [r for r, _ in v2.iter_observations(NODE, sub="memory")] == [r3]


def test_observation_naive_time_is_utc_and_suspect_clock_flagged(tmp_path, monkeypatch):
    v = make_vault(tmp_path)
    _, obs = v.write_observation("x", created=datetime(2025, 10, 14, 3, 0))
    assert obs.created == "2025-10-14T03:00:00Z"
    # a note about data older than the vault (backfill, replay) is not suspect itself
    assert "clock" not in obs.extra
    _, ok = v.write_observation("y")
    assert "clock" not in ok.extra
    # dated more than a day ahead of the clock and of every HLC seen: suspect
    _, ahead = v.write_observation("z", created=datetime.now(UTC) + timedelta(days=3))
    assert ahead.extra["clock"] == "suspect"
    # the node's own clock reads before the vault's creation (no RTC, booted in 1970)
    monkeypatch.setattr(core, "_now", lambda: datetime(1970, 1, 1, tzinfo=UTC))
    _, early = v.write_observation("w")
    assert early.extra["clock"] == "suspect"


def test_write_observation_refuses_invalid_confidence(tmp_path):
    v = make_vault(tmp_path)
    with pytest.raises(RecordError, match="confidence"):
        v.write_observation("x", confidence=1.5)
    assert v.observation_files(NODE) == []


def test_iter_observations_reports_bad_files(tmp_path):
    v = make_vault(tmp_path)
    good, _ = v.write_observation("fine", created=T0)
    bad = f"agents/{NODE}/observations/2025/10/20251014T100000Z-{NODE}-000009-bad.md"
    v.path(bad).write_text("---\nid: x\nnode: alpaca-1\ncreated: [oops\n---\nbody\n")
    errors: list[RecordError] = []
    got = list(v.iter_observations(NODE, errors=errors))
    assert [r for r, _ in got] == [good]
    assert errors[0].path == bad and errors[0].line == 4
    assert "malformed YAML" in errors[0].problem


@pytest.mark.parametrize(
    "meta, problem",
    [
        ("node: alpaca-1\ncreated: 2025-10-14T03:00:00Z\nkind: observation", "lacks id"),
        ("id: x\nnode: ../x\ncreated: 2025-10-14T03:00:00Z\nkind: observation", "valid node id"),
        ("id: x\nnode: a\ncreated: soon\nkind: observation", "not ISO 8601"),
        ("id: x\nnode: a\ncreated: 2025-10-14\nkind: o\nconfidence: 2", "not in [0, 1]"),
        ("id: x\nnode: a\ncreated: 2025-10-14\nkind: o\nwindow: {start: 1}", "start and end"),
        ("id: x\nnode: a\ncreated: 2025-10-14\nkind: o\nsensors: {a: 1}", "list of names"),
    ],
)
def test_parse_observation_errors(meta, problem):
    with pytest.raises(RecordError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_observation(f"---\n{meta}\n---\nbody\n", "o.md")


def test_observation_extra_keys_kept():
    text = (
        "---\nid: x\nnode: a\ncreated: 2025-10-14T03:00:00Z\nkind: observation\n"
        "supersedes: y\nsensors: hall\n---\nbody\n"
    )
    obs = parse_observation(text)
    assert obs.extra == {"supersedes": "y"} and obs.sensors == ("hall",)
    assert isinstance(obs, Observation) and obs.body == "body"


# -- shared memory and other writes ----------------------------------------------------
def test_shared_memory_round_trip(tmp_path):
    v = make_vault(tmp_path)
    assert v.read_shared("global-state.json") == {}
    rel = v.write_shared("global-state.json", {"away": False, "ünïcode": "ok"})
    assert rel == "shared-memory/global-state.json"
    assert v.read_shared("global-state.json") == {"away": False, "ünïcode": "ok"}
    assert v.path(rel).read_text(encoding="utf-8").endswith("}\n")
    assert v.read_shared("new-thing.json") == {}


@pytest.mark.parametrize("name", ["../vault.toml", "a/b.json", "", ".hidden.json", "x.txt"])
def test_shared_memory_bad_names(tmp_path, name):
    v = make_vault(tmp_path)
    with pytest.raises(VaultError, match="shared-memory name"):
        v.write_shared(name, {})
    with pytest.raises(VaultError, match="shared-memory name"):
        v.read_shared(name)


def test_shared_memory_bad_content_named(tmp_path):
    v = make_vault(tmp_path)
    p = v.path("shared-memory/user-profile.json")
    p.write_text('{\n  "name": "Ada",\n  oops\n}\n')
    with pytest.raises(RecordError) as e:
        v.read_shared("user-profile.json")
    assert (e.value.path, e.value.line) == ("shared-memory/user-profile.json", 3)
    p.write_text("[1, 2]\n")
    with pytest.raises(RecordError, match="JSON object"):
        v.read_shared("user-profile.json")
    with pytest.raises(VaultError, match="JSON object"):
        v.write_shared("user-profile.json", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(VaultError, match="cannot write as JSON"):
        v.write_shared("user-profile.json", {"x": math.nan})
    assert p.read_text() == "[1, 2]\n"


def test_write_file_guards(tmp_path):
    v = make_vault(tmp_path)
    assert v.write_file("knowledge-base/boiler.md", "# Boiler\n") == "knowledge-base/boiler.md"
    with pytest.raises(VaultError, match="refusing to overwrite"):
        v.write_file("knowledge-base/boiler.md", "other")
    assert v.path("knowledge-base/boiler.md").read_text() == "# Boiler\n"
    v.write_file("knowledge-base/boiler.md", "# Boiler v2\n", overwrite=True)
    for bad in ("../escape.md", "/etc/passwd", ".git/config", "agents/llama/x.md"):
        with pytest.raises(VaultError):
            v.write_file(bad, "x", overwrite=True)
    assert not (tmp_path / "escape.md").exists()


def test_node_config_round_trip_and_mismatch(tmp_path):
    v = make_vault(tmp_path)
    cfg = v.node_config()
    cfg["rollup"]["window_s"] = 60
    v.write_node_config(cfg)
    assert Vault.open(v.root).node_config()["rollup"]["window_s"] == 60
    with pytest.raises(RecordError, match="folder says"):
        v.write_node_config({**cfg, "node": "llama"})
    v.path(f"agents/{NODE}/node.toml").write_text("node = \n")
    with pytest.raises(RecordError) as e:
        v.node_config()
    assert e.value.line == 1 and "invalid TOML" in e.value.problem
