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
The counter has four hex digits: a 65,537th stamp within one millisecond carries into
the next millisecond (``now`` and ``observe`` never hold a counter above ``0xffff``), so
string order and time order stay the same.

Stamps from peers are data, not trusted clocks (docs/sync.md, "What a peer can and
cannot do"): :func:`try_parse` never raises, and :meth:`HLC.observe` adopts a stamp only
when it is at most ``max_skew_s`` (default :data:`MAX_SKEW_S`, one day) ahead of this
node's wall clock; a stamp further ahead (a peer's clock in 2099, or year 9999) is
reported to the caller and never moves this clock.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .atomic import atomic_write_text, ensure_dir

HLC_RE = re.compile(r"^(\d{8}T\d{6})\.(\d{3})Z-([0-9a-f]{4,})$")
RESERVE_MS = 1000
MAX_LOGICAL = 0xFFFF  # four hex digits: the string form stays sortable
MAX_SKEW_S = 86_400  # a peer's stamp may lead our wall clock by at most a day
# 9999-12-31T23:59:59.999Z minus the reserve: the last stamp whose high-water mark
# still has a four-digit year (datetime's limit).
MAX_PHYSICAL = 253_402_300_799_999 - RESERVE_MS
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True, order=True)
class Timestamp:
    """One HLC value: ``physical`` milliseconds since the Unix epoch (UTC) and a counter."""

    physical: int
    logical: int

    def __str__(self) -> str:
        t = datetime.fromtimestamp(self.physical // 1000, UTC)
        return f"{t:%Y%m%dT%H%M%S}.{self.physical % 1000:03d}Z-{self.logical:04x}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Parse the string form.

        Raises:
            ValueError: anything else (wrong shape, a date that does not exist).
        """
        m = HLC_RE.match(text) if isinstance(text, str) else None
        if not m:
            raise ValueError(f"not an HLC timestamp: {text!r}")
        d = m.group(1)  # YYYYmmddTHHMMSS; datetime() checks the date (strptime is 10x slower)
        try:
            t = datetime(
                int(d[0:4]),
                int(d[4:6]),
                int(d[6:8]),
                int(d[9:11]),
                int(d[11:13]),
                int(d[13:15]),
                tzinfo=UTC,
            )
        except ValueError:
            raise ValueError(f"not an HLC timestamp: {text!r} (no such date)") from None
        return cls(int(t.timestamp()) * 1000 + int(m.group(2)), int(m.group(3), 16))

    def carried(self) -> Timestamp:
        """The same instant with the counter kept to four hex digits.

        A counter above :data:`MAX_LOGICAL` (only a peer's crafted stamp can have one)
        moves to the next millisecond with counter 0: later than the original in both
        tuple and string order.
        """
        if self.logical <= MAX_LOGICAL:
            return self
        return Timestamp(self.physical + 1, 0)

    def next(self) -> Timestamp:
        """The smallest stamp after this one (counter +1, carrying into the next ms)."""
        if self.logical >= MAX_LOGICAL:
            return Timestamp(self.physical + 1, 0)
        return Timestamp(self.physical, self.logical + 1)

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


def try_parse(text: object) -> Timestamp | None:
    """:meth:`Timestamp.parse`, or None for anything that is not a stamp; never raises.

    Meant for values read from peers' files (any string, empty, or not a string).
    """
    try:
        return Timestamp.parse(text)  # type: ignore[arg-type]
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def _stored(text: str) -> Timestamp | None:
    """A stamp from this node's own state files; one past :data:`MAX_PHYSICAL` (a clock
    poisoned before stamps were bounded) counts as damaged, like an unparsable one."""
    ts = try_parse(text)
    return ts if ts is not None and ts.physical <= MAX_PHYSICAL else None


@dataclass(frozen=True)
class Observed:
    """The outcome of :meth:`HLC.observe` for one stamp.

    ``status``: ``adopted`` (the clock moved past it), ``behind`` (the clock was already
    past it), ``unparsable`` (not a stamp) or ``ahead`` (more than ``max_skew_s``
    ahead of the wall clock: not adopted). ``ahead_s``: seconds it leads the wall clock
    (0 when it does not, None when unparsable).
    """

    value: str
    status: str
    ahead_s: float | None = None

    @property
    def flagged(self) -> bool:
        """True for a stamp that was not adopted because it is unparsable or too far ahead."""
        return self.status in ("unparsable", "ahead")


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
        return self.now_many(1)[0]

    def now_many(self, n: int) -> list[str]:
        """Issue ``n`` new timestamps, increasing, all after every earlier one of this node.

        The same stamps as ``n`` calls of :meth:`now` at one wall-clock reading, under
        one lock and one store: a replayed day's 1,440 rollup lines took 0.77 s one
        stamp at a time. Raises OSError if ``local-cache`` cannot be written.
        """
        if n <= 0:
            return []
        with self._locked() as fd:
            last, reserved = self._load(fd)
            wall = self._wall()
            out = []
            for _ in range(n):
                last = Timestamp(wall, 0) if wall > last.physical else last.next()
                out.append(str(last))
            self._store(fd, last, reserved)
            return out

    def judge(self, remote: object, max_skew_s: float = MAX_SKEW_S) -> Observed:
        """Whether ``remote`` may be adopted, without touching the clock.

        ``status`` is ``unparsable``, ``ahead`` (more than ``max_skew_s`` seconds ahead of
        the wall clock, or past the year 9999 limit) or, when believable, ``adopted``.
        Never raises.
        """
        ts = try_parse(remote)
        if ts is None:
            return Observed(str(remote), "unparsable")
        lead_ms = ts.physical - self._wall()
        ahead_s = max(0.0, lead_ms / 1000)
        if lead_ms > max_skew_s * 1000 or ts.physical > MAX_PHYSICAL:
            # Trigger: a peer's stamp far ahead of our wall clock (a wrong clock or a
            # crafted line). Why: adopting it would drag every later stamp of this node
            # there, for good. What: the clock stays; the caller flags the record.
            return Observed(str(remote), "ahead", ahead_s)
        return Observed(str(remote), "adopted", ahead_s)

    def observe(self, remote: str, max_skew_s: float = MAX_SKEW_S) -> Observed:
        """Advance past a timestamp seen in merged data, if it is believable (:meth:`judge`).

        Args:
            remote: the stamp as found in a file (any string; never raises for it).
            max_skew_s: how far (seconds) a stamp may lead this node's wall clock and
                still be adopted.
        Returns:
            an :class:`Observed`: ``adopted``, ``behind`` (the clock was already past
            it), or flagged (``unparsable``/``ahead``: the clock is untouched).
        Raises:
            OSError: ``local-cache`` cannot be written.
        """
        seen = self.judge(remote, max_skew_s)
        if seen.flagged:
            return seen
        ts = Timestamp.parse(remote).carried()
        with self._locked() as fd:
            last, reserved = self._load(fd)
            if ts > last:
                self._store(fd, ts, reserved)
                return seen
        return Observed(remote, "behind", seen.ahead_s)

    def observe_many(
        self, stamps: Iterable[object], max_skew_s: float = MAX_SKEW_S
    ) -> list[Observed]:
        """Advance past the newest believable of ``stamps`` (one clock write).

        Returns the flagged ones (``unparsable`` or ``ahead``), each value once, in order.
        Raises:
            OSError: ``local-cache`` cannot be written.
        """
        flagged: list[Observed] = []
        best: tuple[Timestamp, str] | None = None
        for value in dict.fromkeys(stamps):
            seen = self.judge(value, max_skew_s)
            if seen.flagged:
                flagged.append(seen)
                continue
            ts = Timestamp.parse(seen.value)
            if best is None or ts > best[0]:
                best = (ts, seen.value)
        if best is not None:
            last = self.observe(best[1], max_skew_s)
            if last.flagged:  # the wall clock stepped back between the two readings
                flagged.append(last)
        return flagged

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
            saved = _stored(self._file.read_text().strip())
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
        shared = _stored(fields[0]) if len(fields) == 3 else None
        mark = _stored(fields[1]) if shared else None
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
