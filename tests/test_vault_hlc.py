"""Hybrid logical clock: monotonic, persisted in local-cache, safe against clocks going back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.support.core_fixtures import NODE, make_vault, rollup
from vault_agent.vault import Vault
from vault_agent.vault.hlc import HLC, RESERVE_MS, Timestamp

MS_2025 = int(datetime(2025, 10, 14, 10, tzinfo=UTC).timestamp() * 1000)


class Wall:
    """A settable wall clock in ms (the HLC's injectable clock, not a patch)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_string_form_orders_like_timestamps():
    a, b, c = Timestamp(MS_2025, 0), Timestamp(MS_2025, 1), Timestamp(MS_2025 + 1, 0)
    assert str(a) == "20251014T100000.000Z-0000"
    assert str(a) < str(b) < str(c)
    assert Timestamp.parse(str(b)) == b
    assert a.wall() == datetime(2025, 10, 14, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        Timestamp.parse("2025-10-14T10:00:00Z")


def test_now_strictly_increasing_when_wall_stalls_and_goes_back(tmp_path):
    wall = Wall(MS_2025)
    clock = HLC(tmp_path / "hlc", wall=wall)
    seen = [clock.now() for _ in range(3)]
    wall.ms -= 60_000  # NTP steps the clock back a minute
    seen += [clock.now() for _ in range(3)]
    wall.ms = MS_2025 + 5
    seen.append(clock.now())
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert Timestamp.parse(seen[3]).physical == MS_2025  # held at the high-water mark
    assert Timestamp.parse(seen[-1]) == Timestamp(MS_2025 + 5, 0)


def test_persisted_and_monotonic_across_restart_with_clock_in_1970(tmp_path):
    f = tmp_path / "local-cache" / "hlc"
    first = HLC(f, wall=Wall(MS_2025))
    issued = [first.now() for _ in range(5)]
    assert f.is_file()
    # reboot of a Pi without RTC: the wall clock starts at the epoch
    second = HLC(f, wall=Wall(0))
    after = second.now()
    assert after > max(issued)
    assert Timestamp.parse(after).physical <= MS_2025 + RESERVE_MS
    third = HLC(f, wall=Wall(1000))
    assert third.now() > after


def test_clock_file_not_rewritten_on_every_tick(tmp_path):
    f = tmp_path / "hlc"
    wall = Wall(MS_2025)
    clock = HLC(f, wall=wall)
    clock.now()
    saved = f.read_text()
    for i in range(50):
        wall.ms = MS_2025 + i * 10  # within the reserved second
        clock.now()
    assert f.read_text() == saved
    wall.ms = MS_2025 + RESERVE_MS + 1
    clock.now()
    assert f.read_text() != saved


def test_observe_advances_past_remote(tmp_path):
    clock = HLC(tmp_path / "hlc", wall=Wall(MS_2025))
    remote = str(Timestamp(MS_2025 + 3_600_000, 7))
    clock.observe(remote)
    assert clock.now() > remote
    clock.observe("garbage")  # ignored
    restarted = HLC(tmp_path / "hlc", wall=Wall(MS_2025))
    assert restarted.now() > remote


def test_damaged_clock_file_falls_back_to_wall(tmp_path):
    f = tmp_path / "hlc"
    f.write_text("not a timestamp\n")
    clock = HLC(f, wall=Wall(MS_2025))
    assert Timestamp.parse(clock.now()) == Timestamp(MS_2025, 0)


def test_vault_hlc_lives_in_local_cache_and_stamps_records(tmp_path):
    v = make_vault(tmp_path)
    v.append_rollups([rollup(i=0)])
    _, obs = v.write_observation("x")
    hlc_file = v.root / f"agents/{NODE}/local-cache/hlc"
    assert hlc_file.is_file()
    assert not [p for p in v.pending() if "local-cache" in p]  # git-ignored
    line = json.loads(v.path(v.rollup_files(NODE)[0]).read_text())
    assert Timestamp.parse(obs.hlc) > Timestamp.parse(line["hlc"])
    # a new process (Vault.open) continues after both
    v2 = Vault.open(v.root)
    v2.append_rollups([rollup(i=1)])
    last = json.loads(v2.path(v2.rollup_files(NODE)[0]).read_text().splitlines()[-1])
    assert last["hlc"] > obs.hlc
