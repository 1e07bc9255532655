"""I2C drivers against a fake SMBus holding datasheet register values."""

from __future__ import annotations

import errno
import os

import pytest

from tests.support.fake_smbus import (
    BMP280_EXAMPLE_ADC_P,
    BMP280_EXAMPLE_ADC_T,
    REAL_H,
    FakeChip,
    FakeSMBus,
    bme280_chip,
    set_bme280_adc,
)
from vault_agent.sensors.base import BusError, CRCError, OutOfRangeError, SensorDriver
from vault_agent.sensors.i2c.bh1750 import BH1750
from vault_agent.sensors.i2c.bme280 import BME280
from vault_agent.sensors.i2c.sht31 import SHT31, crc8


def no_sleep(_s: float) -> None:
    return None


def float_humidity(adc_h: int, t_fine: float, h: dict[str, int]) -> float:
    """BME280 datasheet §8.1 double-precision humidity formula, written independently."""
    var_h = t_fine - 76800.0
    var_h = (adc_h - (h["H4"] * 64.0 + h["H5"] / 16384.0 * var_h)) * (
        h["H2"]
        / 65536.0
        * (1.0 + h["H6"] / 67108864.0 * var_h * (1.0 + h["H3"] / 67108864.0 * var_h))
    )
    var_h = var_h * (1.0 - h["H1"] * var_h / 524288.0)
    return min(max(var_h, 0.0), 100.0)


# -- BME280 ---------------------------------------------------------------------------
def test_bme280_matches_datasheet_worked_example():
    """BMP280 datasheet §3.12: adc_T 519888, adc_P 415148 → 25.08 °C, 100653.27 Pa."""
    bus = FakeSMBus({0x76: bme280_chip()})
    d = BME280(bus, 0x76, sleep=no_sleep)
    assert isinstance(d, SensorDriver)
    v = d.read()
    assert v["temperature"] == pytest.approx(25.08, abs=0.005)
    assert v["pressure"] == pytest.approx(1006.5327, abs=0.0005)  # hPa
    # humidity: the integer result agrees with the datasheet's float formula (t_fine 128422)
    assert v["humidity"] == pytest.approx(float_humidity(30000, 128422.0, REAL_H), abs=0.02)
    assert 0 < v["humidity"] < 100


@pytest.mark.parametrize("adc_h", [20000, 26000, 33000, 38000])
def test_bme280_humidity_against_float_formula(adc_h):
    chip = bme280_chip(adc_h=adc_h)
    v = BME280(FakeSMBus({0x77: chip}), 0x77, sleep=no_sleep).read()
    assert v["humidity"] == pytest.approx(float_humidity(adc_h, 128422.0, REAL_H), abs=0.02)


def test_bme280_writes_forced_mode_with_humidity_first():
    chip = bme280_chip()
    BME280(FakeSMBus({0x76: chip}), sleep=no_sleep).read()
    assert chip.writes[:2] == [bytes([0xF2, 0x01]), bytes([0xF4, 0x25])]


def test_bme280_out_of_range_temperature():
    # a huge raw temperature compensates to far above the 85 °C limit
    chip = bme280_chip(adc_t=0xFFFF0)
    with pytest.raises(OutOfRangeError, match=r"temperature .* outside .*-40..85"):
        BME280(FakeSMBus({0x76: chip}), sleep=no_sleep).read()


def test_bme280_wrong_chip_id_and_oserror():
    with pytest.raises(BusError, match="chip id 0x58"):
        BME280(FakeSMBus({0x76: bme280_chip(chip_id=0x58)}), sleep=no_sleep).read()
    bus = FakeSMBus({0x76: bme280_chip()})
    d = BME280(bus, sleep=no_sleep)
    d.read()
    bus.fail = OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
    with pytest.raises(BusError, match="I2C transfer failed: Remote I/O error"):
        d.read()
    bus.fail = None
    assert d.read()["temperature"] == pytest.approx(25.08, abs=0.005)  # recovers


def test_bme280_missing_device_is_bus_error():
    with pytest.raises(BusError, match="0x77"):
        BME280(FakeSMBus({}), 0x77, sleep=no_sleep).read()


def test_bme280_skipped_measurement():
    chip = bme280_chip()
    set_bme280_adc(chip, 0x80000, BMP280_EXAMPLE_ADC_P, 0x8000)
    with pytest.raises(Exception, match="skipped"):
        BME280(FakeSMBus({0x76: chip}), sleep=no_sleep).read()
    set_bme280_adc(chip, BMP280_EXAMPLE_ADC_T, BMP280_EXAMPLE_ADC_P, 30000)


# -- SHT31 ----------------------------------------------------------------------------
def sht_reply(raw_t: int, raw_rh: int, bad_crc: bool = False) -> bytes:
    t, h = raw_t.to_bytes(2, "big"), raw_rh.to_bytes(2, "big")
    return t + bytes([crc8(t) ^ (0xFF if bad_crc else 0)]) + h + bytes([crc8(h)])


def test_sht31_crc_datasheet_example():
    assert crc8(b"\xbe\xef") == 0x92  # datasheet §4.12 Table 19
    assert crc8(b"\x00\x00") == 0x81


def test_sht31_reads_and_converts():
    chip = FakeChip(replies=[sht_reply(0x6666, 0x8000)])
    v = SHT31(FakeSMBus({0x44: chip}), sleep=no_sleep).read()
    assert v["temperature"] == pytest.approx(-45 + 175 * 0x6666 / 65535)  # 25.0 °C
    assert v["temperature"] == pytest.approx(25.0, abs=0.01)
    assert v["humidity"] == pytest.approx(100 * 0x8000 / 65535)
    assert chip.writes == [bytes([0x24, 0x00])]


def test_sht31_crc_mismatch():
    chip = FakeChip(replies=[sht_reply(0x6666, 0x8000, bad_crc=True)])
    with pytest.raises(CRCError, match="temperature CRC mismatch"):
        SHT31(FakeSMBus({0x44: chip}), sleep=no_sleep).read()


def test_sht31_oserror():
    bus = FakeSMBus({0x45: FakeChip()})
    bus.fail = OSError(errno.EIO, "Input/output error")
    with pytest.raises(BusError, match="SHT31 at 0x45"):
        SHT31(bus, 0x45, sleep=no_sleep).read()


# -- BH1750 ---------------------------------------------------------------------------
def test_bh1750_datasheet_example():
    chip = FakeChip(replies=[bytes([0x83, 0x90])])
    v = BH1750(FakeSMBus({0x23: chip}), sleep=no_sleep).read()
    assert v["illuminance"] == pytest.approx(28067, abs=0.5)  # datasheet p.7
    assert chip.writes == [bytes([0x01]), bytes([0x20])]


def test_bh1750_oserror():
    with pytest.raises(BusError):
        BH1750(FakeSMBus({}), 0x5C, sleep=no_sleep).read()
