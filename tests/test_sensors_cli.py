"""CLI: ``vault sensors [--json]``, ``vault sensors read``, ``vault logs [--tail]``."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from vault_agent.cli import main
from vault_agent.resources import project_path
from vault_agent.sensors.base import Reading
from vault_agent.sensors.config import load_specs
from vault_agent.sensors.rollup import RollupEngine
from vault_agent.sensors.sampler import Sampler
from vault_agent.sensors.tail import LogFollower

OFFICE_TEST = project_path("datasets") / "occupancy-detection" / "datatest.txt"
NODE = "office"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_sensors_lists_replayed_sensors(vault):
    r = run("sensors", "--vault", str(vault.root))
    assert r.exit_code == 0 and "has no sensors" in r.output
    assert run("replay", str(OFFICE_TEST), "--vault", str(vault.root)).exit_code == 0
    r = run("sensors", "--vault", str(vault.root))
    assert r.exit_code == 0, r.output
    assert "office-co2" in r.output and "ppm" in r.output and "replay" in r.output
    data = json.loads(run("sensors", "--json", "--vault", str(vault.root)).output)
    co2 = next(s for s in data["sensors"] if s["id"] == "office-co2")
    assert co2["unit"] == "ppm" and co2["source"] == "rollup" and co2["errors"] == 0
    assert co2["t"] == "2015-02-04T10:45:00Z" and co2["age_s"] > 3e8
    r = run("sensors", "read", "office-co2", "--vault", str(vault.root))
    assert r.exit_code == 1 and "replayed from" in r.output


def test_sensors_shows_the_running_sampler_and_reads_hardware(vault):
    cfg = vault.node_config()
    cfg["sensors"] = [
        {"id": "hall-motion", "driver": "motion", "pin": 17, "interval_s": 0.05},
        {"id": "cpu", "driver": "cpu_temperature", "sensor_file": str(vault.root / "cpu")},
    ]
    vault.write_node_config(cfg)
    (vault.root / "cpu").write_text("51234\n")
    old = Device.pin_factory
    Device.pin_factory = MockFactory()
    try:
        specs = load_specs(vault)
        stop = threading.Event()
        s = Sampler(
            vault, specs, RollupEngine(vault, specs), stop, status_every_s=0.05, close_every_s=0.05
        )
        th = threading.Thread(target=s.run)
        th.start()
        time.sleep(0.4)
        stop.set()
        th.join()
        data = json.loads(run("sensors", "--json", "--vault", str(vault.root)).output)
        rows = {x["id"]: x for x in data["sensors"]}
        assert rows["cpu"]["value"] == pytest.approx(51.234) and rows["cpu"]["source"] == "sampler"
        assert rows["hall-motion"]["value"] == 0.0 and rows["hall-motion"]["age_s"] < 60
        r = run("sensors", "read", "cpu", "--json", "--vault", str(vault.root))
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["value"] == pytest.approx(51.234)
        r = run("sensors", "read", "cpu", "--vault", str(vault.root))
        assert r.output.strip() == "cpu temperature 51.23 °C"
        r = run("sensors", "read", "nope", "--vault", str(vault.root))
        assert r.exit_code == 1 and "no sensor 'nope'" in r.output
        raw = list(vault.cache_dir("raw").glob("*.jsonl"))
        assert raw and "hall-motion" in raw[0].read_text()
        assert "local-cache" not in " ".join(vault.pending())  # git-ignored
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = old


def test_logs_shows_recent_and_follows_new_records(vault):
    specs = load_specs(vault)  # none: readings bring their own quantity and unit
    r = run("logs", "--vault", str(vault.root))
    assert r.exit_code == 0 and "no rollups or observations yet" in r.output
    eng = RollupEngine(vault, specs)
    t = datetime(2025, 10, 14, 10, 1, tzinfo=UTC)
    eng.add(Reading("kitchen-temp", t, 21.5, "temperature", "°C"))
    eng.flush()
    r = run("logs", "--vault", str(vault.root))
    assert r.exit_code == 0 and "10:00–10:05 kitchen-temp 21.5 °C (21.5–21.5, n=1)" in r.output
    follower = LogFollower(vault)
    follower.recent()
    assert follower.poll() == []
    eng.add(Reading("kitchen-temp", t.replace(minute=7), 22.0))
    eng.flush()
    vault.write_observation("Warm kitchen.", title="Kitchen", sensors=["kitchen-temp"])
    new = follower.poll()
    assert [e.kind for e in new] == ["rollup", "observation"]
    assert "Kitchen: Warm kitchen." in new[1].text

    # the CLI follows for a while and prints what appears meanwhile (JSON lines)
    def later():
        time.sleep(0.4)
        eng.add(Reading("kitchen-temp", t.replace(minute=12), 23.0))
        eng.flush()

    threading.Thread(target=later).start()
    r = run(
        "logs",
        "--tail",
        "-n",
        "0",
        "--for",
        "1.5",
        "--interval",
        "0.1",
        "--json",
        "--vault",
        str(vault.root),
    )
    assert r.exit_code == 0, r.output
    out = [json.loads(x) for x in r.output.splitlines()]
    assert len(out) == 1 and out[0]["data"]["mean"] == 23.0 and out[0]["t"].endswith("10:15:00Z")


def test_every_command_has_help_and_docs():
    docs = (project_path("docs") / "sensors.md").read_text()
    for args in (["sensors"], ["sensors", "read"], ["replay"], ["logs"]):
        r = run(*args, "--help")
        assert r.exit_code == 0 and "Example" in r.output
        assert f"`vault {' '.join(args)}" in docs
    for option in ("--speed", "--backfill", "--from", "--to", "--source", "--tz", "--tail"):
        assert option in docs
