"""Sampler: drift-free schedule, isolation of slow sensors, errors with backoff, stuck
sensors, the wall clock jumping backwards, the raw cache's retention and cap."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.fake_smbus import FakeSMBus, bme280_chip
from vault_agent.sensors.base import BusError
from vault_agent.sensors.config import parse_sensors
from vault_agent.sensors.drivers import make_driver
from vault_agent.sensors.rawcache import RawCache
from vault_agent.sensors.rollup import RollupEngine
from vault_agent.sensors.sampler import Sampler, StuckDetector


class FakeDriver:
    """A driver whose reads are recorded; ``script`` yields values or exceptions."""

    quantities = ("temperature",)

    def __init__(self, script=None, delay=0.0, value=20.0):
        self.times: list[float] = []
        self.script = list(script or [])
        self.delay = delay
        self.value = value

    def read(self):
        self.times.append(time.monotonic())
        if self.delay:
            time.sleep(self.delay)
        if self.script:
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            return {"temperature": item}
        return {"temperature": self.value}

    def close(self):
        pass


def specs(*entries):
    return parse_sensors([{"driver": "bme280", **e} for e in entries])


def run_for(sampler: Sampler, seconds: float) -> None:
    th = threading.Thread(target=sampler.run)
    th.start()
    time.sleep(seconds)
    sampler.stop.set()
    th.join(10)
    assert not th.is_alive()


def test_schedule_has_no_drift(vault):
    ss = specs({"id": "t", "interval_s": 0.1})
    drv = FakeDriver(delay=0.03)  # each read takes 30 % of the interval
    s = Sampler(
        vault,
        ss,
        RollupEngine(vault, ss),
        threading.Event(),
        driver_factory=lambda spec: drv,
        raw=False,
        close_every_s=0.05,
    )
    run_for(s, 1.55)
    n = len(drv.times)
    phase = [(t - drv.times[0]) / 0.1 for t in drv.times]
    errors = sorted(abs(p - round(p)) for p in phase)
    # reads stay on the t0 + k·interval grid: a scheduler sleeping `interval` after each
    # read would drift 0.3 interval per read (phases spread over the whole interval) and
    # fit only ~77 % of the reads into the same span
    assert errors[len(errors) // 2] < 0.2
    assert n - 1 >= 0.9 * round(phase[-1]) and n >= 10


def test_slow_sensor_does_not_block_others(vault):
    ss = specs(
        {"id": "slow", "interval_s": 0.05}, {"id": "fast", "address": 0x77, "interval_s": 0.05}
    )
    slow, fast = FakeDriver(delay=0.9), FakeDriver()
    s = Sampler(
        vault,
        ss,
        RollupEngine(vault, ss),
        threading.Event(),
        driver_factory=lambda spec: slow if spec.id == "slow" else fast,
        raw=False,
    )
    run_for(s, 0.6)
    assert len(slow.times) == 1 and len(fast.times) >= 5


def test_errors_counted_retried_with_backoff_never_fatal(vault):
    ss = specs({"id": "t", "interval_s": 0.01})
    err = BusError("BME280 at 0x76: I2C transfer failed: Remote I/O error")
    drv = FakeDriver(script=[err, err, OSError(5, "Input/output error"), ValueError("bad"), 21.0])
    eng = RollupEngine(vault, ss)
    s = Sampler(
        vault,
        ss,
        eng,
        threading.Event(),
        driver_factory=lambda spec: drv,
        raw=False,
        base_backoff_s=0.02,
        max_backoff_s=0.2,
    )
    run_for(s, 0.8)
    gaps = [b - a for a, b in zip(drv.times, drv.times[1:], strict=False)][:4]
    assert gaps[0] >= 0.015 and gaps[1] >= 0.035 and gaps[2] >= 0.075  # 0.02, 0.04, 0.08 s
    st = s.state["t"]
    assert st.errors == 4 and st.reads >= 2 and st.consecutive_errors == 0
    assert (
        "Input/output error" in (s.status()["sensors"]["t"]["last_error"] or "")
        or st.last_error == "ValueError: bad"
    )
    eng.flush()
    rolled = list(vault.iter_rollups(vault.node))
    assert sum(r.errors for r in rolled) == 4 and sum(r.count for r in rolled) == st.reads


def test_stuck_detector_and_flag(vault):
    d = StuckDetector(after_s=3600)
    assert not d.update(20.0, 0) and not d.update(20.0, 3599)
    assert d.update(20.0, 3600) and d.stuck
    assert not d.update(20.0, 7200)  # flagged once
    assert not d.update(20.1, 7201) and not d.stuck
    assert not StuckDetector(0).update(1.0, 1e9)  # 0 disables
    ss = specs({"id": "t", "interval_s": 0.02, "stuck_after_s": 0.2})
    s = Sampler(
        vault,
        ss,
        RollupEngine(vault, ss),
        threading.Event(),
        driver_factory=lambda spec: FakeDriver(value=19.5),
        raw=False,
        status_every_s=0.05,
    )
    run_for(s, 0.8)
    assert s.state["t"].stuck
    status = json.loads((vault.cache_dir() / "sensors-status.json").read_text())
    assert status["sensors"]["t"]["stuck"] is True


def test_clock_jumping_backwards(vault):
    ss = specs({"id": "t", "interval_s": 0.02})
    eng = RollupEngine(vault, ss)
    t_closed = datetime(2025, 10, 14, 10, 0, 30, tzinfo=UTC)
    from vault_agent.sensors.base import Reading

    eng.add(Reading("t", t_closed, 18.0))
    eng.close_until(t_closed.replace(minute=5, second=0))  # 10:00–10:05 already written
    rel = vault.rollup_files(vault.node)[0]
    before = vault.path(rel).read_bytes()
    start = time.monotonic()

    def wall():  # 10:06 and running; after 0.2 s NTP sets it back 4 minutes
        el = time.monotonic() - start
        base = datetime(2025, 10, 14, 10, 6, tzinfo=UTC) + timedelta(seconds=el)
        return base - timedelta(minutes=4) if el > 0.2 else base

    s = Sampler(
        vault,
        ss,
        eng,
        threading.Event(),
        driver_factory=lambda spec: FakeDriver(),
        raw=False,
        wall=wall,
        close_every_s=0.05,
    )
    run_for(s, 0.5)
    assert s.clock_jumps == 1
    eng.flush()
    after = vault.path(rel).read_bytes()
    assert after.startswith(before)  # the written window was never rewritten
    rolled = list(vault.iter_rollups(vault.node))
    late = [r for r in rolled if r.late]
    assert len(late) == 1 and late[0].start == "2025-10-14T10:00:00Z" and late[0].count > 0
    normal = [r for r in rolled if not r.late and r.start == "2025-10-14T10:05:00Z"]
    assert normal and normal[0].count > 0
    assert sum(r.count for r in rolled) == s.state["t"].reads + 1


def test_one_bme280_serves_three_ids_through_a_fake_bus(vault):
    chip = bme280_chip()
    bus = FakeSMBus({0x76: chip})
    ss = parse_sensors(
        [
            {"id": "temp", "driver": "bme280", "interval_s": 0.1},
            {"id": "hum", "driver": "bme280", "quantity": "humidity", "interval_s": 0.1},
            {"id": "press", "driver": "bme280", "quantity": "pressure", "interval_s": 0.1},
        ]
    )
    eng = RollupEngine(vault, ss)
    s = Sampler(
        vault,
        ss,
        eng,
        threading.Event(),
        driver_factory=lambda spec: make_driver(spec, bus_factory=lambda n: bus),
    )
    run_for(s, 0.55)
    measurements = sum(1 for w in chip.writes if w[0] == 0xF4)
    reads = sum(st.reads for st in s.state.values())
    assert reads >= 6 and measurements <= reads / 2  # shared reads, not one per id
    eng.flush()
    means = {r.sensor: r.mean for r in vault.iter_rollups(vault.node)}
    assert means["temp"] == pytest.approx(25.08) and means["press"] == pytest.approx(1006.5325)
    assert bus.closed  # the sampler's driver owned the bus it opened
    raw = list((vault.cache_dir("raw")).glob("*.jsonl"))
    assert raw and '"s": "temp"' in raw[0].read_text()


def test_raw_cache_retention_and_cap(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "2025-01-01.jsonl").write_text("{}\n" * 10)
    (folder / "notes.txt").write_text("not ours")
    now = datetime(2025, 1, 20, tzinfo=UTC)
    cache = RawCache(folder, retention_days=7, max_bytes=2000)
    assert [p.name for p in cache.prune(now)] == ["2025-01-01.jsonl"]
    assert (folder / "notes.txt").exists()
    for i in range(10):
        cache.put("t", now + timedelta(seconds=i), 20.0 + i)
    assert cache.flush(now) == 10
    lines = (folder / "2025-01-20.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"t": "2025-01-20T00:00:00.000Z", "s": "t", "v": 20.0}
    (folder / "2025-01-19.jsonl").write_text("x" * 900)
    cache = RawCache(folder, retention_days=7, max_bytes=2000)
    for i in range(40):
        cache.put("t", now + timedelta(seconds=i), 1.0)
    cache.flush(now)
    assert not (folder / "2025-01-19.jsonl").exists()  # oldest day file made room
    assert cache.dropped > 0 and cache.total_bytes() <= 2000
    cache.put("t", now, error="CRC mismatch")
    cache.stop()


def test_motion_pulse_between_polls_counts_in_its_window(vault):
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    factory, old = MockFactory(), Device.pin_factory
    Device.pin_factory = factory
    try:
        ss = parse_sensors(
            [{"id": "hall-motion", "driver": "motion", "pin": 17, "interval_s": 1.0}]
        )
        eng = RollupEngine(vault, ss)
        s = Sampler(vault, ss, eng, threading.Event(), close_every_s=0.05)
        th = threading.Thread(target=s.run)
        th.start()
        end = time.monotonic() + 5
        while s.state["hall-motion"].reads < 1 and time.monotonic() < end:
            time.sleep(0.01)
        pin = factory.pin(17)
        t0 = time.monotonic()
        pin.drive_high()
        time.sleep(0.005)  # a 5 ms pulse between two 1 s polls
        pin.drive_low()
        longest = time.monotonic() - t0
        reads = s.state["hall-motion"].reads
        while s.state["hall-motion"].reads <= reads and time.monotonic() < end:
            time.sleep(0.01)  # the next poll hands the edges over
        s.stop.set()
        th.join(10)
        assert not th.is_alive()
    finally:
        factory.reset()
        Device.pin_factory = old
    eng.flush()
    rolled = [r for r in vault.iter_rollups(vault.node) if r.sensor == "hall-motion"]
    assert sum(r.events for r in rolled) == 1
    assert 0.004 <= sum(r.on_s for r in rolled) <= longest + 0.01
    assert rolled[-1].last == 0.0
    assert all(r.count >= 1 for r in rolled)
    raw = "".join(p.read_text() for p in vault.cache_dir("raw").glob("*.jsonl"))
    assert '"v": 1.0' in raw  # the pulse is in the raw cache too, with its own time
