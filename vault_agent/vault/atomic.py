"""Crash-safe file writes: whole files atomically, JSONL appends as whole fsynced lines.

A whole file is written to a temp file in the same folder, fsynced, renamed over the
target and the folder fsynced (POSIX rename is atomic). A JSONL append writes one
complete line with a single ``write`` and fsyncs before returning, so an append that
returned survives a crash; a torn tail (power cut mid-write) is repaired on open by
:func:`repair_torn_tail`, which moves the fragment to quarantine first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename or create inside it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, fsync, rename, fsync dir)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def append_line(path: Path, line: str, fsync: bool = True) -> None:
    """Append one line (a trailing newline is added if missing) in a single write.

    The file is opened with ``O_APPEND`` so concurrent appenders never interleave
    within a line; with ``fsync`` the data is on disk when this returns.
    """
    path = Path(path)
    if not line.endswith("\n"):
        line += "\n"
    created = not path.exists()
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        data = line.encode("utf-8")
        written = os.write(fd, data)
        while written < len(data):  # short writes are rare but legal
            written += os.write(fd, data[written:])
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    if created and fsync:
        fsync_dir(path.parent)


def append_lines(path: Path, lines: list[str], fsync: bool = True) -> None:
    """Append several whole lines with one write and one fsync."""
    if lines:
        append_line(path, "".join(x if x.endswith("\n") else x + "\n" for x in lines), fsync)


def torn_tail(path: Path) -> tuple[int, bytes]:
    """Find a torn last line: returns (offset of the last complete line's end, fragment).

    The fragment is empty when the file ends with a newline. Only the file's tail is
    read, so this is cheap on large files.
    """
    size = path.stat().st_size
    if size == 0:
        return 0, b""
    with open(path, "rb") as fh:
        block = 65536
        pos = size
        tail = b""
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            tail = fh.read(pos - start) + tail
            idx = tail.rfind(b"\n")
            if idx >= 0:
                cut = size - len(tail) + idx + 1
                return cut, tail[idx + 1 :]
            pos = start
        return 0, tail


def repair_torn_tail(path: Path, quarantine_dir: Path) -> Path | None:
    """Move a torn last line of ``path`` to ``quarantine_dir`` and truncate to the last newline.

    Returns the quarantine file written, or None if the file was whole. The fragment
    is saved (fsynced) before the file is truncated, so nothing is lost.
    """
    cut, fragment = torn_tail(path)
    if not fragment:
        return None
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    qname = f"{path.name}.{cut}.torn"
    qpath = quarantine_dir / qname
    atomic_write_bytes(qpath, fragment)
    with open(path, "r+b") as fh:
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    return qpath
