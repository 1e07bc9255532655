"""What a build remembers between runs (``.vault/site-state.json``) and the folders it owns.

The state is derived: a missing or unreadable file means "build everything"; the output
folder carries a marker file so ``--clean`` empties only folders the site made.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .errors import SiteBuildError
from .write import write_if_changed

STATE_FILE = "site-state.json"
STATE_VERSION = 1
MARKER = ".vault-site"  # written into output folders we own, so --clean may empty them


def load_state(path: Path) -> dict[str, Any] | None:
    """The last build's state, or None when absent, unreadable or of another version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and data.get("v") == STATE_VERSION else None
    except (OSError, ValueError):
        return None


def save_state(path: Path, data: dict[str, Any]) -> None:
    """Write the state (``data`` gets the version key)."""
    body = {"v": STATE_VERSION, **data}
    write_if_changed(path, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def mark_output(html: Path) -> None:
    """Claim ``html`` as site output (so a later ``--clean`` may empty it)."""
    html.mkdir(parents=True, exist_ok=True)
    (html / MARKER).write_text("vault site output; safe to delete\n", encoding="utf-8")


def check_out_dir(html: Path) -> None:
    """Refuse an output folder holding files the site did not write.

    Raises:
        SiteBuildError: ``html`` is non-empty and has no marker file.
    """
    if html.is_dir() and any(html.iterdir()) and not (html / MARKER).exists():
        raise SiteBuildError(
            f"{html} is not empty and was not made by 'vault site build'; "
            "choose an empty or new folder for --out"
        )


def empty_dir(path: Path) -> None:
    """Remove a derived folder's contents (only folders the site owns reach here)."""
    if path.is_dir():
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
