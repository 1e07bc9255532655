"""Sensors: drivers (gpiozero, I2C, replay of recorded data), the sampler and rollups.

Modules: :mod:`.base` (Reading, SensorDriver, errors), :mod:`.config` (node.toml
``[[sensors]]``), :mod:`.gpio`, :mod:`.i2c`, :mod:`.drivers` (spec → driver),
:mod:`.replay`, :mod:`.sampler`, :mod:`.rawcache`, :mod:`.rollup`, :mod:`.status`,
:mod:`.tail`. See docs/sensors.md.
"""
