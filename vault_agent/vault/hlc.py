"""Hybrid logical clock (HLC) per node, persisted in ``local-cache``, shared by its processes.

Kulkarni, Demirbas et al., "Logical Physical Clocks and Consistent Snapshots in
Globally Distributed Databases" (2014): a timestamp is (physical ms, logical counter);
``now`` takes max(wall, last) and bumps the counter on ties; ``observe`` advances past
a timestamp seen in merged data.

One clock per node, not per process: the agent daemon and a ``vault observe`` run by a
person stamp from the same sequence. Every ``now``/``observe`` takes an exclusive
``flock`` on ``<state>.lock`` (e.g. ``local-cache/hlc.lock``), reads the node's last
stamp from it, advances and writes it back before releasing, so stamps are strictly
increasing across processes, with no duplicates, even with a wall clock stepping back.

Two files, because a durable write per stamp costs an fsync (~1,300 stamps/s on this
machine's disk, far fewer on an SD card) and a backfill stamps hundreds per second:

* ``hlc`` (durable): a high-water mark one second ahead of the newest stamp, written
  atomically (fsynced) only when the clock passes it. A Pi has no RTC, so after a
  power cut with a wall clock in 1970 the clock restarts there, after every earlier
  stamp. The format is one HLC string, as before.
* ``hlc.lock`` (shared, not fsynced): ``<last> <high-water mark> <boot id>``, the exact
  last stamp. Processes of one boot share the kernel's page cache, so a crashed
  process (SIGKILL) loses nothing. After a reboot (another ``boot_id``) it may be stale,
  so it is trusted only when written in this boot; otherwise the durable mark is used.
  Where no boot id is available (not Linux) the lock file is fsynced on every stamp.

String form (lexicographically ordered): ``YYYYMMDDTHHMMSS.mmmZ-CCCC`` (counter hex).
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .atomic import atomic_write_text, ensure_dir

HLC_RE = re.compile(r"^(\d{8}T\d{6})\.(\d{3})Z-([0-9a-f]{4,})$")
RESERVE_MS = 1000
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True, order=True)
class Timestamp:
    """One HLC value: ``physical`` milliseconds since the Unix epoch (UTC) and a counter."""

    physical: int
    logical: int

    def __str__(self) -> str:
        t = datetime.fromtimestamp(self.physical / 1000, UTC)
        return f"{t:%Y%m%dT%H%M%S}.{self.physical % 1000:03d}Z-{self.logical:04x}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse the string form. Raises ValueError on anything else."""
        m = HLC_RE.match(text or "")
        if not m:
            raise ValueError(f"not an HLC timestamp: {text!r}")
        t = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return cls(int(t.timestamp()) * 1000 + int(m.group(2)), int(m.group(3), 16))

    def wall(self) -> datetime:
        """The physical part as an aware UTC datetime."""
        return datetime.fromtimestamp(self.physical / 1000, UTC)


ZERO = Timestamp(0, 0)


@functools.cache
def boot_id() -> str:
    """This boot's id (Linux ``/proc/sys/kernel/random/boot_id``), or "" where there is none."""
    try:
        return BOOT_ID_FILE.read_text().strip()
    except OSError:
        return ""


def _parse_or_none(text: str) -> Timestamp | None:
    try:
        return Timestamp.parse(text)
    except ValueError:
        return None


class HLC:
    """A node's hybrid logical clock, shared by its threads and processes.

    Args:
        state_file: the durable high-water mark (``local-cache/hlc``); the shared state
            and lock live beside it in ``<state_file>.lock``.
        wall: a function returning the wall clock in ms (default ``time.time``).
    """

    def __init__(self, state_file: Path, wall=None) -> None:
        self._file = Path(state_file)
        self._lock_path = self._file.with_name(self._file.name + ".lock")
        self._wall = wall or (lambda: int(time.time() * 1000))
        self._lock = threading.Lock()  # flock does not exclude our own threads
        self._last = ZERO  # newest stamp this instance issued or saw

    @property
    def last(self) -> Timestamp:
        """The newest timestamp issued or observed by any process of this node."""
        with self._lock:
            try:
                fd = os.open(self._lock_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return max(self._last, Timestamp(self._reserved_on_disk(), 0))
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                last, _ = self._load(fd)
            finally:
                os.close(fd)  # closing drops the flock
            self._last = last
            return last

    def now(self) -> str:
        """Issue a new timestamp, strictly greater than every earlier one of this node.

        Returns its string form. Raises OSError if ``local-cache`` cannot be written.
        """
        with self._locked() as fd:
            last, reserved = self._load(fd)
            wall = self._wall()
            if wall > last.physical:
                last = Timestamp(wall, 0)
            else:
                last = Timestamp(last.physical, last.logical + 1)
            self._store(fd, last, reserved)
            return str(last)

    def observe(self, remote: str) -> None:
        """Advance past a timestamp seen in merged data (ignored if unparsable)."""
        ts = _parse_or_none(remote)
        if ts is None:
            return
        with self._locked() as fd:
            last, reserved = self._load(fd)
            if ts > last:
                self._store(fd, ts, reserved)

    # -- shared state ------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[int]:
        """Hold this instance's thread lock and an exclusive flock on the lock file.

        The file is opened per call, never kept: a forked child would share an open
        file description, and flock does not exclude the holders of one description.
        """
        with self._lock:
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                ensure_dir(self._lock_path.parent)
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield fd
            finally:
                os.close(fd)  # closing drops the flock (also if the process dies)

    def _reserved_on_disk(self) -> int:
        """The durable high-water mark in ms (0 if missing or damaged)."""
        try:
            saved = _parse_or_none(self._file.read_text().strip())
        except OSError:
            return 0
        return saved.physical if saved else 0

    def _load(self, fd: int) -> tuple[Timestamp, int]:
        """(last stamp of the node, durable high-water mark in ms), under the flock.

        The shared last stamp is trusted if it was written in this boot under a mark at
        least as high as the one on disk. Otherwise (first run, reboot after a power
        cut, damaged lock file, a writer that moved the mark without it) the clock goes
        on from the durable mark, which is past every stamp issued before.
        """
        reserved = self._reserved_on_disk()
        fields = os.pread(fd, 256, 0).decode("ascii", "replace").partition("\n")[0].split()
        shared = _parse_or_none(fields[0]) if len(fields) == 3 else None
        mark = _parse_or_none(fields[1]) if shared else None
        if shared and mark and fields[2] == (boot_id() or "-") and mark.physical >= reserved:
            last = shared
        else:
            last = max(shared or ZERO, Timestamp(reserved, 0) if reserved else ZERO)
        return max(last, self._last), reserved

    def _store(self, fd: int, last: Timestamp, reserved: int) -> None:
        """Make ``last`` the node's last stamp: durable mark first, then the shared state."""
        if last.physical >= reserved:
            reserved = last.physical + RESERVE_MS
            atomic_write_text(self._file, str(Timestamp(reserved, 0)) + "\n")
        data = f"{last} {Timestamp(reserved, 0)} {boot_id() or '-'}\n".encode("ascii")
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        if not boot_id():
            os.fsync(fd)  # without a boot id a stale copy after a power cut is undetectable
        self._last = last
