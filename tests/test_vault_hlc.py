"""Hybrid logical clock: monotonic, persisted in local-cache, safe against clocks going back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.support.core_fixtures import NODE, make_vault, rollup
from vault_agent.vault import Vault
from vault_agent.vault import hlc as hlc_mod
from vault_agent.vault.hlc import HLC, HLC_RE, RESERVE_MS, Timestamp

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


# -- one clock per node, shared by its processes ---------------------------------------

CHILD = """
import sys
from vault_agent.vault import Vault
from vault_agent.vault.hlc import HLC
root, node, n, frozen = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
v = Vault.open(root, node)
clock = HLC(v.cache_dir() / "hlc", wall=lambda: frozen) if frozen else v.hlc
print("ready", flush=True)
sys.stdin.readline()
stamps = [clock.now() for _ in range(n)]
print("\\n".join(stamps), flush=True)
"""


def _stamp_concurrently(root, procs: int, n: int, frozen_ms: int = 0) -> list[list[str]]:
    """Start ``procs`` processes on one vault, release them together, return their stamps."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), NODE, str(n), str(frozen_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    for c in children:  # every clock exists (and has read the state) before any stamps
        assert c.stdout.readline() == "ready\n", c.stderr.read()
    for c in children:
        c.stdin.write("go\n")
        c.stdin.flush()
    out = []
    for c in children:
        stdout, stderr = c.communicate(timeout=60)
        assert c.returncode == 0, stderr
        out.append(stdout.split())
    return out


def _strictly_increasing(seq: list[str]) -> bool:
    parsed = [Timestamp.parse(s) for s in seq]
    return all(a < b for a, b in zip(parsed, parsed[1:], strict=False)) and seq == sorted(seq)


def test_concurrent_processes_never_share_a_stamp(tmp_path):
    v = make_vault(tmp_path)
    runs = _stamp_concurrently(v.root, procs=3, n=300)
    union = [s for run in runs for s in run]
    assert [len(run) for run in runs] == [300, 300, 300]
    assert len(set(union)) == 900
    assert all(_strictly_increasing(run) for run in runs)
    assert v.hlc.now() > max(union)  # and this process continues after all of them


def test_concurrent_processes_with_a_stalled_clock_share_one_counter(tmp_path):
    """All wall clocks read the same ms: only the shared counter keeps stamps apart.

    Each process built its clock before any stamp was taken, so per-process clocks
    (the old design) would all issue ``…-0000``, ``…-0001``… and collide.
    """
    v = make_vault(tmp_path)
    runs = _stamp_concurrently(v.root, procs=3, n=300, frozen_ms=MS_2025)
    union = [Timestamp.parse(s) for run in runs for s in run]
    assert sorted(union) == [Timestamp(MS_2025, k) for k in range(900)]
    assert all(_strictly_increasing(run) for run in runs)


def test_two_clocks_on_one_state_file_with_walls_stepping_back(tmp_path):
    f = tmp_path / "local-cache" / "hlc"
    wa, wb = Wall(MS_2025), Wall(MS_2025 - 60_000)  # b's clock is a minute behind
    a, b = HLC(f, wall=wa), HLC(f, wall=wb)
    issued = [a.now(), b.now(), a.now()]
    wa.ms -= 3_600_000  # NTP steps a's clock back an hour
    issued += [a.now(), b.now(), b.now(), a.now()]
    wb.ms = MS_2025 + 7  # b's clock jumps past the high-water mark
    issued += [b.now(), a.now()]
    assert _strictly_increasing(issued)
    assert Timestamp.parse(issued[1]) == Timestamp(MS_2025, 1)  # b continued a's counter
    assert Timestamp.parse(issued[-2]) == Timestamp(MS_2025 + 7, 0)
    assert Timestamp.parse(issued[-1]) == Timestamp(MS_2025 + 7, 1)
    assert a.last == b.last == Timestamp.parse(issued[-1])


def test_observe_in_one_process_is_seen_by_another(tmp_path):
    f = tmp_path / "hlc"
    a, b = HLC(f, wall=Wall(MS_2025)), HLC(f, wall=Wall(MS_2025))
    remote = str(Timestamp(MS_2025 + 3_600_000, 7))
    a.observe(remote)
    assert b.last == Timestamp.parse(remote)
    assert b.now() == str(Timestamp(MS_2025 + 3_600_000, 8))


STAMPER = """
import sys
from vault_agent.vault.hlc import HLC
clock = HLC(sys.argv[1], wall=lambda: int(sys.argv[2]))
while True:
    print(clock.now(), flush=True)
"""


