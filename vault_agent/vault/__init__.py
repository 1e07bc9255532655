"""Vault core: layout rules, record schemas, atomic writers, HLC, commits, log, checks."""

from .core import Vault
from .records import Observation, Rollup

__all__ = ["Vault", "Rollup", "Observation"]
