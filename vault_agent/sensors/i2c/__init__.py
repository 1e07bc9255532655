"""I2C sensor drivers over smbus2: BME280, SHT31, BH1750 (formulas from their datasheets)."""

from .bus import I2CBus, open_bus

__all__ = ["I2CBus", "open_bus"]
