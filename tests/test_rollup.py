"""RollupEngine: Welford statistics against numpy, UTC-aligned windows, late lines,
resuming from the files, binary events / seconds-on, error counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vault_agent.sensors.base import Reading
from vault_agent.sensors.config import parse_sensors
from vault_agent.sensors.rollup import RollupEngine
from vault_agent.vault import Vault

T0 = datetime(2025, 10, 14, 10, 0, 0, tzinfo=UTC)


SPECS = parse_sensors(
    [
        {"id": "kitchen-temp", "driver": "bme280", "interval_s": 10},
        {"id": "hall-motion", "driver": "motion", "pin": 17, "interval_s": 1},
    ]
)


def lines(v: Vault) -> list:
    return list(v.iter_rollups(v.node))


def test_welford_matches_numpy_per_utc_window(vault):
    rng = np.random.default_rng(7)
    offsets = np.sort(rng.uniform(3, 3600, 400))  # seconds after 10:00 (some start mid-window)
    values = 21 + rng.normal(0, 0.8, offsets.size)
    eng = RollupEngine(vault, SPECS)
    for off, x in zip(offsets, values, strict=True):
        eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=float(off)), float(x)))
    assert eng.pending_count() == 12
    written = eng.close_until(T0 + timedelta(hours=1))
    assert len(written) == 12 and eng.pending_count() == 0
    got = {r.start: r for r in lines(vault)}
    assert len(got) == 12
    for w in range(12):
        sel = (offsets >= w * 300) & (offsets < (w + 1) * 300)
        xs, ts = values[sel], offsets[sel]
        start = (T0 + timedelta(seconds=300 * w)).strftime("%Y-%m-%dT%H:%M:%SZ")
        r = got[start]
        assert r.end == (T0 + timedelta(seconds=300 * (w + 1))).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert r.count == xs.size
        assert r.mean == pytest.approx(xs.mean(), abs=2e-6)
        assert r.stddev == pytest.approx(xs.std(ddof=0), abs=2e-6)
        assert r.min == pytest.approx(xs.min(), abs=1e-6)
        assert r.max == pytest.approx(xs.max(), abs=1e-6)
        assert r.last == pytest.approx(xs[-1], abs=1e-6)
        tmin = T0 + timedelta(seconds=float(ts[xs.argmin()]))
        assert r.min_at == tmin.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (r.quantity, r.unit, r.node) == ("temperature", "°C", "alpaca-1")


def test_windows_close_only_when_their_end_passed(vault):
    eng = RollupEngine(vault, SPECS)
    eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=299), 20.0))
    eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=300), 21.0))
    assert eng.close_until(T0 + timedelta(seconds=299.9)) == []
    (r,) = eng.close_until(T0 + timedelta(seconds=300))
    assert (r.start, r.end, r.count, r.mean) == (
        "2025-10-14T10:00:00Z",
        "2025-10-14T10:05:00Z",
        1,
        20.0,
    )
    assert eng.pending_count() == 1


def test_late_reading_is_a_separate_line_and_never_rewrites(vault):
    eng = RollupEngine(vault, SPECS)
    eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=10), 20.0))
    eng.close_until(T0 + timedelta(minutes=6))
    rel = vault.rollup_files(vault.node)[0]
    before = vault.path(rel).read_bytes()
    eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=20), 30.0))  # its window is written
    assert eng.is_closed("kitchen-temp", T0 + timedelta(seconds=20))
    (late,) = eng.close_until(T0 + timedelta(minutes=7))
    after = vault.path(rel).read_bytes()
    assert after.startswith(before)  # earlier lines untouched, one appended
    assert late.late and late.count == 1 and late.mean == 30.0
    assert late.start == "2025-10-14T10:00:00Z"
    assert [r.late for r in lines(vault)] == [False, True]


def test_resume_from_files_neither_loses_nor_duplicates(vault):
    eng = RollupEngine(vault, SPECS)
    for s in range(0, 900, 10):
        eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=s), 20.0 + s / 100))
    eng.close_until(T0 + timedelta(seconds=600))  # 10:00 and 10:05 written, 10:10 open (lost)
    eng2 = RollupEngine(vault, SPECS)  # a restart
    assert eng2.last_closed("kitchen-temp") == T0 + timedelta(minutes=10)
    assert eng2.last_closed("hall-motion") is None
    assert eng2.is_closed("kitchen-temp", T0 + timedelta(seconds=599))
    assert not eng2.is_closed("kitchen-temp", T0 + timedelta(seconds=600))
    for s in range(600, 900, 10):
        eng2.add(Reading("kitchen-temp", T0 + timedelta(seconds=s), 20.0 + s / 100))
    eng2.flush()
    got = lines(vault)
    assert [r.start[11:16] for r in got] == ["10:00", "10:05", "10:10"]
    assert sum(r.count for r in got) == 90 and not any(r.late for r in got)


def test_binary_events_and_seconds_on_across_a_window_boundary(vault):
    eng = RollupEngine(vault, SPECS)
    for s in range(290, 311):  # polled every second; on from 295 s to 304 s
        eng.add(Reading("hall-motion", T0 + timedelta(seconds=s), 1.0 if 295 <= s <= 304 else 0.0))
    eng.flush()
    a, b = lines(vault)
    assert (a.events, a.on_s, a.count) == (1, pytest.approx(5.0), 10)
    assert (b.events, b.on_s, b.count) == (0, pytest.approx(5.0), 11)  # same event continues
    assert a.mean is None and a.last == 1.0 and b.last == 0.0


def test_binary_on_time_is_capped_over_gaps(vault):
    eng = RollupEngine(vault, SPECS)
    eng.add(Reading("hall-motion", T0 + timedelta(seconds=10), 1.0))
    eng.add(Reading("hall-motion", T0 + timedelta(seconds=200), 0.0))  # 190 s without data
    (r,) = eng.flush()
    assert r.on_s == pytest.approx(1.5)  # 1.5 × interval, not 190 s


def test_errors_are_counted_even_without_readings(vault):
    eng = RollupEngine(vault, SPECS)
    eng.add_error("kitchen-temp", T0 + timedelta(seconds=5))
    eng.add_error("kitchen-temp", T0 + timedelta(seconds=15))
    eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=320), 20.0))
    eng.add_error("kitchen-temp", T0 + timedelta(seconds=330))
    a, b = eng.flush()
    assert (a.count, a.errors, a.mean) == (0, 2, None)
    assert (b.count, b.errors, b.mean) == (1, 1, 20.0)
    assert '"errors":2' in vault.path(vault.rollup_files(vault.node)[0]).read_text()


def test_windows_split_by_utc_day_file(vault):
    eng = RollupEngine(vault, SPECS)
    midnight = datetime(2025, 10, 15, tzinfo=UTC)
    eng.add(Reading("kitchen-temp", midnight - timedelta(seconds=1), 1.0))
    eng.add(Reading("kitchen-temp", midnight + timedelta(seconds=1), 2.0))
    eng.flush()
    assert [f.rsplit("/", 1)[1] for f in vault.rollup_files(vault.node)] == [
        "2025-10-14.jsonl",
        "2025-10-15.jsonl",
    ]
    assert sorted(eng.take_written()) == vault.rollup_files(vault.node)


def test_window_length_is_configurable(vault):
    eng = RollupEngine(vault, SPECS, window_s=60)
    eng.add(Reading("kitchen-temp", T0 + timedelta(seconds=61), 1.0))
    (r,) = eng.flush()
    assert (r.start[11:], r.end[11:]) == ("10:01:00Z", "10:02:00Z")
    with pytest.raises(ValueError):
        RollupEngine(vault, SPECS, window_s=0)
