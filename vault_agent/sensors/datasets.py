"""The one resolver of recorded data sets (bundled names, folders, files, node.toml refs).

``vault replay DATASET``, ``vault agent run --replay DATASET`` and ``vault demo`` all
name data the same way, through :func:`resolve`:

- a bundled name: ``occupancy-detection`` (its training file),
  ``occupancy-detection-test`` (its test file), ``room-occupancy-estimation``;
- a file path, relative to the current folder or absolute;
- a folder (its known default file, else the first file with a recognised header);
- a path under ``datasets/`` found in the bundled folder when it is not in the current one.

node.toml stores a data set as a *ref* (:func:`ref`): ``datasets/…`` for a bundled one,
a vault path for one inside the vault, else the absolute path; :func:`from_ref` is the
inverse.
"""

from __future__ import annotations

from pathlib import Path

from ..resources import project_path

# bundled name -> file inside datasets/ (the folder name alone means its first entry here)
BUNDLED: dict[str, str] = {
    "occupancy-detection": "occupancy-detection/datatraining.txt",
    "occupancy-detection-test": "occupancy-detection/datatest.txt",
    "room-occupancy-estimation": "room-occupancy-estimation/Occupancy_Estimation.csv",
}

# bundled name -> IANA zone of the place it was recorded (its times are that place's
# wall clock, see SOURCE.md): the office at the University of Mons, Belgium (Candanedo
# & Feldheim 2016, §2); the room at IIIT Hyderabad, India (Singh et al. 2018, §III).
ZONES: dict[str, str] = {
    "occupancy-detection": "Europe/Brussels",
    "occupancy-detection-test": "Europe/Brussels",
    "room-occupancy-estimation": "Asia/Kolkata",
}


def zone_of(path: str | Path) -> str | None:
    """The recording zone of a bundled data file, None for any other file."""
    root = bundled_root()
    if root is None:
        return None
    p = Path(path).resolve()
    for name, rel in BUNDLED.items():
        if p == (root / rel).resolve():
            return ZONES.get(name)
    return None


def bundled_root() -> Path | None:
    """The bundled ``datasets/`` folder, or None in an install without it."""
    try:
        return project_path("datasets")
    except FileNotFoundError:
        return None


def _default_file(folder: Path) -> Path | None:
    """A folder's data file: its bundled default, else the first recognised CSV/TXT."""
    from .replay import ReplayFormatError, detect_format  # replay owns the formats

    for rel in BUNDLED.values():
        name, file = rel.split("/", 1)
        if folder.name == name and (folder / file).is_file():
            return folder / file
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() in (".csv", ".txt"):
            try:
                detect_format(f)
            except (ReplayFormatError, OSError):
                continue
            return f
    return None


def _candidates(text: str) -> list[Path]:
    p = Path(text)
    out = [p]
    root = bundled_root()
    if root is not None:
        if text in BUNDLED:
            out.append(root / BUNDLED[text])
        rest = p.parts[1:] if p.parts[:1] == ("datasets",) else p.parts
        if rest and not p.is_absolute():
            out.append(root.joinpath(*rest))
    return out


def resolve(text: str | Path) -> Path:
    """The data file a ``DATASET`` argument names (see the module docstring for the forms).

    Raises:
        ReplayFormatError: nothing usable found; the message lists the bundled names.
    """
    from .replay import ReplayFormatError

    for c in _candidates(str(text)):
        if c.is_file():
            return c.resolve()
        if c.is_dir():
            found = _default_file(c)
            if found is not None:
                return found.resolve()
    raise ReplayFormatError(
        f"{text}: no such file, folder or bundled data set (bundled: {', '.join(sorted(BUNDLED))})"
    )


def ref(vault_root: Path, path: str | Path) -> str:
    """How node.toml names a data set: ``datasets/…`` for a bundled one, a vault path for
    one inside the vault, else the absolute path."""
    p = Path(path).resolve()
    root = bundled_root()
    if root is not None and p.is_relative_to(root.resolve()):
        return "datasets/" + p.relative_to(root.resolve()).as_posix()
    vault_root = vault_root.resolve()
    if p.is_relative_to(vault_root):
        return p.relative_to(vault_root).as_posix()
    return str(p)


def from_ref(vault_root: Path, text: str) -> Path:
    """The file a node.toml ``dataset`` ref names (inverse of :func:`ref`)."""
    p = Path(text)
    if p.is_absolute():
        return p
    if (vault_root / p).exists():
        return vault_root / p
    root = bundled_root()
    if text.startswith("datasets/") and root is not None:
        return root / text.split("/", 1)[1]
    return vault_root / p
