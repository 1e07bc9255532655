"""``[[sensors]]`` entries of ``agents/<node>/node.toml``: schema, validation, specs.

Each entry is one sensor id = one quantity with one unit::

    [[sensors]]
    id = "kitchen-temp"        # unique on this node: [a-z0-9][a-z0-9_-]*
    driver = "bme280"          # see registry.DRIVERS
    quantity = "temperature"   # default: the driver's first quantity
    unit = "°C"                # default: the quantity's unit for this driver
    interval_s = 30            # sampling interval, seconds (default 1 binary, 60 others)
    bus = 1                    # driver parameters…
    address = 0x76
    name = "kitchen temperature"   # optional words people use for it (vault ask, history)
    room = "kitchen"               # optional; default: the node's ``room``
    aliases = ["temp"]             # optional further names

The node itself may say where it is: top-level ``room = "office"`` and
``aliases = ["study"]`` in node.toml (:func:`parse_node_vocabulary`).

``vault check`` and the sampler call :func:`validate_sensors`; a problem raises
:class:`~vault_agent.errors.RecordError` naming node.toml and the entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import RecordError
from .base import BINARY_QUANTITIES
from .registry import DRIVERS, Driver

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PIN_RE = re.compile(r"^(?:GPIO|BCM)?\d{1,2}$|^(?:BOARD|J8:)\d{1,2}$", re.IGNORECASE)
DEFAULT_STUCK_AFTER_S = 3 * 3600.0
COMMON_KEYS = {
    "id",
    "driver",
    "quantity",
    "unit",
    "interval_s",
    "stuck_after_s",
    "binary",
    "min",
    "max",
    "description",
    "name",
    "room",
    "aliases",
}
NAME_MAX = 64


GPIO_PIN_KEYS = ("pin", "echo", "trigger", "select_pin")


@dataclass(frozen=True)
class SensorSpec:
    """One validated ``[[sensors]]`` entry.

    Attributes:
        id: sensor id, unique on the node.
        driver: a key of :data:`DRIVERS`.
        quantity, unit: what the values are (``temperature``, ``°C``).
        interval_s: sampling interval in seconds.
        binary: rolls up as events / seconds-on (motion, door…).
        stuck_after_s: flag the sensor when its value has not changed for this long (0: never).
        params: the driver's parameters (pin, bus, address, channel…).
        lo, hi: optional plausibility bounds from ``min``/``max``.
        name, room, aliases: words people use for the sensor ("office temperature",
            "office", ("temp",)); empty when not configured.
    """

    id: str
    driver: str
    quantity: str
    unit: str
    interval_s: float
    binary: bool = False
    stuck_after_s: float = DEFAULT_STUCK_AFTER_S
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    lo: float | None = None
    hi: float | None = None
    name: str = ""
    room: str = ""
    aliases: tuple[str, ...] = ()


def _int_param(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    raise ValueError(f"{what} must be an integer (e.g. 0x76), got {value!r}")


def _check_pin(value: Any, what: str) -> str:
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a GPIO pin")
    if isinstance(value, int):
        if not 0 <= value <= 27:
            raise ValueError(f"{what} {value} is not a BCM GPIO number (0-27)")
        return f"GPIO{value}"
    if isinstance(value, str) and PIN_RE.match(value.strip()):
        v = value.strip().upper()
        if v.isdigit() or v.startswith(("GPIO", "BCM")):
            n = int(re.sub(r"\D", "", v))
            if n > 27:
                raise ValueError(f"{what} {value!r} is not a BCM GPIO number (0-27)")
            return f"GPIO{n}"
        return v
    raise ValueError(
        f"{what} {value!r} is not a GPIO pin (use a BCM number such as 17, or 'GPIO17', 'BOARD11')"
    )


def _check_number(entry: dict, key: str, positive: bool = False) -> float | None:
    if key not in entry:
        return None
    val = entry[key]
    if isinstance(val, bool) or not isinstance(val, int | float):
        raise ValueError(f"{key} must be a number, got {val!r}")
    if positive and not val > 0:
        raise ValueError(f"{key} must be > 0, got {val!r}")
    return float(val)


def _check_words(value: Any, what: str) -> str:
    """A name, room or alias: a non-empty string of at most NAME_MAX characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > NAME_MAX or "\n" in value:
        raise ValueError(f"{what} {value[:40]!r} is multi-line or over {NAME_MAX} characters")
    return " ".join(value.split())


