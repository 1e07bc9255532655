"""A fake ``smbus2.SMBus`` serving register contents at the bus boundary.

Register-mapped chips (BME280) are a 256-byte register file; command-driven chips
(SHT31, BH1750) answer plain reads with queued bytes. ``fail`` makes every transfer
raise the OSError a real kernel driver raises (errno 121, Remote I/O error, when no
chip acknowledges).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from dataclasses import dataclass, field


@dataclass
class FakeChip:
    """One chip: ``regs`` for register reads/writes, ``replies`` for plain reads."""

    regs: bytearray = field(default_factory=lambda: bytearray(256))
    replies: list[bytes] = field(default_factory=list)
    writes: list[bytes] = field(default_factory=list)

    def set_regs(self, start: int, data: bytes) -> None:
        """Store ``data`` from register ``start`` on."""
        self.regs[start : start + len(data)] = data


class FakeSMBus:
    """Enough of smbus2.SMBus for the drivers: chips by 7-bit address."""

    def __init__(self, chips: dict[int, FakeChip] | None = None) -> None:
        self.chips = chips or {}
        self.fail: OSError | None = None
        self.closed = False

    def _chip(self, addr: int) -> FakeChip:
        if self.fail is not None:
            raise self.fail
        if addr not in self.chips:
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        return self.chips[addr]

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        return self._chip(i2c_addr).regs[register]

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        chip = self._chip(i2c_addr)
        chip.regs[register] = value
        chip.writes.append(bytes([register, value]))

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        return list(self._chip(i2c_addr).regs[register : register + length])

    def write_byte(self, i2c_addr: int, value: int) -> None:
        self._chip(i2c_addr).writes.append(bytes([value]))

    def i2c_rdwr(self, *msgs) -> None:
        for m in msgs:
            chip = self._chip(m.addr)
            if m.flags & 0x0001:  # I2C_M_RD
                data = chip.replies.pop(0) if chip.replies else b"\xff" * m.len
                ctypes.memmove(m.buf, data[: m.len], min(len(data), m.len))
            else:
                chip.writes.append(bytes(m))

    def close(self) -> None:
        self.closed = True


# BMP280 datasheet §3.12 worked example (the BME280 uses the same T/P formulas).
BMP280_EXAMPLE_TP = dict(
    T1=27504,
    T2=26435,
    T3=-1000,
    P1=36477,
    P2=-10685,
    P3=3024,
    P4=2855,
    P5=140,
    P6=-7,
    P7=15500,
    P8=-14600,
    P9=6000,
)
BMP280_EXAMPLE_ADC_T, BMP280_EXAMPLE_ADC_P = 519888, 415148
# Humidity trimming values of a real BME280 (as read from a breakout board).
REAL_H = dict(H1=75, H2=362, H3=0, H4=313, H5=50, H6=30)


def bme280_chip(
    tp: dict[str, int] = BMP280_EXAMPLE_TP,
    h: dict[str, int] = REAL_H,
    adc_t: int = BMP280_EXAMPLE_ADC_T,
    adc_p: int = BMP280_EXAMPLE_ADC_P,
    adc_h: int = 30000,
    chip_id: int = 0x60,
) -> FakeChip:
    """A BME280 register file holding trimming values and one finished measurement."""
    chip = FakeChip()
    chip.regs[0xD0] = chip_id
    chip.set_regs(
        0x88,
        struct.pack(
            "<HhhHhhhhhhhh",
            tp["T1"],
            tp["T2"],
            tp["T3"],
            tp["P1"],
            tp["P2"],
            tp["P3"],
            tp["P4"],
            tp["P5"],
            tp["P6"],
            tp["P7"],
            tp["P8"],
            tp["P9"],
        ),
    )
    chip.regs[0xA1] = h["H1"]
    h4, h5 = h["H4"] & 0xFFF, h["H5"] & 0xFFF
    chip.set_regs(
        0xE1,
        struct.pack("<hB", h["H2"], h["H3"])
        + bytes([h4 >> 4, (h4 & 0x0F) | ((h5 & 0x0F) << 4), h5 >> 4])
        + struct.pack("<b", h["H6"]),
    )
    set_bme280_adc(chip, adc_t, adc_p, adc_h)
    return chip


def set_bme280_adc(chip: FakeChip, adc_t: int, adc_p: int, adc_h: int) -> None:
    """Store raw 20/20/16-bit results at 0xF7..0xFE (press, temp, hum)."""
    chip.set_regs(
        0xF7,
        bytes(
            [
                adc_p >> 12,
                (adc_p >> 4) & 0xFF,
                (adc_p & 0x0F) << 4,
                adc_t >> 12,
                (adc_t >> 4) & 0xFF,
                (adc_t & 0x0F) << 4,
                adc_h >> 8,
                adc_h & 0xFF,
            ]
        ),
    )
