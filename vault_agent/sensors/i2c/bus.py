"""The small part of ``smbus2.SMBus`` the drivers use, and how errors become typed.

Drivers take any object with these methods, so tests hand them a fake bus that
serves register contents (``tests/support/fake_smbus.py``) at the process boundary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from ..base import BusError


class I2CBus(Protocol):
    """The subset of :class:`smbus2.SMBus` the drivers call."""

    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def write_byte(self, i2c_addr: int, value: int) -> None: ...

    def i2c_rdwr(self, *msgs: Any) -> None: ...

    def close(self) -> None: ...


class I2CChip:
    """What every I2C driver shares: the bus, the 7-bit address, a sleep for
    conversion times (replaceable in tests) and closing a bus it opened itself.

    Args:
        bus: an open SMBus (or a test double at the bus boundary).
        address: 7-bit I2C address; subclasses set their datasheet default.
        sleep: how to wait for a conversion, seconds.
        own_bus: close ``bus`` in :meth:`close` (the driver opened it).
    """

    default_address = 0

    def __init__(
        self,
        bus: I2CBus,
        address: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        own_bus: bool = False,
    ) -> None:
        self.bus, self._sleep, self.own_bus = bus, sleep, own_bus
        self.address = self.default_address if address is None else address

    def close(self) -> None:
        """Close the bus if this driver opened it (``own_bus``)."""
        if self.own_bus:
            self.bus.close()


def open_bus(number: int) -> I2CBus:
    """Open ``/dev/i2c-<number>`` with smbus2.

    Raises:
        BusError: no such bus (I2C not enabled, wrong number) or no permission.
    """
    from smbus2 import SMBus

    try:
        return SMBus(number)
    except (OSError, FileNotFoundError) as e:
        raise BusError(
            f"cannot open I2C bus {number} (/dev/i2c-{number}): {e.strerror or e}; "
            "is I2C enabled (raspi-config) and are you in the i2c group?"
        ) from e


@contextmanager
def bus_errors(chip: str, address: int) -> Iterator[None]:
    """Turn an OSError from the kernel I2C driver into a :class:`BusError` naming the chip."""
    try:
        yield
    except OSError as e:
        reason = e.strerror or str(e)
        raise BusError(f"{chip} at {address:#04x}: I2C transfer failed: {reason}") from e


def read_bytes(bus: I2CBus, address: int, length: int) -> bytes:
    """A plain I2C read of ``length`` bytes (no register/command byte first)."""
    from smbus2 import i2c_msg

    msg = i2c_msg.read(address, length)
    bus.i2c_rdwr(msg)
    return bytes(msg)


def write_bytes(bus: I2CBus, address: int, data: bytes) -> None:
    """A plain I2C write of ``data`` (for chips driven by command words)."""
    from smbus2 import i2c_msg

    bus.i2c_rdwr(i2c_msg.write(address, data))
