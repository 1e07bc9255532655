"""GPIO sensors through gpiozero: PIR motion, door contact, button, HC-SR04 distance,
MCP3008 ADC channel, the SoC's CPU temperature.

The pin factory is gpiozero's own choice: ``GPIOZERO_PIN_FACTORY`` (lgpio, rpigpio,
pigpio, native, mock) or its default probe order; nothing here overrides it. Tests set
``gpiozero.Device.pin_factory = MockFactory()`` and drive the mock pins.

Binary values are 1.0 (on: motion seen, door open, button pressed) or 0.0.
Any gpiozero or OS failure becomes a :class:`~vault_agent.sensors.base.BusError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .base import BusError, Measurement, check_range

CPU_TEMP_RANGE = (-40.0, 125.0)


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
        raise BusError(f"{what}: no GPIO pin library works here ({e}); on a Pi install "
                       "lgpio (Pi 5) or RPi.GPIO, or set GPIOZERO_PIN_FACTORY") from e
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


class MotionDriver(_GpioDevice):
    """PIR motion sensor (``gpiozero.MotionSensor``) on ``pin``: ``motion`` 1.0/0.0."""

    quantities = ("motion",)

    def __init__(self, pin: int | str, pull_up: bool | None = False, queue_len: int = 1,
                 threshold: float = 0.5) -> None:
        from gpiozero import MotionSensor
        super().__init__(f"motion sensor on {pin}", lambda: MotionSensor(
            pin, pull_up=pull_up, queue_len=queue_len, threshold=threshold))

    def read(self) -> Measurement:
        """Whether motion is detected now."""
        with gpio_errors(self._label):
            return {"motion": 1.0 if self.device.motion_detected else 0.0}


class ContactDriver(_GpioDevice):
    """Door/window reed contact or push button (``gpiozero.Button``) on ``pin``.

    A reed contact closes (``is_pressed``) when the magnet is near, i.e. the door is
    shut; with ``open_is_on`` (door) the value is 1.0 when the door is open.
    """

    def __init__(self, pin: int | str, quantity: str = "door", pull_up: bool = True,
                 bounce_time: float | None = None, open_is_on: bool = True) -> None:
        from gpiozero import Button
        self.quantities = (quantity,)
        self._invert = open_is_on and quantity == "door"
        super().__init__(f"{quantity} contact on {pin}", lambda: Button(
            pin, pull_up=pull_up, bounce_time=bounce_time))

    def read(self) -> Measurement:
        """1.0 when the door is open (or the button pressed), else 0.0."""
        with gpio_errors(self._label):
            pressed = bool(self.device.is_pressed)
        return {self.quantities[0]: float(pressed != self._invert)}


class DistanceDriver(_GpioDevice):
    """HC-SR04 ultrasonic sensor (``gpiozero.DistanceSensor``): ``distance`` in m."""

    quantities = ("distance",)

    def __init__(self, echo: int | str, trigger: int | str, max_distance: float = 1.0) -> None:
        from gpiozero import DistanceSensor
        super().__init__(f"distance sensor echo {echo} trigger {trigger}", lambda: DistanceSensor(
            echo=echo, trigger=trigger, max_distance=max_distance, partial=True))

    def read(self) -> Measurement:
        """Distance to the nearest object in metres (capped at ``max_distance``)."""
        with gpio_errors(self._label):
            return {"distance": float(self.device.distance)}


class MCP3008Driver(_GpioDevice):
    """One MCP3008 ADC channel (SPI): value = channel fraction × vref × scale + offset.

    With the defaults (vref 3.3, scale 1, offset 0) the value is the voltage in V; a
    light/soil/sound sensor sets ``quantity``, ``unit``, ``scale`` and ``offset``.
    """

    def __init__(self, channel: int, quantity: str = "voltage", vref: float = 3.3,
                 scale: float = 1.0, offset: float = 0.0, select_pin: int | str | None = None,
                 port: int | None = None, device: int | None = None) -> None:
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
        super().__init__(f"CPU temperature ({sensor_file})",
                         lambda: CPUTemperature(sensor_file=sensor_file))

    def read(self) -> Measurement:
        """CPU temperature in °C (range −40…125)."""
        with gpio_errors(self._label):
            t = float(self.device.temperature)
        return {"temperature": check_range("temperature", t, *CPU_TEMP_RANGE, self._label)}
