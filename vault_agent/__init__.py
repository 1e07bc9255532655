"""vault-agent: offline-first memory for home-lab AI nodes.

The memory is a git repository of plain files (docs/architecture.md). This package is
the library; :mod:`vault_agent.cli` is a thin click layer over it.

This module is also the composition root of ``vault check``: the core's checks cannot
import the packages above them, so those packages' validators are registered here,
where every process that imports any part of vault_agent passes first.
"""

from .sensors.config import validate_node_toml as _validate_node_toml
from .vault.check import NODE_CONFIG_VALIDATORS as _NODE_CONFIG_VALIDATORS

__version__ = "0.1.0"

if _validate_node_toml not in _NODE_CONFIG_VALIDATORS:
    _NODE_CONFIG_VALIDATORS.append(_validate_node_toml)
