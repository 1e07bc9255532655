"""The sampler: reads every hardware sensor on its own schedule, feeds the rollups.

* **Schedule without drift**: sensor *i* is read at ``t0 + k·interval`` on the
  monotonic clock; a late read does not shift later ones, and slots missed while a
  read hung are skipped, not made up in a burst.
* **Isolation**: each sensor has its own worker thread, so a slow or hung driver (an
  I2C bus stretched by a bad cable) only delays itself. Sensors on one chip (a BME280
  serving three ids) share one driver under a lock; a read younger than
  ``share_s`` is reused. Raw lines go through a queue to :class:`RawCache`'s writer,
  rollup lines are written by :meth:`RollupEngine.close_until`: no worker waits on disk.
* **Errors** (``SensorError``, ``OSError``, anything else a driver raises) are counted
  in the window's ``errors``, logged, and retried after 1, 2, 4… s (at most
  ``max_backoff_s``); never fatal. After a success the sensor rejoins its grid.
* **Binary GPIO inputs** (motion, door, button) are polled like the others, and their
  driver also records every edge through gpiozero's callbacks: the edges since the
  previous read are fed to the rollups as readings at their own times (monotonic
  offsets from the poll's wall time) before the poll itself, so a 50 ms pulse between
  two polls is an event with its ``on_s`` in its window.
* **Stuck sensors**: a numeric value unchanged for ``stuck_after_s`` (default 3 h) is
  flagged (status ``stuck``, a warning in the log) until it changes.
* **Clock jumping backwards** (a Pi without RTC corrected by NTP): readings are stamped
  with the wall clock, which is what people and other nodes see. A jump back of more
  than 2 s against the monotonic clock is logged and counted (``clock_jumps``); readings
  whose window was already written become ``late: true`` lines, so nothing is lost and
  no line is rewritten. Windows still open from before the jump close when the wall
  clock reaches their end again.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..vault.atomic import atomic_write_text
from .base import Measurement, OutOfRangeError, Reading, SensorDriver, SensorError
from .config import SensorSpec
from .drivers import hardware_key, make_driver
from .rawcache import RawCache
from .rollup import RollupEngine

if TYPE_CHECKING:
    from .gpio import Activity

log = logging.getLogger("vault_agent.sensors")
STATUS_FILE = "sensors-status.json"
CLOCK_JUMP_TOLERANCE_S = 2.0


@dataclass
class SensorState:
    """Live status of one sensor (``vault sensors`` shows it). Times are UTC ISO 8601."""

    id: str
    quantity: str
    unit: str
    last_value: float | None = None
    last_t: str | None = None
    reads: int = 0
    errors: int = 0
    consecutive_errors: int = 0
    last_error: str | None = None
    stuck: bool = False
    stuck_since: str | None = None
    backoff_s: float = 0.0


class StuckDetector:
    """Flags a value unchanged for ``after_s`` seconds (monotonic); 0 disables it."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self.value: float | None = None
        self.since = 0.0
        self.stuck = False

    def update(self, value: float, mono: float) -> bool:
        """Feed one value at monotonic time ``mono``; True when the sensor just became stuck."""
        if self.value is None or value != self.value:
            self.value, self.since, self.stuck = value, mono, False
            return False
        if self.after_s > 0 and not self.stuck and mono - self.since >= self.after_s:
            self.stuck = True
            return True
        return False


