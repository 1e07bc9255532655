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
from datetime import UTC, datetime
from pathlib import Path


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename or create inside it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(folder: Path) -> None:
    """Create ``folder`` and missing parents, fsyncing each new entry's parent (durable)."""
    folder = Path(folder)
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        fsync_dir(d.parent)


def atomic_write_bytes(
    path: Path, data: bytes, *, mode: int | None = None, fsync: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, fsync, rename, fsync dir).

    Args:
        mode: permission bits of the new file; by default it keeps the mode of the file
            it replaces (a new file gets 0666 minus the umask, like ``open``), not the
            0600 of a temp file.
        fsync: False skips the fsyncs of the file and of its folders (still atomic;
            durable after the caller's ``os.sync``, as a merge that writes many files
            does once).
    """
    path = Path(path)
    if fsync:
        ensure_dir(path.parent)
    else:  # derived files (the site): no fsync of new folders either
        path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if fsync:
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
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except FileNotFoundError:
        ensure_dir(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        data = line.encode("utf-8")
        size = os.fstat(fd).st_size
        created = size == 0  # new (or empty) file: its directory entry must be made durable
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # never glue a line onto an unterminated one left in place
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


def quarantine_file(quarantine_dir: Path, source: Path, offset: int, data: bytes) -> Path:
    """Save ``data`` cut from ``source`` at byte ``offset`` to a new file in ``quarantine_dir``.

    The name ``<file>.<offset>.<UTC stamp>[.<n>].torn`` never replaces an earlier
    fragment, and a line is appended to ``quarantine_dir/quarantine.log``.
    """
    ensure_dir(quarantine_dir)
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{source.name}.{offset}.{when}"
    qpath = quarantine_dir / f"{base}.torn"
    n = 1
    while qpath.exists():
        qpath = quarantine_dir / f"{base}.{n}.torn"
        n += 1
    atomic_write_bytes(qpath, data)
    append_line(
        quarantine_dir / "quarantine.log",
        f"{when} moved {len(data)} bytes from {source} (offset {offset}) to {qpath.name}",
    )
    return qpath


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)
        fh.flush()
        os.fsync(fh.fileno())


def repair_torn_tail(path: Path, quarantine_dir: Path, is_torn=None) -> Path | None:
    """Move a torn last line of ``path`` to ``quarantine_dir`` and truncate to the last newline.

    ``is_torn(fragment)`` (default: always) decides whether an unterminated last line
    is crash damage; if it says no, the file is left alone. Returns the quarantine
    file written, or None. The fragment is saved (fsynced) before the file is
    truncated, so nothing is lost.
    """
    cut, fragment = torn_tail(path)
    if not fragment or (is_torn is not None and not is_torn(fragment)):
        return None
    qpath = quarantine_file(quarantine_dir, path, cut, fragment)
    _truncate(path, cut)
    return qpath


def repair_bad_last_line(path: Path, quarantine_dir: Path, valid) -> Path | None:
    """Quarantine a newline-terminated last line for which ``valid(bytes)`` is False.

    A crash can leave a whole-looking last line of garbage (e.g. NUL bytes from a
    file extended before its data reached the disk). The line is saved to
    ``quarantine_dir`` and the file cut before it. Returns the quarantine file or None.
    """
    size = path.stat().st_size
    if size == 0:
        return None
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if not tail.endswith(b"\n"):
        return None
    body = tail[:-1]
    idx = body.rfind(b"\n")
    if idx < 0 and size > len(tail):
        return None  # a last line longer than 64 KiB: not a torn append, leave it alone
    last = body[idx + 1 :]
    if valid(last):
        return None
    cut = size - len(last) - 1
    qpath = quarantine_file(quarantine_dir, path, cut, last + b"\n")
    _truncate(path, cut)
    return qpath
