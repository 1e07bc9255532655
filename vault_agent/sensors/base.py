"""The sensor value type, the driver Protocol and the typed errors every driver raises.

A driver reads its hardware once and returns a :class:`Measurement`: a mapping of
quantity name (``"temperature"``, ``"humidity"``…) to a float in the quantity's unit.
One chip can serve several quantities (a BME280 gives temperature, humidity and
pressure); each ``[[sensors]]`` entry in node.toml picks one of them, so a sensor id is
always one quantity with one unit. Failures are raised as :class:`SensorError`
subclasses, never returned as special values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..errors import VaultError

Measurement = Mapping[str, float]

# Quantities that roll up as events and seconds-on instead of mean/min/max.
BINARY_QUANTITIES = frozenset({"motion", "door", "contact", "occupancy", "presence", "button"})


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one sensor at one time.

    Attributes:
        sensor: the sensor id from node.toml (``kitchen-temp``).
        t: when it was read, an aware UTC datetime.
        value: the value in ``unit`` (binary sensors: 1.0 on, 0.0 off).
        quantity: ``temperature``, ``humidity``, ``motion``…
        unit: ``°C``, ``%RH``, ``hPa``, ``lx``… (empty for binary sensors).
    """

    sensor: str
    t: datetime
    value: float
    quantity: str = ""
    unit: str = ""


class SensorError(VaultError):
    """A sensor could not be read (the sampler counts it and retries with backoff)."""


class BusError(SensorError):
    """The bus (I2C, SPI, GPIO) failed: an OSError from the kernel driver, a missing device."""


class CRCError(SensorError):
    """The data's checksum did not match (a corrupted transfer)."""


class OutOfRangeError(SensorError):
    """A value outside the sensor's physical measuring range (a fault, not a reading)."""


class SensorConfigError(SensorError):
    """A sensor entry that cannot be turned into a driver (unknown driver, bad parameter)."""


@runtime_checkable
class SensorDriver(Protocol):
    """What the sampler needs from a driver: one blocking read, then close.

    ``read`` may block for the conversion time of the chip (tens of ms); it is called in
    the sensor's own worker thread, never in the loop of another sensor.
    """

    @property
    def quantities(self) -> tuple[str, ...]:
        """The quantities ``read`` returns (read-only, so a class attribute fits)."""
        ...

    def read(self) -> Measurement:
        """Read the hardware once and return ``{quantity: value}``.

        Raises:
            SensorError: BusError, CRCError, OutOfRangeError…
        """
        ...

    def close(self) -> None:
        """Release the hardware (pins, bus handle)."""
        ...


def check_range(quantity: str, value: float, lo: float, hi: float, source: str) -> float:
    """Return ``value`` if ``lo <= value <= hi``.

    Raises:
        OutOfRangeError: naming the chip (``source``), quantity and range.
    """
    if not lo <= value <= hi:
        raise OutOfRangeError(
            f"{source}: {quantity} {value:.2f} outside the physical range {lo:g}..{hi:g}"
        )
    return value
