"""Statistics and fact detectors on synthetic rollups written to a real vault."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import rollups as R
from vault_agent.errors import RecordError
from vault_agent.observe import rules
from vault_agent.observe.facts import ObserverConfig, window_facts
from vault_agent.observe.stats import constant_run_start, fmt, largest_swing, quantity_of, summarize
from vault_agent.observe.store import RollupStore
from vault_agent.vault import Rollup, Vault

NODE = "alpaca-1"
DAY = datetime(2025, 10, 15, tzinfo=UTC)  # the observed day; history before it
H = timedelta(hours=1)
CFG = ObserverConfig()


def store(v: Vault) -> RollupStore:
    return RollupStore(v, (DAY - timedelta(days=20)).date(), (DAY + timedelta(days=1)).date())


def temp(t: datetime) -> float:
    """A plausible room temperature: 21 °C ± 1 over the day, a little day-to-day wobble."""
    return 21 + math.sin((t.hour + t.minute / 60) / 24 * 2 * math.pi) + 0.1 * (t.day % 3)


def morning_motion(t: datetime) -> int:
    return 2 if 7 <= t.hour < 9 else 0


def history(v: Vault, days: int, sensor_kind: str = "motion") -> None:
    start = DAY - timedelta(days=days)
    if sensor_kind == "motion":
        v.append_rollups(R.binary(NODE, "hall-motion", start, DAY, morning_motion))
    else:
        v.append_rollups(R.numeric(NODE, "kitchen-temp", start, DAY, temp))


def kinds(facts) -> list[tuple[str, str]]:
    return [(f.sensor, f.kind) for f in facts]


# -- stats ----------------------------------------------------------------------------------
def test_summarize_numeric_times_and_weighted_mean() -> None:
    t = DAY
    rs = [
        Rollup(
            NODE,
            "t",
            "temperature",
            "°C",
            "2025-10-15T10:00:00Z",
            "2025-10-15T10:05:00Z",
            count=1,
            mean=20.0,
            min=19.0,
            max=21.0,
            min_at="2025-10-15T10:01:00Z",
            max_at="2025-10-15T10:02:00Z",
        ),
        Rollup(
            NODE,
            "t",
            "temperature",
            "°C",
            "2025-10-15T10:05:00Z",
            "2025-10-15T10:10:00Z",
            count=3,
            mean=24.0,
            min=23.0,
            max=25.5,
            max_at="2025-10-15T10:07:30Z",
        ),
    ]
    s = summarize(rs)
    assert s is not None and not s.binary
    assert s.mean == pytest.approx(23.0)  # (20*1 + 24*3) / 4
    assert (s.min, s.min_at) == (19.0, t.replace(hour=10, minute=1))
    assert (s.max, s.max_at) == (25.5, t.replace(hour=10, minute=7, second=30))


def test_summarize_binary_and_empty() -> None:
    rs = R.binary(NODE, "m", DAY, DAY + H, lambda t: 3 if t.minute == 20 else 0)
    s = summarize(rs)
    assert s.binary and s.events == 3 and s.on_s == 30.0
    assert s.first_event_at == DAY.replace(minute=20)
    assert summarize([]) is None
    empty = [
        Rollup(
            NODE,
            "m",
            "motion",
            "",
            "2025-10-15T10:00:00Z",
            "2025-10-15T10:05:00Z",
            count=0,
            errors=5,
        )
    ]
    assert summarize(empty) is None


def test_largest_swing_within_span() -> None:
    rs = R.numeric(
        NODE,
        "co2",
        DAY,
        DAY + H,
        lambda t: 450 + (400 if t.minute >= 30 else 0),
        "co2",
        "ppm",
        spread=0,
    )
    sw = largest_swing(rs)
    assert sw.delta == pytest.approx(400)
    assert sw.t0 < sw.t1 and (sw.t1 - sw.t0) <= timedelta(minutes=30)


def test_constant_run_start() -> None:
    rs = (
        R.numeric(NODE, "t", DAY, DAY + 4 * H, lambda t: 21.0 if t.hour >= 1 else temp(t), spread=0)
        + []
    )
    run = constant_run_start(rs[:3] + [r for r in rs[3:]])
    assert run is not None
    assert run[0] == DAY + H and run[1] == 21.0
    varying = R.numeric(NODE, "t", DAY, DAY + H, temp, spread=0.2)
    assert constant_run_start(varying) is None


def test_quantity_and_format() -> None:
    r = Rollup(NODE, "l", "illuminance", "lx", "2025-10-15T10:00:00Z", "2025-10-15T10:05:00Z", 1)
    assert quantity_of(r).name == "light"
    r2 = Rollup(NODE, "x", "", "ppm", "2025-10-15T10:00:00Z", "2025-10-15T10:05:00Z", 1)
    assert quantity_of(r2).name == "co2"
    assert fmt(-0.04, 1) == "0.0" and fmt(23.14, 1) == "23.1" and fmt(0.004793, None) == "0.00479"


# -- detectors --------------------------------------------------------------------------------
def test_motion_at_unusual_hour(vault: Vault) -> None:
    history(vault, 14)
    vault.append_rollups(
        R.binary(
            NODE,
            "hall-motion",
            DAY,
            DAY + 4 * H,
            lambda t: 2 if (t.hour, t.minute) == (3, 0) else 0,
        )
    )
    facts = window_facts(store(vault), DAY + 3 * H, DAY + 4 * H, CFG)
    assert kinds(facts) == [("hall-motion", "unusual_event")]
    f = facts[0]
    assert f.values["events"] == "2" and f.values["days"] == "14"
    assert f.times["first"] == "03:00"
    # quiet hours around it in the baseline: 6 h back at most, forward until 07:00
    assert (f.times["quiet_from"], f.times["quiet_to"]) == ("21:00", "07:00")
    text = rules.sentence(f)
    assert "03:00" in text and "none between 21:00 and 07:00" in text and "14 days" in text
    assert f.confidence > 0.9


def test_fewer_baseline_days_lower_confidence(tmp_path) -> None:
    confs = {}
    for days in (3, 14):
        v, _ = Vault.init(tmp_path / f"v{days}", NODE)
        history(v, days)
        v.append_rollups(
            R.binary(
                NODE, "hall-motion", DAY + 3 * H, DAY + 4 * H, lambda t: 1 if t.minute == 10 else 0
            )
        )
        (f,) = window_facts(store(v), DAY + 3 * H, DAY + 4 * H, CFG)
        confs[days] = f.confidence
    assert confs[3] < confs[14] - 0.2


def test_quiet_night_and_usual_morning_are_not_noise(vault: Vault) -> None:
    history(vault, 14)
    history(vault, 14, "temp")
    vault.append_rollups(R.binary(NODE, "hall-motion", DAY, DAY + 10 * H, morning_motion))
    vault.append_rollups(R.numeric(NODE, "kitchen-temp", DAY, DAY + 10 * H, temp))
    s = store(vault)
    for h in range(10):
        assert window_facts(s, DAY + h * H, DAY + (h + 1) * H, CFG) == [], f"hour {h}"


def test_no_baseline_no_guess(vault: Vault) -> None:
    vault.append_rollups(R.binary(NODE, "hall-motion", DAY, DAY + H, lambda t: 1))
    assert window_facts(store(vault), DAY, DAY + H, CFG) == []


def test_quieter_than_usual(vault: Vault) -> None:
    history(vault, 14)
    vault.append_rollups(R.binary(NODE, "hall-motion", DAY, DAY + 10 * H, lambda t: 0))
    facts = window_facts(store(vault), DAY + 7 * H, DAY + 8 * H, CFG)
    assert kinds(facts) == [("hall-motion", "quieter")]
    assert facts[0].values["active_days"] == "14"
    # the next hour is still quiet: the state is reported once, when it starts
    assert window_facts(store(vault), DAY + 8 * H, DAY + 9 * H, CFG) == []


def test_temperature_level_once_then_ongoing(vault: Vault) -> None:
    history(vault, 14, "temp")
    vault.append_rollups(
        R.numeric(
            NODE, "kitchen-temp", DAY, DAY + 16 * H, lambda t: temp(t) + (6 if t.hour >= 13 else 0)
        )
    )
    s = store(vault)
    assert kinds(window_facts(s, DAY + 12 * H, DAY + 13 * H, CFG)) == []
    facts = window_facts(s, DAY + 13 * H, DAY + 14 * H, CFG)
    assert ("kitchen-temp", "level_high") in kinds(facts)
    lvl = next(f for f in facts if f.kind == "level_high")
    assert float(lvl.values["z"]) >= 3 and float(lvl.values["value"]) > 26
    assert abs(float(lvl.values["usual"]) - 20.7) < 0.5
    assert ("kitchen-temp", "level_high") not in kinds(
        window_facts(s, DAY + 14 * H, DAY + 15 * H, CFG)
    )


def test_fast_co2_rise_unless_usual(tmp_path) -> None:
    def co2(t: datetime) -> float:
        return 450 + (500 if (t.hour, t.minute) >= (9, 20) and t.hour < 12 else 0)

    v, _ = Vault.init(tmp_path / "a", NODE)
    flat = lambda t: 450.0  # noqa: E731
    v.append_rollups(R.numeric(NODE, "co2", DAY - timedelta(days=14), DAY, flat, "co2", "ppm", 4))
    v.append_rollups(R.numeric(NODE, "co2", DAY, DAY + 12 * H, co2, "co2", "ppm", 4))
    facts = window_facts(store(v), DAY + 9 * H, DAY + 10 * H, CFG)
    rise = next(f for f in facts if f.kind == "fast_rise")
    assert rise.values["from_value"] == "448" and rise.values["to_value"] == "952"
    assert rise.times["t0"] < rise.times["t1"] and int(rise.values["minutes"]) <= 30
    assert "rose from 448 to 952 ppm" in rules.sentence(rise)

    v2, _ = Vault.init(tmp_path / "b", NODE)  # the same rise every morning: routine
    v2.append_rollups(
        R.numeric(NODE, "co2", DAY - timedelta(days=14), DAY + 12 * H, co2, "co2", "ppm", 4)
    )
    assert not [
        f
        for f in window_facts(store(v2), DAY + 9 * H, DAY + 10 * H, CFG)
        if f.kind.startswith("fast")
    ]


def test_silent_sensor_once(vault: Vault) -> None:
    history(vault, 3, "temp")
    vault.append_rollups(R.numeric(NODE, "kitchen-temp", DAY, DAY + 10 * H, temp))
    s = store(vault)
    facts = window_facts(s, DAY + 10 * H, DAY + 11 * H, CFG)
    assert kinds(facts) == [("kitchen-temp", "silent")]
    assert facts[0].times["last"] == "10:00"
    assert "its last reading was at 10:00" in rules.sentence(facts[0])
    assert window_facts(s, DAY + 11 * H, DAY + 12 * H, CFG) == []


def test_read_errors(vault: Vault) -> None:
    history(vault, 3, "temp")
    vault.append_rollups(R.numeric(NODE, "kitchen-temp", DAY, DAY + H, temp))
    vault.append_rollups(
        [
            Rollup(
                NODE,
                "kitchen-temp",
                "temperature",
                "°C",
                f"2025-10-15T01:{m:02d}:00Z",
                f"2025-10-15T01:{m + 5:02d}:00Z",
                count=0,
                errors=5,
            )
            for m in range(0, 55, 5)
        ]
    )
    (f,) = window_facts(store(vault), DAY + H, DAY + 2 * H, CFG)
    assert f.kind == "read_errors" and f.values["errors"] == "55"


def test_stuck_sensor(vault: Vault) -> None:
    history(vault, 5, "temp")
    vault.append_rollups(
        R.numeric(
            NODE,
            "kitchen-temp",
            DAY,
            DAY + 16 * H,
            lambda t: 21.25 if t.hour >= 10 else temp(t),
            spread=0,
        )
    )
    s = store(vault)
    found = {h: kinds(window_facts(s, DAY + h * H, DAY + (h + 1) * H, CFG)) for h in range(10, 16)}
    assert found[12] == [("kitchen-temp", "stuck")]  # 10:00 + 3 h reached in 12:00–13:00
    assert all(("kitchen-temp", "stuck") not in v for h, v in found.items() if h != 12)


def test_flat_at_night_is_not_stuck(vault: Vault) -> None:
    def light(t: datetime) -> float:
        return 0.0 if t.hour < 7 or t.hour >= 19 else 400 + 50 * math.sin(t.minute)

    vault.append_rollups(
        R.numeric(
            NODE, "lux", DAY - timedelta(days=5), DAY + 23 * H, light, "light", "lx", spread=0
        )
    )
    s = store(vault)
    for h in range(19, 23):
        assert not [
            f for f in window_facts(s, DAY + h * H, DAY + (h + 1) * H, CFG) if f.kind == "stuck"
        ]


def test_silent_sensors_merged(vault: Vault) -> None:
    for name in ("a-temp", "b-temp", "c-temp"):
        vault.append_rollups(R.numeric(NODE, name, DAY, DAY + H, temp))
    (f,) = window_facts(store(vault), DAY + H, DAY + 2 * H, CFG)
    assert f.kind == "silent" and f.sensors == ("a-temp", "b-temp", "c-temp")
    assert rules.sentence(f).startswith("3 sensors (a-temp, b-temp, c-temp) sent no readings")


def test_store_reads_appended_tail(vault: Vault) -> None:
    vault.append_rollups(R.numeric(NODE, "t", DAY, DAY + H, temp))
    assert len(store(vault).between("t", DAY, DAY + 2 * H)) == 12
    vault.append_rollups(R.numeric(NODE, "t", DAY + H, DAY + 2 * H, temp))
    with open(vault.path(vault.rollup_files(NODE)[0]), "ab") as fh:
        fh.write(b'{"v":1,"node":"alpaca-1"')  # a torn line still being written
    assert len(store(vault).between("t", DAY, DAY + 2 * H)) == 24


def test_config_from_node_toml() -> None:
    cfg = ObserverConfig.from_dict({"window_s": 1800, "baseline_days": "7", "other": 1})
    assert (cfg.window_s, cfg.baseline_days, cfg.z_threshold) == (1800, 7, 3.0)


@pytest.mark.parametrize(
    "bad", [{"window_s": 0}, {"baseline_days": "many"}, {"z_threshold": -1}, {"stuck_s": True}]
)
def test_config_rejects_bad_values(bad) -> None:
    with pytest.raises(RecordError, match=f"agents/a/node.toml: \\[observer\\] {next(iter(bad))}"):
        ObserverConfig.from_dict(bad, "agents/a/node.toml")


def test_store_cache_is_bounded(vault: Vault, monkeypatch) -> None:
    from vault_agent.observe import store as store_mod

    monkeypatch.setattr(store_mod, "MAX_CACHED_FILES", 3)
    vault.append_rollups(R.numeric(NODE, "t", DAY - timedelta(days=6), DAY, temp))
    s = store(vault)
    assert len(s.between("t", DAY - timedelta(days=6), DAY)) == 6 * 288
    mine = [k for k in store_mod._CACHE if k.startswith(str(vault.root))]
    assert len(mine) <= 3


def test_every_detected_kind_has_a_sentence_and_one_detector():
    """The detector registry and the rule sentences name the same fact kinds, each once."""
    from vault_agent.observe.facts import DETECTORS, FACT_KINDS
    from vault_agent.observe.rules import SENTENCES

    assert len(FACT_KINDS) == len(set(FACT_KINDS))  # no kind emitted by two detectors
    assert set(FACT_KINDS) == set(SENTENCES)
    assert [d.name for d in DETECTORS][0] == "silent" and DETECTORS[0].exclusive
