"""Stale git files of killed processes are cleaned, live ones never (issue 19.8).

libgit2 temp files are produced the way they happen: a real ``vault sync`` SIGKILLed
during its fetch. ``.git/index.lock`` is removed only when every live process working
in the vault started after it was written (none of them can hold it) and nobody has it
open.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

from tests.test_sync_support import make_nodes
from vault_agent.sync.housekeeping import clean_stale_git_files
from vault_agent.sync.sync import sync_all
from vault_agent.sync.transport import CRASH_ENV

HOUR = 3600


def _age(path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def _sleeper(cwd, hold=None) -> subprocess.Popen:
    """A live process working in ``cwd`` (like a `git commit` waiting for its editor),
    optionally holding ``hold`` open."""
    code = "import sys,time\nf=open(sys.argv[1]) if len(sys.argv)>1 else None\ntime.sleep(120)"
    args = [sys.executable, "-c", code] + ([str(hold)] if hold else [])
    p = subprocess.Popen(args, cwd=cwd)
    time.sleep(0.5)  # started, file opened
    return p


def test_temp_files_of_a_killed_fetch_are_removed_with_a_log_line(tmp_path, caplog):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    for i in range(300):  # a pack big enough for the transfer callbacks to fire
        a.write_file(f"knowledge-base/a-{i}.md", f"# page {i}\n" + os.urandom(1500).hex())
    assert sync_all(a).ok
    env = {**os.environ, CRASH_ENV: "fetch"}
    killed = subprocess.run(
        [sys.executable, "-m", "vault_agent.cli", "sync", "--vault", str(b.root)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL
    pack_dir = b.root / ".git/objects/pack"
    temps = sorted(pack_dir.glob("pack_git2_*"))
    assert temps, "the killed fetch left no temp pack"
    size = sum(p.stat().st_size for p in temps)
    loose = b.root / ".git/objects/tmp_object_git2_Ab12Cd"  # a killed loose write
    loose.write_bytes(b"x" * 100)
    fresh = pack_dir / "pack_git2_fresh0"  # a transfer writing right now: too young
    fresh.write_bytes(b"x")
    for p in [*temps, loose]:
        _age(p, HOUR)

    with caplog.at_level(logging.WARNING, logger="vault_agent.sync"):
        report = sync_all(b)
    assert report.ok, report.as_dict()
    assert not any(p.exists() for p in [*temps, loose])
    assert fresh.exists()
    assert sorted(report.cleaned) == sorted(
        [f"objects/pack/{p.name}" for p in temps] + ["objects/tmp_object_git2_Ab12Cd"]
    )
    lines = [r.getMessage() for r in caplog.records if "event=stale_git_file" in r.getMessage()]
    assert len(lines) == len(temps) + 1
    reported = sum(int(w.split("=")[1]) for x in lines for w in x.split() if w.startswith("bytes="))
    assert reported == size + 100
    assert (b.root / "knowledge-base/a-299.md").exists()  # the fetch completed this time


def test_an_old_temp_file_a_live_process_has_open_is_kept(tmp_path):
    (a,) = make_nodes(tmp_path, ["node-a"])
    busy = a.root / ".git/objects/pack/pack_git2_busy00"
    busy.write_bytes(b"x" * 10)
    _age(busy, HOUR)
    holder = _sleeper("/", hold=busy)
    try:
        assert clean_stale_git_files(a) == []
        assert busy.exists()
    finally:
        holder.kill()
        holder.wait()
    assert clean_stale_git_files(a) == ["objects/pack/pack_git2_busy00"]


def test_a_stale_index_lock_is_moved_aside_and_the_commit_goes_through(tmp_path, caplog):
    (a,) = make_nodes(tmp_path, ["node-a"])
    lock = a.root / ".git/index.lock"
    lock.write_bytes(b"")
    _age(lock, HOUR)
    later = _sleeper(a.root)  # works in the vault, but started after the lock: not its holder
    try:
        a.write_file("knowledge-base/n.md", "# n\n")
        with caplog.at_level(logging.WARNING, logger="vault_agent.sync"):
            report = sync_all(a)
    finally:
        later.kill()
        later.wait()
    assert report.ok and "index.lock" in report.cleaned
    assert not lock.exists()
    assert list(a.cache_dir("quarantine").glob("index.lock.*"))  # moved, not deleted
    assert report.committed and a.pending() == []
    assert any("removed=.git/index.lock" in r.getMessage() for r in caplog.records)


def test_an_index_lock_a_live_process_may_hold_is_never_removed(tmp_path):
    (a,) = make_nodes(tmp_path, ["node-a"])
    lock = a.root / ".git/index.lock"
    older = _sleeper(a.root)  # e.g. `git commit` waiting for its editor
    try:
        time.sleep(1.2)
        lock.write_bytes(b"")  # written after that process started: it may be the holder
        assert clean_stale_git_files(a, min_age_s=0) == []
        assert lock.exists()
    finally:
        older.kill()
        older.wait()
    shell = subprocess.Popen(["bash", "-c", "read x"], cwd=a.root, stdin=subprocess.PIPE)
    time.sleep(0.5)  # a shell left open in the vault since before the lock: not a writer
    opener = _sleeper("/", hold=lock)  # anyone with the lock open holds it
    try:
        _age(lock, HOUR)
        assert clean_stale_git_files(a) == []
        assert lock.exists()
    finally:
        opener.kill()
        opener.wait()
    os.utime(lock)  # written now, after the shell started
    try:
        # only the shell is left, and a shell never writes an index: stale
        assert clean_stale_git_files(a, min_age_s=0) == ["index.lock"]
    finally:
        shell.kill()
        shell.wait()
    assert not lock.exists()
