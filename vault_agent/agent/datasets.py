"""Bundled real data sets (``datasets/`` in the project), addressable by name."""

from __future__ import annotations

from pathlib import Path

from ..errors import VaultError
from ..resources import project_path

# name -> file inside datasets/<folder>/
BUNDLED = {
    "room-occupancy-estimation": "room-occupancy-estimation/Occupancy_Estimation.csv",
    "occupancy-detection": "occupancy-detection/datatraining.txt",
    "occupancy-detection-test": "occupancy-detection/datatest.txt",
}


def resolve_dataset(name_or_path: str | Path) -> Path:
    """A data file path from a path or a bundled data set name.

    Raises:
        VaultError: neither an existing file nor a bundled name.
    """
    p = Path(name_or_path)
    if p.is_file():
        return p.resolve()
    key = str(name_or_path)
    if key in BUNDLED:
        return project_path("datasets") / BUNDLED[key]
    raise VaultError(
        f"{name_or_path}: no such file and not a bundled data set ({', '.join(sorted(BUNDLED))})"
    )
