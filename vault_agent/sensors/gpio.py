"""GPIO sensors through gpiozero: PIR motion, door contact, button, HC-SR04 distance,
MCP3008 ADC channel, the SoC's CPU temperature.

The pin factory is gpiozero's own choice: ``GPIOZERO_PIN_FACTORY`` (lgpio, rpigpio,
pigpio, native, mock) or its default probe order; nothing here overrides it. Tests set
``gpiozero.Device.pin_factory = MockFactory()`` and drive the mock pins.

Binary values are 1.0 (on: motion seen, door open, button pressed) or 0.0.
Binary inputs are also event-driven: gpiozero's ``when_activated`` /
``when_deactivated`` callbacks record every edge with its ``time.monotonic()`` time,
and each :meth:`~_EdgeInput.read` hands the edges since the previous read over as an
:class:`Activity` (:meth:`~_EdgeInput.take_activity`), so a pulse shorter than the
poll interval is not lost.
Any gpiozero or OS failure becomes a :class:`~vault_agent.sensors.base.BusError`.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .base import BusError, Measurement, check_range

CPU_TEMP_RANGE = (-40.0, 125.0)
MAX_EDGES = 10_000  # edges kept between two reads (a bouncing contact without bounce_time)


@contextmanager
def gpio_errors(what: str) -> Iterator[None]:
    """Turn gpiozero errors (no pin factory, pin in use…) and OSError into BusError.

    gpiozero's PinFactoryFallback warnings (one per library it probes) are silenced:
    when none works, the BadPinFactory error says so, with a hint.
    """
    from gpiozero import BadPinFactory, GPIOZeroError, PinFactoryFallback

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)
            yield
    except BadPinFactory as e:
        raise BusError(
            f"{what}: no GPIO pin library works here ({e}); on a Pi install "
            "lgpio (Pi 5) or RPi.GPIO, or set GPIOZERO_PIN_FACTORY"
        ) from e
    except (GPIOZeroError, OSError, RuntimeError) as e:
        raise BusError(f"{what}: {type(e).__name__}: {e}") from e


class _GpioDevice:
    """Common part: build the gpiozero device lazily, close it, map errors."""

    quantities: tuple[str, ...] = ()

    def __init__(self, label: str, build: Callable[[], Any]) -> None:
        self._label = label
        self._build = build
        self._device: Any = None

    @property
    def device(self) -> Any:
        """The gpiozero device (built on first use, so a missing pin is a read error)."""
        if self._device is None:
            with gpio_errors(self._label):
                self._device = self._build()
        return self._device

    def close(self) -> None:
        """Release the pins."""
        if self._device is not None:
            self._device.close()
            self._device = None


@dataclass(frozen=True, slots=True)
class Activity:
    """What a binary input did between two reads, from its edge callbacks.

    Attributes:
        start: ``time.monotonic()`` of the previous read (or of attaching), seconds.
        end: ``time.monotonic()`` of this read, seconds.
        on_at_start: the state at ``start`` (True: on).
        edges: ``(monotonic time, on after the edge)`` in order; states alternate.
    """

    start: float
    end: float
    on_at_start: bool
    edges: tuple[tuple[float, bool], ...] = ()

    @property
    def activations(self) -> int:
        """Number of off→on edges."""
        return sum(1 for _, on in self.edges if on)

    @property
    def active_s(self) -> float:
        """Seconds on between ``start`` and ``end``."""
        on, t, total = self.on_at_start, self.start, 0.0
        for te, now_on in self.edges:
            if on:
                total += max(0.0, te - t)
            on, t = now_on, max(t, te)
        return total + (max(0.0, self.end - t) if on else 0.0)

    @property
    def fraction(self) -> float:
        """Fraction of ``[start, end]`` spent on (0…1; 0 for an empty span)."""
        span = self.end - self.start
        return min(1.0, self.active_s / span) if span > 0 else 0.0


class _EdgeInput(_GpioDevice):
    """A binary input whose edges gpiozero's ``when_activated``/``when_deactivated``
    callbacks record; ``invert`` maps the device's active state to "off" (door shut).

    Thread-safe: callbacks run in gpiozero's thread (pin interrupts, or the sampling
    thread of a smoothed device), reads in the sampler's worker; one lock guards both.
    At most :data:`MAX_EDGES` edges are kept between two reads.
    """

    def __init__(self, label: str, build: Callable[[], Any], invert: bool = False) -> None:
        super().__init__(label, lambda: self._attach(build()))
        self._invert = invert
        self._lock = threading.Lock()
        self._on = False
        self._since = 0.0
        self._on_at_since = False
        self._edges: list[tuple[float, bool]] = []
        self._taken: Activity | None = None

    def _attach(self, dev: Any) -> Any:
        with self._lock:
            self._on = self._on_at_since = bool(dev.is_active) != self._invert
            self._since = time.monotonic()
            self._edges = []
        dev.when_activated = self._activated
        dev.when_deactivated = self._deactivated
        return dev

    def _activated(self) -> None:
        self._edge(not self._invert)

    def _deactivated(self) -> None:
        self._edge(self._invert)

    def _edge(self, on: bool) -> None:
        with self._lock:
            if on != self._on:
                self._on = on
                if len(self._edges) < MAX_EDGES:
                    self._edges.append((time.monotonic(), on))

    def _read_on(self) -> bool:
        """The state now; the edges since the last read become the next :class:`Activity`."""
        with gpio_errors(self._label):
            dev = self.device
            with self._lock:  # state and edges taken together: they never disagree
                on = bool(dev.is_active) != self._invert
                now = time.monotonic()
                self._taken = Activity(self._since, now, self._on_at_since, tuple(self._edges))
                self._edges.clear()
                self._since, self._on_at_since = now, self._on
        return on

    def take_activity(self) -> Activity | None:
        """The edges between the last two reads (once; None before a read or when taken)."""
        with self._lock:
            taken, self._taken = self._taken, None
            return taken

    def close(self) -> None:
        """Detach the callbacks, then release the pins."""
        if self._device is not None:
            self._device.when_activated = None
            self._device.when_deactivated = None
        super().close()


class MotionDriver(_EdgeInput):
    """PIR motion sensor on ``pin``: ``motion`` 1.0/0.0.

    With ``queue_len`` 1 (default) the pin is a ``gpiozero.DigitalInputDevice``: its
    edges come from pin interrupts, so a pulse of a few ms is recorded. With
    ``queue_len`` > 1 it is a ``gpiozero.MotionSensor``, which smooths ``queue_len``
    samples taken at 10 Hz against ``threshold``: pulses shorter than that window are
    filtered out, by design.
    """

    quantities = ("motion",)

    def __init__(
        self,
        pin: int | str,
        pull_up: bool | None = False,
        queue_len: int = 1,
        threshold: float = 0.5,
    ) -> None:
        from gpiozero import DigitalInputDevice, MotionSensor

        super().__init__(
            f"motion sensor on {pin}",
            lambda: (
                MotionSensor(pin, pull_up=pull_up, queue_len=queue_len, threshold=threshold)
                if queue_len > 1
                else DigitalInputDevice(pin, pull_up=pull_up)
            ),
        )

    def read(self) -> Measurement:
        """Whether motion is detected now."""
        return {"motion": float(self._read_on())}


class ContactDriver(_EdgeInput):
    """Door/window reed contact or push button (``gpiozero.Button``) on ``pin``.

    A reed contact closes (``is_pressed``) when the magnet is near, i.e. the door is
    shut; with ``open_is_on`` (door) the value is 1.0 when the door is open.
    """

    def __init__(
        self,
        pin: int | str,
        quantity: str = "door",
        pull_up: bool = True,
        bounce_time: float | None = None,
        open_is_on: bool = True,
    ) -> None:
        from gpiozero import Button

        self.quantities = (quantity,)
        super().__init__(
            f"{quantity} contact on {pin}",
            lambda: Button(pin, pull_up=pull_up, bounce_time=bounce_time),
            invert=open_is_on and quantity == "door",
        )

    def read(self) -> Measurement:
        """1.0 when the door is open (or the button pressed), else 0.0."""
        return {self.quantities[0]: float(self._read_on())}


class DistanceDriver(_GpioDevice):
    """HC-SR04 ultrasonic sensor (``gpiozero.DistanceSensor``): ``distance`` in m."""

    quantities = ("distance",)

    def __init__(self, echo: int | str, trigger: int | str, max_distance: float = 1.0) -> None:
        from gpiozero import DistanceSensor

        super().__init__(
            f"distance sensor echo {echo} trigger {trigger}",
            lambda: DistanceSensor(
                echo=echo, trigger=trigger, max_distance=max_distance, partial=True
            ),
        )

    def read(self) -> Measurement:
        """Distance to the nearest object in metres (capped at ``max_distance``)."""
        with gpio_errors(self._label):
            return {"distance": float(self.device.distance)}


class MCP3008Driver(_GpioDevice):
    """One MCP3008 ADC channel (SPI): value = channel fraction × vref × scale + offset.

    With the defaults (vref 3.3, scale 1, offset 0) the value is the voltage in V; a
    light/soil/sound sensor sets ``quantity``, ``unit``, ``scale`` and ``offset``.
    """

    def __init__(
        self,
        channel: int,
        quantity: str = "voltage",
        vref: float = 3.3,
        scale: float = 1.0,
        offset: float = 0.0,
        select_pin: int | str | None = None,
        port: int | None = None,
        device: int | None = None,
    ) -> None:
        from gpiozero import MCP3008

        self.quantities = (quantity,)
        self._vref, self._scale, self._offset = vref, scale, offset
        kw: dict[str, Any] = {"max_voltage": vref}
        if select_pin is not None:
            kw["select_pin"] = select_pin
        if port is not None:
            kw["port"] = port
        if device is not None:
            kw["device"] = device
        super().__init__(f"MCP3008 channel {channel}", lambda: MCP3008(channel=channel, **kw))

    def read(self) -> Measurement:
        """The scaled channel value."""
        with gpio_errors(self._label):
            frac = float(self.device.value)
        return {self.quantities[0]: frac * self._vref * self._scale + self._offset}


class CPUTemperatureDriver(_GpioDevice):
    """The SoC temperature (``gpiozero.CPUTemperature``, from ``sensor_file``) in °C."""

    quantities = ("temperature",)

    def __init__(self, sensor_file: str = "/sys/class/thermal/thermal_zone0/temp") -> None:
        from gpiozero import CPUTemperature

        super().__init__(
            f"CPU temperature ({sensor_file})", lambda: CPUTemperature(sensor_file=sensor_file)
        )

    def read(self) -> Measurement:
        """CPU temperature in °C (range −40…125)."""
        with gpio_errors(self._label):
            t = float(self.device.temperature)
        return {"temperature": check_range("temperature", t, *CPU_TEMP_RANGE, self._label)}
