"""Where the project's bundled folders live (template, hooks, site theme, sample data).

These folders sit at the top of the source tree (``vault_template/``, ``hooks/``,
``site/``, ``datasets/``); the package is installed editable (``pip install -e .``) so
they are found next to it.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_path(name: str) -> Path:
    """Path of a bundled top-level folder such as ``"vault_template"`` or ``"datasets"``.

    Raises:
        FileNotFoundError: the folder is not beside the package (a non-editable install).
    """
    path = PROJECT_ROOT / name
    if not path.exists():
        raise FileNotFoundError(f"bundled folder {name!r} not found at {path}; install with pip -e")
    return path