class ClockWatch:
    """Wall-clock readings with detection of backward jumps against the monotonic clock."""

    def __init__(
        self,
        wall: Callable[[], datetime] | None = None,
        mono: Callable[[], float] = time.monotonic,
        tolerance_s: float = CLOCK_JUMP_TOLERANCE_S,
    ) -> None:
        self._wall = wall or (lambda: datetime.now(UTC))
        self._mono = mono
        self.tolerance_s = tolerance_s
        self.jumps = 0
        self._last: tuple[float, float] | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The wall time now (aware UTC); counts a jump back of more than the tolerance."""
        with self._lock:
            w, m = self._wall(), self._mono()
            ws = w.timestamp()
            if self._last is not None:
                expected = self._last[0] + (m - self._last[1])
                if ws < expected - self.tolerance_s:
                    self.jumps += 1
                    log.warning(
                        "wall clock jumped back %.1f s (to %s); readings of windows "
                        "already written become late lines",
                        expected - ws,
                        w.isoformat(timespec="seconds"),
                    )
            self._last = (ws, m)
            return w


class _SharedDriver:
    """One driver used by several sensor ids: serialised; a fresh result is shared once
    with each other id (a sensor asking again always gets a new read)."""

    def __init__(self, build: Callable[[], SensorDriver], share_s: float) -> None:
        self._build = build
        self._driver: SensorDriver | None = None
        self._lock = threading.Lock()
        self._share_s = share_s
        self._cached: tuple[float, Measurement, set[str]] | None = None

    def read(self, sensor: str) -> Measurement:
        with self._lock:
            c = self._cached
            if c and time.monotonic() - c[0] < self._share_s and sensor not in c[2]:
                c[2].add(sensor)
                return c[1]
            if self._driver is None:
                self._driver = self._build()
            m = self._driver.read()
            self._cached = (time.monotonic(), m, {sensor})
            return m

    def take_activity(self) -> Activity | None:
        """The edges a binary GPIO driver recorded up to its last read, else None."""
        with self._lock:
            take = getattr(self._driver, "take_activity", None)
            return take() if take is not None else None

    def close(self) -> None:
        with self._lock:
            if self._driver is not None:
                try:
                    self._driver.close()
                except Exception:  # noqa: BLE001 - closing must not raise at shutdown
                    log.debug("closing a driver failed", exc_info=True)
                self._driver = None


class Sampler:
    """Samples ``specs`` into ``engine`` until ``stop`` is set.

    Args:
        vault: the vault (raw cache and status file go under its local-cache).
        specs: the sensors; ``replay`` ones are skipped (``vault replay`` feeds them).
        engine: the :class:`RollupEngine` fed with readings and errors.
        stop: set to end every worker.
        driver_factory: builds a driver for a spec (default :func:`make_driver`).
        raw: a :class:`RawCache`, None for the node's default one, False for none.
        wall: the wall clock (tests simulate a jump backwards).
        max_backoff_s: cap of the retry delay after errors, seconds.
        close_windows: let :meth:`run` call ``engine.close_until(now)`` every
            ``close_every_s`` (pass False if the caller closes windows itself).
        share_s: readings of one chip younger than this are shared between its ids.
    """

    def __init__(
        self,
        vault: Any,
        specs: list[SensorSpec],
        engine: RollupEngine,
        stop: threading.Event,
        *,
        driver_factory: Callable[[SensorSpec], SensorDriver] | None = None,
        raw: RawCache | None | bool = None,
        wall: Callable[[], datetime] | None = None,
        max_backoff_s: float = 300.0,
        base_backoff_s: float = 1.0,
        close_windows: bool = True,
        close_every_s: float = 5.0,
        status_every_s: float = 5.0,
        share_s: float = 0.5,
    ) -> None:
        self.vault = vault
        self.specs = [s for s in specs if s.driver != "replay"]
        self.engine = engine
        self.stop = stop
        self.clock = ClockWatch(wall)
        self.max_backoff_s = max_backoff_s
        self.base_backoff_s = base_backoff_s
        self.close_windows = close_windows
        self.close_every_s = close_every_s
        self.status_every_s = status_every_s
        factory = driver_factory or make_driver
        self.raw: RawCache | None = (
            RawCache.for_vault(vault) if raw is None or raw is True else raw or None
        )
        self.state = {s.id: SensorState(s.id, s.quantity, s.unit) for s in self.specs}
        self._stuck = {s.id: StuckDetector(0 if s.binary else s.stuck_after_s) for s in self.specs}
        self._drivers: dict[tuple[Any, ...], _SharedDriver] = {}
        self._driver_of: dict[str, _SharedDriver] = {}
        for s in self.specs:
            key = hardware_key(s)
            if key not in self._drivers:
                self._drivers[key] = _SharedDriver(lambda s=s: factory(s), share_s)
            self._driver_of[s.id] = self._drivers[key]
        self._threads: list[threading.Thread] = []
        self._last_raw_binary: dict[str, tuple[float, float]] = {}

    @property
    def clock_jumps(self) -> int:
        """How many times the wall clock jumped backwards."""
        return self.clock.jumps

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start one worker per sensor (and the raw writer); returns at once."""
        if self.raw is not None:
            self.raw.start()
        for s in self.specs:
            t = threading.Thread(target=self._worker, args=(s,), name=f"sensor-{s.id}", daemon=True)
            t.start()
            self._threads.append(t)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the workers (after ``stop`` is set), close drivers, flush raw lines."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        for d in self._drivers.values():
            d.close()
        if self.raw is not None:
            self.raw.stop()

    def run(self) -> None:
        """Sample until ``stop``: start workers, close windows and write the status file
        periodically; at the end close every complete window."""
        self.start()
        next_status = 0.0
        try:
            while not self.stop.wait(min(self.close_every_s, self.status_every_s)):
                if self.close_windows:
                    self.engine.close_until(self.clock.now())
                if time.monotonic() >= next_status:
                    self.write_status()
                    next_status = time.monotonic() + self.status_every_s
        finally:
            self.join(timeout=10.0)
            if self.close_windows:
                self.engine.close_until(self.clock.now())
            self.write_status()

    # -- one sensor ------------------------------------------------------------------
    def _worker(self, spec: SensorSpec) -> None:
        interval = spec.interval_s
        t0 = time.monotonic()
        k = 0
        fails = 0
        while not self.stop.is_set():
            delay = t0 + k * interval - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                return
            if self.sample_once(spec):
                fails = 0
                self.state[spec.id].backoff_s = 0.0
                k = max(k + 1, math.ceil((time.monotonic() - t0) / interval))
            else:
                fails += 1
                backoff = min(self.base_backoff_s * 2 ** (fails - 1), self.max_backoff_s)
                self.state[spec.id].backoff_s = backoff
                if self.stop.wait(backoff):
                    return
                k = math.ceil((time.monotonic() - t0) / interval)

    def sample_once(self, spec: SensorSpec) -> bool:
        """Read ``spec`` once and feed the reading (or the error). True on success."""
        st = self.state[spec.id]
        try:
            drv = self._driver_of[spec.id]
            m = drv.read(spec.id)
            activity = drv.take_activity() if spec.binary else None
            t = self.clock.now()
            mono = time.monotonic()
            if spec.quantity not in m:
                raise SensorError(
                    f"driver {spec.driver!r} gave no {spec.quantity!r} (it gave {', '.join(m)})"
                )
            value = float(m[spec.quantity])
            if (spec.lo is not None and value < spec.lo) or (
                spec.hi is not None and value > spec.hi
            ):
                raise OutOfRangeError(
                    f"{value:g} {spec.unit} outside the configured range {spec.lo}..{spec.hi}"
                )
        except Exception as e:  # noqa: BLE001 - a sensor error is never fatal
            self._record_error(spec, st, e)
            return False
        if activity is not None:
            self._add_edges(spec, activity, t, mono)
        self.engine.add(Reading(spec.id, t, value, spec.quantity, spec.unit))
        self._raw(spec, t, value)
        st.reads += 1
        st.consecutive_errors = 0
        st.last_value, st.last_t = value, t.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self._stuck[spec.id].update(value, time.monotonic()):
            st.stuck, st.stuck_since = True, st.last_t
            log.warning(
                "sensor %s looks stuck: %g %s unchanged for %.1f h",
                spec.id,
                value,
                spec.unit,
                spec.stuck_after_s / 3600,
            )
        elif not self._stuck[spec.id].stuck:
            st.stuck, st.stuck_since = False, None
        return True

    def _add_edges(self, spec: SensorSpec, activity: Activity, t: datetime, mono: float) -> None:
        """Feed each recorded edge as a reading at its wall time ``t − (mono − edge)``."""
        for te, on in activity.edges:
            te_wall = t - timedelta(seconds=max(0.0, mono - te))
            value = 1.0 if on else 0.0
            self.engine.add(Reading(spec.id, te_wall, value, spec.quantity, spec.unit))
            self._raw(spec, te_wall, value)

    def _record_error(self, spec: SensorSpec, st: SensorState, e: Exception) -> None:
        t = self.clock.now()
        msg = str(e) if isinstance(e, SensorError | OSError) else f"{type(e).__name__}: {e}"
        st.errors += 1
        st.consecutive_errors += 1
        st.last_error = msg
        self.engine.add_error(spec.id, t)
        if self.raw is not None:
            self.raw.put(spec.id, t, error=msg)
        n = st.consecutive_errors
        if n & (n - 1) == 0:  # log the 1st, 2nd, 4th, 8th… failure in a row
            log.warning("sensor %s: read failed (%d in a row): %s", spec.id, n, msg)

    def _raw(self, spec: SensorSpec, t: datetime, value: float) -> None:
        if self.raw is None:
            return
        if spec.binary:  # binary sensors polled every second: keep changes + one a minute
            prev = self._last_raw_binary.get(spec.id)
            ts = t.timestamp()
            if prev is not None and prev[1] == value and ts - prev[0] < 60:
                return
            self._last_raw_binary[spec.id] = (ts, value)
        self.raw.put(spec.id, t, value)

    # -- status ----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Snapshot: per-sensor state, clock jumps, dropped raw lines, open windows."""
        return {
            "updated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sensors": {k: asdict(v) for k, v in self.state.items()},
            "clock_jumps": self.clock.jumps,
            "raw_dropped": self.raw.dropped if self.raw else 0,
            "pending_windows": self.engine.pending_count(),
        }

    def write_status(self) -> None:
        """Write the snapshot to ``local-cache/sensors-status.json`` (for ``vault sensors``)."""
        try:
            atomic_write_text(
                self.vault.cache_dir() / STATUS_FILE,
                json.dumps(self.status(), indent=1, ensure_ascii=False) + "\n",
            )
        except OSError as e:
            log.warning("cannot write sensor status: %s", e)
