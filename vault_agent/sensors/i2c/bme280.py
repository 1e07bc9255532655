"""Bosch BME280 temperature / humidity / pressure sensor over I2C.

Source: Bosch Sensortec, *BME280 Combined humidity and pressure sensor*, datasheet
BST-BME280-DS002 (rev. 1.6, 2018):

* §5.4 memory map: chip id 0xD0 = 0x60; ``ctrl_hum`` 0xF2, ``status`` 0xF3 (bit 3
  ``measuring``), ``ctrl_meas`` 0xF4; data 0xF7–0xFE (press 20 bit, temp 20 bit, hum 16 bit).
* §4.2.2 Table 16 trimming parameters: 0x88–0xA1 (dig_T1…dig_P9, dig_H1) and 0xE1–0xE7
  (dig_H2…dig_H6, with H4/H5 as signed 12-bit values packed across 0xE4–0xE6).
* §4.2.3 / §8.2 compensation formulas in fixed point: temperature (32-bit, 0.01 °C),
  pressure (64-bit, Pa in Q24.8), humidity (32-bit, %RH in Q22.10) — implemented here
  exactly, with C's truncating division.
* §3.3 forced mode: write ``ctrl_hum`` then ``ctrl_meas`` (mode 01), wait while
  ``measuring``; with ×1 oversampling a measurement takes at most 9.3 ms (§9.1).
* §1 operating range: −40…85 °C, 0…100 %RH, 300…1100 hPa; outside it a value is a
  fault and raises :class:`~vault_agent.sensors.base.OutOfRangeError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..base import BusError, Measurement, SensorError, check_range
from .bus import I2CChip, bus_errors

CHIP_ID_REG, CHIP_ID = 0xD0, 0x60
CTRL_HUM, STATUS, CTRL_MEAS, DATA = 0xF2, 0xF3, 0xF4, 0xF7
CALIB_TP, CALIB_H1, CALIB_H = 0x88, 0xA1, 0xE1
OSRS_X1 = 0b001
MODE_FORCED = 0b01
MEASURING_BIT = 0x08
MAX_WAIT_S = 0.1
TEMP_RANGE, HUM_RANGE, PRESS_RANGE = (-40.0, 85.0), (0.0, 100.0), (300.0, 1100.0)


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _s12(v: int) -> int:
    return v - 4096 if v & 0x800 else v


@dataclass(frozen=True)
class Calibration:
    """The chip's trimming parameters (datasheet §4.2.2, Table 16)."""

    T1: int
    T2: int
    T3: int
    P1: int
    P2: int
    P3: int
    P4: int
    P5: int
    P6: int
    P7: int
    P8: int
    P9: int
    H1: int
    H2: int
    H3: int
    H4: int
    H5: int
    H6: int

    @classmethod
    def from_registers(cls, tp: bytes, h1: int, h: bytes) -> Calibration:
        """Decode 24 bytes at 0x88, the byte at 0xA1 and 7 bytes at 0xE1."""
        t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9 = struct.unpack("<HhhHhhhhhhhh", tp)
        h2 = struct.unpack("<h", h[0:2])[0]
        h3 = h[2]
        h4 = _s12((h[3] << 4) | (h[4] & 0x0F))
        h5 = _s12((h[5] << 4) | (h[4] >> 4))
        h6 = struct.unpack("<b", h[6:7])[0]
        return cls(t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9, h1, h2, h3, h4, h5, h6)


def compensate_temperature(adc_t: int, c: Calibration) -> tuple[int, int]:
    """BME280_compensate_T_int32 (§4.2.3): returns (T in 0.01 °C, t_fine)."""
    var1 = (((adc_t >> 3) - (c.T1 << 1)) * c.T2) >> 11
    var2 = (((((adc_t >> 4) - c.T1) * ((adc_t >> 4) - c.T1)) >> 12) * c.T3) >> 14
    t_fine = var1 + var2
    return (t_fine * 5 + 128) >> 8, t_fine


def compensate_pressure(adc_p: int, t_fine: int, c: Calibration) -> int:
    """BME280_compensate_P_int64 (§4.2.3): pressure in Pa as Q24.8 (÷256 for Pa); 0 if invalid."""
    var1 = t_fine - 128000
    var2 = var1 * var1 * c.P6
    var2 = var2 + ((var1 * c.P5) << 17)
    var2 = var2 + (c.P4 << 35)
    var1 = ((var1 * var1 * c.P3) >> 8) + ((var1 * c.P2) << 12)
    var1 = (((1 << 47) + var1) * c.P1) >> 33
    if var1 == 0:
        return 0  # avoid division by zero (as the datasheet does)
    p = 1048576 - adc_p
    p = _cdiv(((p << 31) - var2) * 3125, var1)
    var1 = (c.P9 * (p >> 13) * (p >> 13)) >> 25
    var2 = (c.P8 * p) >> 19
    return ((p + var1 + var2) >> 8) + (c.P7 << 4)


