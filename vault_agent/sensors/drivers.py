"""Build a driver for a :class:`~vault_agent.sensors.config.SensorSpec`.

Imports are deferred to the driver that needs them, so a node without I2C never
imports smbus2 and ``vault --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import SensorConfigError, SensorDriver
from .config import DRIVERS, SensorSpec

DEFAULT_ADDRESS = {
    name: info.i2c_addresses[0] for name, info in DRIVERS.items() if info.i2c_addresses
}


def hardware_key(spec: SensorSpec) -> tuple[Any, ...]:
    """Specs with the same key share one driver (one BME280 serves three sensor ids)."""
    p = spec.params
    if spec.driver in DEFAULT_ADDRESS:
        return (spec.driver, p.get("bus", 1), p.get("address", DEFAULT_ADDRESS[spec.driver]))
    return (spec.driver, spec.id)


def make_driver(spec: SensorSpec, bus_factory: Callable[[int], Any] | None = None) -> SensorDriver:
    """A driver for ``spec``.

    Args:
        bus_factory: opens I2C bus N (default :func:`~vault_agent.sensors.i2c.bus.open_bus`).
    Raises:
        SensorConfigError: a replay sensor (it is fed by ``vault replay``) or unknown driver.
        BusError: the I2C bus cannot be opened.
    """
    p = dict(spec.params)
    d = spec.driver
    if d in DEFAULT_ADDRESS:
        from .i2c.bus import open_bus

        bus = (bus_factory or open_bus)(int(p.get("bus", 1)))
        addr = int(p.get("address", DEFAULT_ADDRESS[d]))
        if d == "bme280":
            from .i2c.bme280 import BME280

            return BME280(bus, addr, own_bus=True)
        if d == "sht31":
            from .i2c.sht31 import SHT31

            return SHT31(bus, addr, own_bus=True)
        from .i2c.bh1750 import BH1750

        return BH1750(bus, addr, own_bus=True)
    from . import gpio

    if d == "motion":
        return gpio.MotionDriver(
            p["pin"], **{k: p[k] for k in ("pull_up", "queue_len", "threshold") if k in p}
        )
    if d in ("door", "button"):
        return gpio.ContactDriver(
            p["pin"],
            quantity=spec.quantity,
            **{k: p[k] for k in ("pull_up", "bounce_time", "open_is_on") if k in p},
        )
    if d == "distance":
        return gpio.DistanceDriver(p["echo"], p["trigger"], float(p.get("max_distance", 1.0)))
    if d == "mcp3008":
        return gpio.MCP3008Driver(
            p["channel"],
            quantity=spec.quantity,
            **{
                k: p[k]
                for k in ("vref", "scale", "offset", "select_pin", "port", "device")
                if k in p
            },
        )
    if d == "cpu_temperature":
        return gpio.CPUTemperatureDriver(
            **({"sensor_file": p["sensor_file"]} if "sensor_file" in p else {})
        )
    if d == "replay":
        raise SensorConfigError(
            f"sensor {spec.id!r} is replayed from {p.get('dataset')}; "
            "its readings come from 'vault replay', not from hardware"
        )
    raise SensorConfigError(f"sensor {spec.id!r}: unknown driver {d!r}")