def parse_vocabulary(entry: dict, where: str = "") -> tuple[str, str, tuple[str, ...]]:
    """(name, room, aliases) of a ``[[sensors]]`` entry or of node.toml's top level.

    Raises:
        ValueError: a name/room that is not a short string, aliases not a list of them.
    """
    name = _check_words(entry["name"], f"{where}name") if "name" in entry else ""
    room = _check_words(entry["room"], f"{where}room") if "room" in entry else ""
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list):
        raise ValueError(f"{where}aliases must be a list of strings, got {aliases!r}")
    words = tuple(_check_words(a, f"{where}alias") for a in aliases)
    return name, room, words


def parse_node_vocabulary(cfg: dict, rel: str = "node.toml") -> tuple[str, tuple[str, ...]]:
    """The node's ``room`` and ``aliases`` (top level of node.toml); ("", ()) if unset.

    Raises:
        RecordError: naming ``rel`` when they are not strings / a list of strings.
    """
    try:
        _, room, aliases = parse_vocabulary({k: cfg[k] for k in ("room", "aliases") if k in cfg})
    except ValueError as e:
        raise RecordError(rel, 0, str(e)) from None
    return room, aliases


def _check_params(driver: str, info: Driver, params: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the driver's own keys (pins, I2C bus and address, channel).

    Raises:
        ValueError: a one-sentence problem.
    """
    for key in GPIO_PIN_KEYS:
        if key in params:
            _check_pin(params[key], key)
    if "address" in params:
        addr = _int_param(params["address"], "address")
        if addr not in info.i2c_addresses:
            raise ValueError(
                f"address {addr:#04x} is not a {driver.upper()} I2C address "
                f"(use {' or '.join(f'{a:#04x}' for a in info.i2c_addresses)})"
            )
        params["address"] = addr
    if "bus" in params:
        bus = _int_param(params["bus"], "bus")
        if not 0 <= bus <= 255:
            raise ValueError(f"bus {bus} is not an I2C bus number")
        params["bus"] = bus
    if "channel" in params:
        ch = _int_param(params["channel"], "channel")
        if not 0 <= ch <= 7:
            raise ValueError(f"channel {ch} is not an MCP3008 channel (0-7)")
        params["channel"] = ch
    return params


def parse_sensor(entry: Any, index: int = 0) -> SensorSpec:
    """Turn one ``[[sensors]]`` table into a :class:`SensorSpec`.

    Raises:
        ValueError: a one-sentence problem (the caller adds file and entry).
    """
    if not isinstance(entry, dict):
        raise ValueError("must be a table ([[sensors]])")
    sid = entry.get("id")
    if not isinstance(sid, str) or not ID_RE.match(sid):
        raise ValueError(f"id {sid!r} is missing or invalid (lower-case letters, digits, '-', '_')")
    driver = entry.get("driver")
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r} (known: {', '.join(sorted(DRIVERS))})")
    info = DRIVERS[driver]
    quantity = entry.get("quantity") or (next(iter(info.quantities), None))
    if not isinstance(quantity, str) or not quantity:
        raise ValueError(f"driver {driver!r} needs a 'quantity'")
    if not info.any_quantity and quantity not in info.quantities:
        raise ValueError(
            f"driver {driver!r} has no quantity {quantity!r} "
            f"(it gives {', '.join(info.quantities)})"
        )
    unit = entry.get("unit", info.quantities.get(quantity, ""))
    if not isinstance(unit, str):
        raise ValueError(f"unit must be a string, got {unit!r}")
    missing = [k for k in info.required if k not in entry]
    if missing:
        raise ValueError(f"driver {driver!r} needs {', '.join(missing)}")
    unknown = set(entry) - COMMON_KEYS - set(info.required) - set(info.optional)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))} for driver {driver!r}")
    params = _check_params(
        driver, info, {k: entry[k] for k in (*info.required, *info.optional) if k in entry}
    )
    binary = entry.get("binary", quantity in BINARY_QUANTITIES)
    if not isinstance(binary, bool):
        raise ValueError(f"binary must be true or false, got {binary!r}")
    interval = _check_number(entry, "interval_s", positive=True)
    if interval is None:
        interval = 1.0 if binary else 60.0
    stuck = _check_number(entry, "stuck_after_s")
    if stuck is not None and stuck < 0:
        raise ValueError("stuck_after_s must be >= 0 (0 disables the check)")
    name, room, aliases = parse_vocabulary(entry)
    lo, hi = _check_number(entry, "min"), _check_number(entry, "max")
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError(f"min {lo} must be below max {hi}")
    return SensorSpec(
        id=sid,
        driver=driver,
        quantity=quantity,
        unit=unit,
        interval_s=interval,
        binary=binary,
        stuck_after_s=DEFAULT_STUCK_AFTER_S if stuck is None else stuck,
        params=params,
        lo=lo,
        hi=hi,
        name=name,
        room=room,
        aliases=aliases,
    )


def _hardware_key(spec: SensorSpec) -> tuple[str, ...] | None:
    if "address" in spec.params or spec.driver in ("bme280", "sht31", "bh1750"):
        info = DRIVERS[spec.driver]
        addr = spec.params.get("address", info.i2c_addresses[0])
        return ("i2c", str(spec.params.get("bus", 1)), f"{addr:#04x}")
    return None


def parse_sensors(entries: Any, rel: str = "node.toml") -> list[SensorSpec]:
    """Validate and parse the ``sensors`` array of a node.toml.

    Checks each entry, then the whole: duplicate ids, a GPIO pin used twice, one I2C
    address claimed by two different drivers.

    Raises:
        RecordError: ``rel``, line 0, naming the entry.
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise RecordError(rel, 0, "'sensors' must be an array of tables ([[sensors]])")
    specs: list[SensorSpec] = []
    seen: dict[str, int] = {}
    pins: dict[str, str] = {}
    chips: dict[tuple[str, ...], tuple[str, str]] = {}
    for i, entry in enumerate(entries):
        label = f"sensors[{i}]" + (
            f" ({entry.get('id')})"
            if isinstance(entry, dict) and isinstance(entry.get("id"), str)
            else ""
        )
        try:
            spec = parse_sensor(entry, i)
        except ValueError as e:
            raise RecordError(rel, 0, f"{label}: {e}") from None
        if spec.id in seen:
            raise RecordError(
                rel, 0, f"{label}: duplicate sensor id {spec.id!r} (also sensors[{seen[spec.id]}])"
            )
        seen[spec.id] = i
        for key in GPIO_PIN_KEYS:
            if key in spec.params:
                pin = _check_pin(spec.params[key], key)
                if pin in pins:
                    raise RecordError(
                        rel, 0, f"{label}: pin {pin} is already used by sensor {pins[pin]!r}"
                    )
                pins[pin] = spec.id
        hw = _hardware_key(spec)
        if hw is not None:
            other = chips.get(hw)
            if other and other[0] != spec.driver:
                raise RecordError(
                    rel,
                    0,
                    f"{label}: I2C bus {hw[1]} address {hw[2]} is already "
                    f"used by {other[0]} sensor {other[1]!r}",
                )
            chips.setdefault(hw, (spec.driver, spec.id))
        specs.append(spec)
    return specs


def validate_sensors(entries: Any, rel: str = "node.toml") -> None:
    """Validate node.toml's ``sensors`` (called by ``vault check``).

    Raises:
        RecordError: unknown driver, duplicate id, bad pin/address/channel, unknown key…
    """
    parse_sensors(entries, rel)


def load_specs(vault: Any) -> list[SensorSpec]:
    """The validated sensor specs of ``vault``'s node (from its node.toml).

    Raises:
        RecordError: an invalid entry.
    """
    from ..vault import layout

    return parse_sensors(vault.node_config().get("sensors", []), layout.node_toml(vault.node))


def window_seconds(vault: Any) -> int:
    """The node's rollup window (``[rollup] window_s``, default 300 s)."""
    try:
        w = int(vault.node_config().get("rollup", {}).get("window_s", 300))
    except (TypeError, ValueError):
        return 300
    return w if w > 0 else 300


def validate_node_toml(data: dict, rel: str = "node.toml") -> None:
    """The sensors package's part of node.toml: ``[[sensors]]`` entries and the node's
    ``room``/``aliases`` (registered with ``vault check`` by ``vault_agent/__init__.py``).

    Raises:
        RecordError: naming ``rel`` and the entry.
    """
    validate_sensors(data.get("sensors", []), rel)
    parse_node_vocabulary(data, rel)
