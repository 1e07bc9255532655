"""Build a driver for a :class:`~vault_agent.sensors.config.SensorSpec`.

The drivers and their factories are listed in :mod:`.registry`; hardware modules are
imported by the factory that needs them, so a node without I2C never imports smbus2.
"""

from __future__ import annotations

from typing import Any

from .base import SensorConfigError, SensorDriver
from .config import SensorSpec
from .registry import DRIVERS, BusFactory


def hardware_key(spec: SensorSpec) -> tuple[Any, ...]:
    """Specs with the same key share one driver (one BME280 serves three sensor ids)."""
    info = DRIVERS.get(spec.driver)
    if info is not None and info.i2c_addresses:
        p = spec.params
        return (spec.driver, p.get("bus", 1), p.get("address", info.i2c_addresses[0]))
    return (spec.driver, spec.id)


def make_driver(spec: SensorSpec, bus_factory: BusFactory | None = None) -> SensorDriver:
    """A driver for ``spec``, built by its :data:`~.registry.DRIVERS` entry.

    Args:
        bus_factory: opens I2C bus N (default :func:`~vault_agent.sensors.i2c.bus.open_bus`).
    Raises:
        SensorConfigError: a replay sensor (it is fed by ``vault replay``) or unknown driver.
        BusError: the I2C bus cannot be opened.
    """
    info = DRIVERS.get(spec.driver)
    if info is None:
        raise SensorConfigError(f"sensor {spec.id!r}: unknown driver {spec.driver!r}")
    return info.build(spec, bus_factory)
