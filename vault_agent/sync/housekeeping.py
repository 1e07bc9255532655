"""Stale git files a killed process leaves: libgit2 temp files and ``.git/index.lock``.

A SIGKILLed fetch leaves its half-received pack (``objects/pack/pack_git2_*``, or git's
``tmp_pack_*``) and loose-object temp files (``objects/tmp_object_git2_*``,
``objects/??/tmp_obj_*``): megabytes nobody will ever read. A killed commit leaves
``.git/index.lock``, and then every later commit fails with "the index is locked".

A file is removed only when no live process can be writing it (Linux ``/proc``):

* nobody has it open (``/proc/<pid>/fd``: a fetch in progress keeps its pack open),
* it was last written more than :data:`MIN_AGE_S` seconds ago, and
* for ``index.lock``: every other live process working in the vault (its current
  folder inside the vault, as the agent's service unit and a person's ``git commit``
  waiting for an editor have) started after the lock was written, so none of them can
  be its holder. This process is not counted: sync runs in the thread that commits.
  Shells and terminal multiplexers (:data:`NOT_WRITERS`) are not counted either: a
  shell left open in the vault never writes a git index itself.

Without ``/proc`` (not Linux) nothing is removed. Temp files are deleted (git's own
``git gc`` does the same); an index lock is moved to ``local-cache/quarantine/``, as the
agent does with a dead agent's lock. Each removal is logged as
``event=stale_git_file``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ..vault import Vault

log = logging.getLogger("vault_agent.sync")
MIN_AGE_S = 60.0
PROC = Path("/proc")
TEMP_PATTERNS = (
    "objects/pack/pack_git2_*",
    "objects/pack/tmp_*",
    "objects/tmp_object_git2_*",
    "objects/??/tmp_obj_*",
    "objects/??/tmp_object_git2_*",
)


NOT_WRITERS = frozenset(
    {"bash", "sh", "dash", "zsh", "fish", "ksh", "tcsh", "csh", "tmux", "screen", "sshd", "login"}
)


def _comm(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]


def _open_paths(pid: int) -> set[str]:
    """Files process ``pid`` has open (empty if it cannot be inspected)."""
    out = set()
    try:
        for fd in (PROC / str(pid) / "fd").iterdir():
            try:
                out.add(os.readlink(fd))
            except OSError:
                continue
    except OSError:
        pass
    return out


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(PROC / str(pid) / "cwd")
    except OSError:
        return None


def _boot_time() -> float:
    """Boot time, seconds since the epoch (``btime`` in /proc/stat)."""
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def _started(pid: int, boot: float) -> float | None:
    """When process ``pid`` started, seconds since the epoch (None if it is gone)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime


def _all_open(pids: list[int]) -> set[str]:
    """Every file some process has open (as far as this user can see)."""
    out: set[str] = set()
    for pid in pids:
        out |= _open_paths(pid)
    return out


def _holder_may_live(lock: Path, root: Path, pids: list[int]) -> int | None:
    """The pid of a live process working in the vault that predates ``lock``, or None."""
    written = lock.stat().st_mtime
    boot = _boot_time()
    me = os.getpid()
    for pid in pids:
        if pid == me:
            continue
        cwd = _cwd(pid)
        if cwd is None or not Path(cwd).is_relative_to(root) or _comm(pid) in NOT_WRITERS:
            continue
        started = _started(pid, boot)
        if started is not None and started <= written + 1:  # ticks round: 1 s margin
            return pid
    return None


def clean_stale_git_files(vault: Vault, min_age_s: float = MIN_AGE_S) -> list[str]:
    """Remove stale libgit2/git temp files and a stale ``.git/index.lock`` (see module doc).

    Returns the paths removed (relative to ``.git``). Never raises for a file that
    vanished or cannot be removed (it is left for the next round).
    """
    if not (PROC / "self" / "fd").is_dir():
        return []
    gitdir = Path(vault.repo.path).resolve()
    root = vault.root.resolve()
    now = time.time()
    pids = _pids()
    candidates = [p for pattern in TEMP_PATTERNS for p in gitdir.glob(pattern)]
    lock = gitdir / "index.lock"
    if not candidates and not lock.exists():
        return []
    busy = _all_open(pids)
    removed: list[str] = []
    for p in candidates:
        try:
            st = p.stat()
            if not p.is_file() or now - st.st_mtime < min_age_s or str(p) in busy:
                continue
            p.unlink()
        except OSError:
            continue
        rel = p.relative_to(gitdir).as_posix()
        removed.append(rel)
        log.warning(
            "event=stale_git_file removed=.git/%s bytes=%d age_s=%.0f "
            "reason=temp file of an interrupted git transfer",
            rel,
            st.st_size,
            now - st.st_mtime,
        )
    try:
        age = now - lock.stat().st_mtime
        if age >= min_age_s and str(lock) not in busy:
            holder = _holder_may_live(lock, root, pids)
            if holder is None:
                dest = vault.cache_dir("quarantine") / f"index.lock.{int(now)}"
                os.replace(lock, dest)
                removed.append("index.lock")
                log.warning(
                    "event=stale_git_file removed=.git/index.lock moved_to=%s age_s=%.0f "
                    "reason=older than every live process working in the vault",
                    dest,
                    age,
                )
            else:
                log.info(
                    "event=git_lock_kept path=.git/index.lock holder_pid=%d "
                    "reason=a process older than the lock works in the vault",
                    holder,
                )
    except OSError:
        pass
    return removed