def test_sigkilled_process_loses_no_stamp(tmp_path):
    """A stamper killed mid-stream: the next clock (wall an hour behind) continues after it."""
    f = tmp_path / "local-cache" / "hlc"
    proc = subprocess.Popen(
        [sys.executable, "-c", STAMPER, str(f), str(MS_2025)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked = [proc.stdout.readline().strip() for _ in range(500)]
    proc.send_signal(signal.SIGKILL)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err
    acked += [s for s in rest.split("\n") if HLC_RE.match(s)]  # a torn last line is no ack
    after = HLC(f, wall=Wall(MS_2025 - 3_600_000)).now()
    assert after > max(acked)
    # it continued the shared counter exactly (no one-second jump to the durable mark)
    assert Timestamp.parse(after).physical == MS_2025


def test_after_a_power_cut_a_stale_shared_state_is_not_trusted(tmp_path):
    """A power cut can leave an old ``hlc.lock`` on disk; the next boot uses the durable mark."""
    f = tmp_path / "hlc"
    lock = tmp_path / "hlc.lock"
    wall = Wall(MS_2025)
    clock = HLC(f, wall=wall)
    issued = [clock.now() for _ in range(3)]
    stale = lock.read_text()
    assert stale.split()[2] == hlc_mod.boot_id()
    for i in range(20):
        wall.ms = MS_2025 + 10 * i
        issued.append(clock.now())
    mark = Timestamp.parse(f.read_text().strip())
    # what reached the disk before the cut: the old lock content, written in the last boot
    lock.write_text(stale.replace(hlc_mod.boot_id(), "another-boot"))
    after = HLC(f, wall=Wall(0)).now()  # Pi without RTC: 1970 after the reboot
    assert after > max(issued)
    assert Timestamp.parse(after) == Timestamp(mark.physical, 1)
    # a lock file emptied by the cut likewise falls back to the durable mark
    lock.write_text("")
    assert HLC(f, wall=Wall(0)).now() > after


def test_without_a_boot_id_the_shared_state_is_still_shared(tmp_path, monkeypatch):
    monkeypatch.setattr(hlc_mod, "BOOT_ID_FILE", tmp_path / "no-such-file")
    hlc_mod.boot_id.cache_clear()
    try:
        f = tmp_path / "hlc"
        a, b = HLC(f, wall=Wall(MS_2025)), HLC(f, wall=Wall(MS_2025 - 1))
        issued = [a.now(), b.now(), a.now()]
        assert [str(Timestamp(MS_2025, k)) for k in range(3)] == issued
        assert (tmp_path / "hlc.lock").read_text().split()[2] == "-"
    finally:
        hlc_mod.boot_id.cache_clear()


def test_a_mark_moved_without_the_shared_state_is_respected(tmp_path):
    """A process of the previous version (per-process clock) only moves the durable mark.

    Its stamps lie below that mark, so a shared state written under a lower mark is
    stale and the clock continues from the mark.
    """
    f = tmp_path / "hlc"
    clock = HLC(f, wall=Wall(MS_2025))
    clock.now()
    mark = Timestamp(MS_2025 + 30_000 + RESERVE_MS, 0)  # it stamped up to MS_2025 + 30 s
    f.write_text(f"{mark}\n")
    assert HLC(f, wall=Wall(MS_2025)).now() == str(Timestamp(mark.physical, 1))


@pytest.mark.parametrize(
    "text",
    [
        "99991231T235959.999Z-0000",  # parses, but its high-water mark would be year 10000
        "20251301T000000.000Z-0000",  # month 13
        "00000101T000000.000Z-0000",  # year 0
        "garbage",
        "",
        None,
        42,
        "20251014T100000.000Z-" + "f" * 4000,
    ],
)
def test_try_parse_never_raises_on_a_peers_value(text):
    ts = hlc_mod.try_parse(text)
    assert ts is None or isinstance(ts, Timestamp)


@pytest.mark.parametrize(
    ("remote", "status"),
    [
        ("99991231T235959.999Z-0000", "ahead"),
        ("20990101T000000.000Z-0000", "ahead"),
        ("garbage", "unparsable"),
        ("", "unparsable"),
    ],
)
def test_observe_never_adopts_a_stamp_beyond_max_skew(tmp_path, remote, status):
    clock = HLC(tmp_path / "hlc", wall=Wall(MS_2025))
    seen = clock.observe(remote)
    assert seen.status == status and seen.flagged
    assert Timestamp.parse(clock.now()) == Timestamp(MS_2025, 0)  # untouched
    assert HLC(tmp_path / "hlc", wall=Wall(MS_2025)).last < Timestamp(MS_2025, 2)


def test_observe_adopts_within_max_skew_and_the_limit_is_a_parameter(tmp_path):
    clock = HLC(tmp_path / "hlc", wall=Wall(MS_2025))
    hour = str(Timestamp(MS_2025 + 3_600_000, 3))
    assert clock.observe(hour, max_skew_s=7200).status == "adopted"
    assert clock.observe(hour, max_skew_s=7200).status == "behind"
    two_days = str(Timestamp(MS_2025 + 2 * 86_400_000, 0))
    seen = clock.observe(two_days)  # default: one day
    assert seen.status == "ahead" and seen.ahead_s == 2 * 86_400
    assert clock.now() < two_days


def test_counter_carries_into_the_next_millisecond_and_stays_sortable(tmp_path):
    clock = HLC(tmp_path / "hlc", wall=Wall(MS_2025))  # the wall clock is stuck
    assert clock.observe(str(Timestamp(MS_2025, 0xFFFD))).status == "adopted"
    stamps = [clock.now() for _ in range(4)]
    assert [s[-4:] for s in stamps] == ["fffe", "ffff", "0000", "0001"]
    assert all(HLC_RE.match(s) for s in stamps)
    assert stamps == sorted(stamps)
    parsed = [Timestamp.parse(s) for s in stamps]
    assert parsed == sorted(parsed) and parsed[2] == Timestamp(MS_2025 + 1, 0)
    # a peer's counter above 0xffff is adopted carried, still in four digits
    wide = f"{Timestamp(MS_2025 + 5, 0)}"[:-4] + "12345"
    assert clock.observe(wide).status == "adopted"
    after = clock.now()
    assert after[-5] == "-" and Timestamp.parse(after) == Timestamp(MS_2025 + 6, 1)
    assert after > wide[:-6]  # later in string order than the peer's millisecond


def test_a_clock_poisoned_before_stamps_were_bounded_recovers(tmp_path):
    """A state file already holding year 9999 (written by an older version) is damaged."""
    f = tmp_path / "hlc"
    f.write_text("99991231T235959.999Z-0000\n")
    (tmp_path / "hlc.lock").write_text("99991231T235959.999Z-0000 99991231T235959.999Z-0000 -\n")
    clock = HLC(f, wall=Wall(MS_2025))
    assert Timestamp.parse(clock.now()) == Timestamp(MS_2025, 0)


def test_observe_many_adopts_the_newest_believable_stamp_and_flags_the_rest(tmp_path):
    clock = HLC(tmp_path / "hlc", wall=Wall(MS_2025))
    near = str(Timestamp(MS_2025 + 60_000, 2))
    older = str(Timestamp(MS_2025 - 60_000, 0))
    flagged = clock.observe_many(
        [older, "99991231T235959.999Z-0000", near, "junk", near, "20990101T000000.000Z-0000"]
    )
    assert [(f.value, f.status) for f in flagged] == [
        ("99991231T235959.999Z-0000", "ahead"),
        ("junk", "unparsable"),
        ("20990101T000000.000Z-0000", "ahead"),
    ]
    assert Timestamp.parse(clock.now()) == Timestamp(MS_2025 + 60_000, 3)


def test_now_many_issues_the_stamps_of_n_calls_of_now(tmp_path):
    wall = Wall(MS_2025)
    one, many = HLC(tmp_path / "a" / "hlc", wall=wall), HLC(tmp_path / "b" / "hlc", wall=wall)
    singles = [one.now() for _ in range(5)]
    assert many.now_many(5) == singles
    assert many.now_many(0) == []
    after = many.now()
    assert after > singles[-1] and Timestamp.parse(after) == Timestamp(MS_2025, 5)
    wall.ms -= 60_000  # a clock stepped back: the batch goes on from the high-water mark
    batch = many.now_many(3)
    assert batch == sorted(batch) and batch[0] > after and len(set(batch)) == 3


def test_appended_rollups_get_distinct_increasing_stamps(tmp_path):
    v = make_vault(tmp_path)
    (rel,) = v.append_rollups([rollup(i=i) for i in range(6)])
    stamps = [json.loads(x)["hlc"] for x in v.path(rel).read_text().splitlines()]
    assert len(stamps) == 6 and stamps == sorted(set(stamps))
