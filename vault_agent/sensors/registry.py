"""The sensor drivers: one entry per driver, bundling its config schema and its factory.

Adding a driver means adding one :class:`Driver` to :data:`DRIVERS`: the quantities it
gives (name → unit), the node.toml keys it requires and accepts, its I2C addresses, and
``build``, which makes the driver object for a validated spec. ``config.parse_sensor``
validates ``[[sensors]]`` entries against these schemas and ``drivers.make_driver``
calls ``build``.

Hardware modules are imported inside the factories, so a node without I2C never imports
smbus2 and ``vault --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import SensorConfigError, SensorDriver

if TYPE_CHECKING:
    from .config import SensorSpec

BusFactory = Callable[[int], Any]
"""Opens I2C bus N (default :func:`~vault_agent.sensors.i2c.bus.open_bus`)."""


@dataclass(frozen=True)
class Driver:
    """One driver: what node.toml may say for it and how to build it.

    Attributes:
        quantities: quantity → unit it gives (``{"temperature": "°C"}``).
        required, optional: the driver's own node.toml keys.
        any_quantity: a generic input (an ADC channel, a replayed column) that takes
            any quantity the entry names.
        i2c_addresses: its 7-bit I2C addresses, the default first (I2C drivers only).
        build: ``(spec, bus_factory) -> SensorDriver``.
    """

    quantities: dict[str, str]
    build: Callable[[SensorSpec, BusFactory | None], SensorDriver]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    any_quantity: bool = False
    i2c_addresses: tuple[int, ...] = ()


def _pick(spec: SensorSpec, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: spec.params[k] for k in keys if k in spec.params}


def _i2c(spec: SensorSpec, bus_factory: BusFactory | None) -> tuple[Any, int]:
    """(bus, address) of an I2C sensor, opening the bus."""
    from .i2c.bus import open_bus

    bus = (bus_factory or open_bus)(int(spec.params.get("bus", 1)))
    return bus, int(spec.params.get("address", DRIVERS[spec.driver].i2c_addresses[0]))


def _bme280(spec: SensorSpec, bus_factory: BusFactory | None) -> SensorDriver:
    from .i2c.bme280 import BME280

    return BME280(*_i2c(spec, bus_factory), own_bus=True)


def _sht31(spec: SensorSpec, bus_factory: BusFactory | None) -> SensorDriver:
    from .i2c.sht31 import SHT31

    return SHT31(*_i2c(spec, bus_factory), own_bus=True)


def _bh1750(spec: SensorSpec, bus_factory: BusFactory | None) -> SensorDriver:
    from .i2c.bh1750 import BH1750

    return BH1750(*_i2c(spec, bus_factory), own_bus=True)


def _motion(spec: SensorSpec, _: BusFactory | None) -> SensorDriver:
    from .gpio import MotionDriver

    return MotionDriver(spec.params["pin"], **_pick(spec, DRIVERS["motion"].optional))


def _contact(spec: SensorSpec, _: BusFactory | None) -> SensorDriver:
    from .gpio import ContactDriver

    keys = DRIVERS[spec.driver].optional
    return ContactDriver(spec.params["pin"], quantity=spec.quantity, **_pick(spec, keys))


def _distance(spec: SensorSpec, _: BusFactory | None) -> SensorDriver:
    from .gpio import DistanceDriver

    p = spec.params
    return DistanceDriver(p["echo"], p["trigger"], float(p.get("max_distance", 1.0)))


def _mcp3008(spec: SensorSpec, _: BusFactory | None) -> SensorDriver:
    from .gpio import MCP3008Driver

    keys = DRIVERS["mcp3008"].optional
    return MCP3008Driver(spec.params["channel"], quantity=spec.quantity, **_pick(spec, keys))


def _cpu_temperature(spec: SensorSpec, _: BusFactory | None) -> SensorDriver:
    from .gpio import CPUTemperatureDriver

    return CPUTemperatureDriver(**_pick(spec, ("sensor_file",)))


def _replay(spec: SensorSpec, _: BusFactory | None) -> SensorDriver:
    raise SensorConfigError(
        f"sensor {spec.id!r} is replayed from {spec.params.get('dataset')}; "
        "its readings come from 'vault replay', not from hardware"
    )


I2C = ("bus", "address")

DRIVERS: dict[str, Driver] = {
    "motion": Driver({"motion": ""}, _motion, ("pin",), ("pull_up", "queue_len", "threshold")),
    "door": Driver({"door": ""}, _contact, ("pin",), ("pull_up", "bounce_time", "open_is_on")),
    "button": Driver({"button": ""}, _contact, ("pin",), ("pull_up", "bounce_time")),
    "distance": Driver({"distance": "m"}, _distance, ("echo", "trigger"), ("max_distance",)),
    "mcp3008": Driver(
        {"voltage": "V"},
        _mcp3008,
        ("channel",),
        ("vref", "scale", "offset", "select_pin", "port", "device"),
        any_quantity=True,
    ),
    "cpu_temperature": Driver({"temperature": "°C"}, _cpu_temperature, (), ("sensor_file",)),
    # I2C addresses: BME280 datasheet §6.2 (0x76/0x77), SHT3x-DIS §3.3 (0x44/0x45),
    # BH1750FVI datasheet p.10 (ADDR low 0x23, high 0x5C)
    "bme280": Driver(
        {"temperature": "°C", "humidity": "%RH", "pressure": "hPa"},
        _bme280,
        (),
        I2C,
        i2c_addresses=(0x76, 0x77),
    ),
    "sht31": Driver(
        {"temperature": "°C", "humidity": "%RH"}, _sht31, (), I2C, i2c_addresses=(0x44, 0x45)
    ),
    "bh1750": Driver({"illuminance": "lx"}, _bh1750, (), I2C, i2c_addresses=(0x23, 0x5C)),
    "replay": Driver({}, _replay, ("dataset", "column"), ("format", "source"), any_quantity=True),
}
