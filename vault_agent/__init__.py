"""vault-agent: offline-first memory for home-lab AI nodes.

The memory is a git repository of plain files (see DESIGN.md). This package is the
library; :mod:`vault_agent.cli` is a thin click layer over it.
"""

__version__ = "0.1.0"
