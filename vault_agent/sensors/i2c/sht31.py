"""Sensirion SHT31 temperature / humidity sensor over I2C.

Source: Sensirion, *Datasheet SHT3x-DIS* (version 6, 2019):

* §4.3 Table 9: single-shot measurement, high repeatability, clock stretching disabled
  = command 0x2400; duration at most 15.5 ms (Table 4).
* §4.4: the result is 6 bytes: temperature MSB, LSB, CRC, humidity MSB, LSB, CRC.
* §4.12 Table 19 checksum: CRC-8, polynomial 0x31 (x^8 + x^5 + x^4 + 1), init 0xFF,
  no reflection, final XOR 0x00; example CRC(0xBEEF) = 0x92.
* §4.13 conversion: T = −45 + 175 · S_T / (2^16 − 1) °C; RH = 100 · S_RH / (2^16 − 1) %.
* Table 1: temperature range −40…125 °C.
"""

from __future__ import annotations

from ..base import CRCError, Measurement, check_range
from .bus import I2CChip, bus_errors, read_bytes, write_bytes

MEASURE_HIGH_NO_STRETCH = bytes([0x24, 0x00])
MEASURE_TIME_S = 0.0155
TEMP_RANGE = (-40.0, 125.0)


def crc8(data: bytes) -> int:
    """Sensirion CRC-8 (§4.12): poly 0x31, init 0xFF, final XOR 0."""
    crc = 0xFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def convert(raw_t: int, raw_rh: int) -> dict[str, float]:
    """Raw 16-bit words → {temperature °C, humidity %RH} (§4.13)."""
    return {"temperature": -45.0 + 175.0 * raw_t / 65535.0, "humidity": 100.0 * raw_rh / 65535.0}


class SHT31(I2CChip):
    """An SHT31 at ``address`` (0x44 with ADDR low, 0x45 high), read in single-shot mode.

    Raises (from ``read``): BusError, CRCError, OutOfRangeError.
    """

    quantities = ("temperature", "humidity")

    default_address = 0x44

    def read(self) -> Measurement:
        """One measurement: temperature °C, humidity %RH, each word CRC-checked."""
        a = self.address
        with bus_errors("SHT31", a):
            write_bytes(self.bus, a, MEASURE_HIGH_NO_STRETCH)
            self._sleep(MEASURE_TIME_S)
            d = read_bytes(self.bus, a, 6)
        for name, word, crc in (("temperature", d[0:2], d[2]), ("humidity", d[3:5], d[5])):
            if crc8(word) != crc:
                raise CRCError(
                    f"SHT31 at {a:#04x}: {name} CRC mismatch "
                    f"(data {word.hex()}, crc {crc:#04x}, expected {crc8(word):#04x})"
                )
        values = convert((d[0] << 8) | d[1], (d[3] << 8) | d[4])
        check_range("temperature", values["temperature"], *TEMP_RANGE, f"SHT31 at {a:#04x}")
        return values
