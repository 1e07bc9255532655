"""The agent sampling live sensors: gpiozero's mock pins and a real CPUTemperature file."""

from __future__ import annotations

import threading
import time

import pytest

from vault_agent.agent.daemon import Agent, AgentOptions
from vault_agent.vault import Vault


@pytest.fixture()
def live_vault(tmp_path, monkeypatch):
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    temp_file = tmp_path / "temp"
    temp_file.write_text("47250\n")  # millidegrees, as /sys/class/thermal/*/temp
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    cfg = v.node_config()
    cfg["rollup"] = {"window_s": 2}
    cfg["sensors"] = [
        {
            "id": "soc-temp",
            "driver": "cpu_temperature",
            "sensor_file": str(temp_file),
            "interval_s": 0.2,
        },
        {"id": "hall-motion", "driver": "motion", "pin": 17, "interval_s": 0.2},
    ]
    v.write_node_config(cfg)
    v.commit("configure sensors", "config")
    return v


def test_live_agent_samples_rolls_up_commits_and_stops(live_vault):
    v = live_vault
    stop = threading.Event()
    agent = Agent(
        v,
        AgentOptions(commit_interval_s=1.0, sync=False, index=False, observe=False, tick_s=0.2),
        stop,
    )
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(agent.run()))
    t.start()
    time.sleep(7)
    t0 = time.monotonic()
    stop.set()
    t.join(timeout=10)
    assert result == [0]
    assert time.monotonic() - t0 < 5
    rollups = list(v.iter_rollups("alpaca-1"))
    temps = [r for r in rollups if r.sensor == "soc-temp"]
    assert temps, "no temperature rollups"
    assert all(r.mean == pytest.approx(47.25) and r.count > 0 for r in temps)
    # 2 s windows over ~7 s: every window starts on a 2 s UTC boundary
    assert all(int(r.start[17:19]) % 2 == 0 for r in temps)
    motion = [r for r in rollups if r.sensor == "hall-motion"]
    assert motion and all(r.events == 0 for r in motion)
    assert [p for p in v.pending() if "/sensors/" in p] == []
    log = (v.cache_dir() / "agent.log").read_text()
    assert "event=commit" in log and "event=stop" in log
