"""ROHM BH1750FVI ambient light sensor over I2C.

Source: ROHM, *Digital 16bit Serial Output Type Ambient Light Sensor IC BH1750FVI*
datasheet (2011.11, rev. D):

* p.5 instruction set: Power On 0x01, One Time H-Resolution Mode 0x20 (the chip
  powers down after the measurement).
* p.2 electrical characteristics: H-resolution measurement time typ. 120 ms, max 180 ms.
* p.7 / p.11 measurement sequence: illuminance (lx) = 16-bit result / 1.2 (at the default
  MTreg of 69); e.g. 0x8390 → 28067 lx.
"""

from __future__ import annotations

from ..base import Measurement
from .bus import I2CChip, bus_errors, read_bytes

POWER_ON = 0x01
ONE_TIME_H_RES = 0x20
MEASURE_TIME_S = 0.18


def lux(raw: int) -> float:
    """The 16-bit result → illuminance in lx (datasheet p.11: raw / 1.2)."""
    return raw / 1.2


class BH1750(I2CChip):
    """A BH1750 at ``address`` (0x23 with ADDR low, 0x5C high).

    Raises (from ``read``): BusError.
    """

    quantities = ("illuminance",)

    default_address = 0x23

    def read(self) -> Measurement:
        """One H-resolution measurement: illuminance in lx (0…54612)."""
        a = self.address
        with bus_errors("BH1750", a):
            self.bus.write_byte(a, POWER_ON)
            self.bus.write_byte(a, ONE_TIME_H_RES)
            self._sleep(MEASURE_TIME_S)
            d = read_bytes(self.bus, a, 2)
        return {"illuminance": lux((d[0] << 8) | d[1])}