def compensate_humidity(adc_h: int, t_fine: int, c: Calibration) -> int:
    """bme280_compensate_H_int32 (§4.2.3): relative humidity in %RH as Q22.10 (÷1024)."""
    v = t_fine - 76800
    v = ((((adc_h << 14) - (c.H4 << 20) - (c.H5 * v)) + 16384) >> 15) * (
        ((((((v * c.H6) >> 10) * (((v * c.H3) >> 11) + 32768)) >> 10) + 2097152) * c.H2 + 8192)
        >> 14
    )
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * c.H1) >> 4)
    v = min(max(v, 0), 419430400)
    return v >> 12


def compensate(adc_t: int, adc_p: int, adc_h: int, c: Calibration) -> dict[str, float]:
    """Raw ADC values → {temperature °C, pressure hPa, humidity %RH} (integer formulas)."""
    t, t_fine = compensate_temperature(adc_t, c)
    p = compensate_pressure(adc_p, t_fine, c)
    h = compensate_humidity(adc_h, t_fine, c)
    return {"temperature": t / 100.0, "pressure": p / 256.0 / 100.0, "humidity": h / 1024.0}


class BME280(I2CChip):
    """A BME280 at ``address`` (0x76 with SDO low, 0x77 high) read in forced mode.

    Args:
        bus: an open SMBus (or a test double).
        address: 7-bit I2C address.
        sleep: how to wait for the conversion (seconds), for tests.
    Raises (from ``read``):
        BusError (I2C failure, wrong chip id), OutOfRangeError, SensorError (skipped value).
    """

    quantities = ("temperature", "humidity", "pressure")

    default_address = 0x76
    _calib: Calibration | None = None  # read from the chip on first use

    def _calibration(self) -> Calibration:
        if self._calib is None:
            a = self.address
            with bus_errors("BME280", a):
                chip = self.bus.read_byte_data(a, CHIP_ID_REG)
                if chip != CHIP_ID:
                    raise BusError(
                        f"BME280 at {a:#04x}: chip id {chip:#04x}, expected 0x60 "
                        "(a BMP280 is 0x58 and has no humidity)"
                    )
                tp = bytes(self.bus.read_i2c_block_data(a, CALIB_TP, 24))
                h1 = self.bus.read_byte_data(a, CALIB_H1)
                h = bytes(self.bus.read_i2c_block_data(a, CALIB_H, 7))
            self._calib = Calibration.from_registers(tp, h1, h)
        return self._calib

    def read_raw(self) -> tuple[int, int, int]:
        """Trigger one forced measurement; returns (adc_T, adc_P, adc_H)."""
        a = self.address
        with bus_errors("BME280", a):
            self.bus.write_byte_data(a, CTRL_HUM, OSRS_X1)
            self.bus.write_byte_data(a, CTRL_MEAS, (OSRS_X1 << 5) | (OSRS_X1 << 2) | MODE_FORCED)
            waited = 0.0
            self._sleep(0.01)
            while self.bus.read_byte_data(a, STATUS) & MEASURING_BIT:
                waited += 0.005
                if waited > MAX_WAIT_S:
                    raise BusError(
                        f"BME280 at {a:#04x}: measurement did not finish in "
                        f"{MAX_WAIT_S * 1000:.0f} ms"
                    )
                self._sleep(0.005)
            d = self.bus.read_i2c_block_data(a, DATA, 8)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        adc_h = (d[6] << 8) | d[7]
        if adc_t == 0x80000 or adc_p == 0x80000 or adc_h == 0x8000:
            raise SensorError(f"BME280 at {a:#04x}: measurement skipped (reset values read)")
        return adc_t, adc_p, adc_h

    def read(self) -> Measurement:
        """One forced measurement: temperature °C, humidity %RH, pressure hPa.

        Raises:
            BusError, OutOfRangeError (outside −40…85 °C, 0…100 %RH, 300…1100 hPa).
        """
        calib = self._calibration()
        values = compensate(*self.read_raw(), calib)
        src = f"BME280 at {self.address:#04x}"
        check_range("temperature", values["temperature"], *TEMP_RANGE, src)
        check_range("humidity", values["humidity"], *HUM_RANGE, src)
        check_range("pressure", values["pressure"], *PRESS_RANGE, src)
        return values
