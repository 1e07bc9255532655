"""One readable line for errors that arrive as a library's words (git, sqlite, the OS).

A person reading ``GitError: failed to read file into stream`` cannot tell that the
disk is full; :func:`explain` names the cause and the fix. Used by the CLI's error
boundary and by the agent's log lines.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

# Words that libgit2 and sqlite use when a write failed for lack of space. Sources:
# sqlite3.c "database or disk is full" (SQLITE_FULL), libgit2 src/util/futils.c
# "failed to read file into stream" / "could not write" on a short write.
DISK_FULL_WORDS = ("no space left", "disk is full", "database or disk is full", "quota exceeded")
GIT_WRITE_WORDS = ("failed to read file into stream", "could not write", "failed to write")
LOW_SPACE_BYTES = 4 * 1024 * 1024  # below this, a failed git write is reported as disk full


def human_bytes(n: float) -> str:
    """``1536`` → ``1.5 KiB`` (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - loop returns


def free_space(path: Path) -> int | None:
    """Free bytes on the file system holding ``path`` (its nearest existing parent)."""
    p = Path(path).resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def disk_full_line(path: Path) -> str:
    """``disk full writing PATH (N free on its file system); free some space…``."""
    free = free_space(path)
    room = f"{human_bytes(free)} free" if free is not None else "free space unknown"
    return (
        f"disk full writing {path} ({room} on its file system); "
        "free some space (e.g. old files in .vault/, local-cache/) and run the command again"
    )


def explain(exc: BaseException, where: Path | None = None) -> str | None:
    """A one-line cause-and-fix for ``exc``, or None when it has no better words.

    Args:
        exc: the exception.
        where: the vault (or folder) the command worked in; named in disk-full lines
            when the exception carries no file name.
    """
    text = str(exc).lower()
    where = Path(where or os.getcwd())
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full_line(Path(exc.filename) if exc.filename else where)
    if any(w in text for w in DISK_FULL_WORDS):
        return disk_full_line(where)
    if "index.lock" in text or "index is locked" in text:
        named = re.search(r"'([^']*index\.lock)'", str(exc))
        lock = Path(named.group(1)) if named else _git_dir(where) / "index.lock"
        return (
            f"git's index is locked ({lock} exists): another git process is writing, or one "
            f"was killed; if no `vault`/`git` process is running, remove {lock} and retry "
            "(`vault agent run` moves a stale one aside at start)"
        )
    if any(w in text for w in GIT_WRITE_WORDS):
        free = free_space(where)
        if free is not None and free < LOW_SPACE_BYTES:
            return disk_full_line(where)
    return None


def _git_dir(where: Path) -> Path:
    for p in (where, *where.parents):
        if (p / ".git").exists():
            return p / ".git"
    return where / ".git"
