"""Moving the working copy from one commit to another, crash-safely, and the sync lock.

Order of work: (1) a journal ``.vault/sync/journal.json`` names the old and target
commits; (2) changed files are written atomically, each only if the working file
still holds the old version (a local edit is never overwritten); (3) the index is
updated; (4) ``main`` moves to the target; (5) the journal is removed. Every step is
idempotent, so after a SIGKILL anywhere :func:`recover` redoes the work from the
journal; HEAD never points at a commit whose files are not in place. Files are
flushed with one ``os.sync()`` before the index and ``main`` move, not one fsync each.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pygit2

from ..errors import LockedError, VaultError
from ..vault import Vault
from ..vault.atomic import atomic_write_bytes, atomic_write_text
from ..vault.repo import BRANCH, blob_data
from .transport import crash_point

log = logging.getLogger("vault_agent.sync")
MAIN_REF = f"refs/heads/{BRANCH}"


@contextmanager
def sync_lock(vault: Vault, wait_s: float = 30.0) -> Iterator[None]:
    """Hold ``.vault/sync/lock`` (flock: released by the kernel if the process dies).

    Raises:
        LockedError: another sync held it for longer than ``wait_s`` seconds.
    """
    path = vault.state_dir("sync") / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockedError(f"{vault.root}: another 'vault sync' is running") from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def _journal(vault: Vault) -> Path:
    return vault.state_dir("sync") / "journal.json"


def _same(path: Path, oid: pygit2.Oid) -> bool:
    try:
        if path.is_symlink():
            return pygit2.hash(os.readlink(path).encode()) == oid
        return path.is_file() and pygit2.hashfile(str(path)) == oid
    except OSError:
        return False


def check_contained(root: Path, rel: str) -> None:
    """Raise unless every existing folder on the way to ``rel`` is a real folder in ``root``.

    Checked before any folder is created or any file written or removed: a local symlink
    (or a file) where the merge needs a folder never redirects a write outside the vault.

    Raises:
        VaultError: naming the path and the part that is a symlink or not a folder.
    """
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise VaultError(f"{rel}: not a plain vault path; not written")
    d = Path(root)
    for part in parts[:-1]:
        d = d / part
        try:
            st = d.lstat()
        except FileNotFoundError:
            return  # the rest does not exist yet: mkdir creates real folders
        if stat.S_ISLNK(st.st_mode):
            raise VaultError(
                f"{rel}: its folder {d.relative_to(root).as_posix()} is a symlink "
                "(it could lead outside the vault); not written"
            )
        if not stat.S_ISDIR(st.st_mode):
            raise VaultError(
                f"{rel}: {d.relative_to(root).as_posix()} is a file where a folder is needed; "
                "not written"
            )


def _write(repo: pygit2.Repository, root: Path, path: Path, oid: pygit2.Oid, mode: int) -> None:
    """Replace ``path`` by the blob: temp file + rename (atomic; durable after os.sync).

    Containment (:func:`check_contained`) is checked before any folder is created.
    """
    check_contained(root, path.relative_to(root).as_posix())
    data = blob_data(repo, oid)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == pygit2.enums.FileMode.LINK:
        if path.is_symlink() or path.exists():
            path.unlink()
        os.symlink(data.decode("utf-8", "replace"), path)
        return
    executable = mode == pygit2.enums.FileMode.BLOB_EXECUTABLE
    atomic_write_bytes(path, data, mode=0o755 if executable else 0o644, fsync=False)


def _prune_dirs(root: Path, path: Path) -> None:
    d = path.parent
    while d != root and d.is_dir():
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent


def move_to(vault: Vault, old: pygit2.Oid, target: pygit2.Oid) -> list[str]:
    """Move the working copy, index and ``main`` from commit ``old`` to ``target``.

    Returns the paths kept because they were edited locally meanwhile (they stay
    as pending changes; never overwritten).
    """
    atomic_write_text(_journal(vault), json.dumps({"old": str(old), "target": str(target)}) + "\n")
    kept = _apply(vault, old, target)
    _journal(vault).unlink(missing_ok=True)
    return kept


def _apply(vault: Vault, old: pygit2.Oid, target: pygit2.Oid) -> list[str]:
    repo = vault.repo
    old_tree = repo[old].peel(pygit2.Tree)
    new_tree = repo[target].peel(pygit2.Tree)
    kept: list[str] = []
    index_changes: list[tuple[str, pygit2.Oid | None, int]] = []
    for n, d in enumerate(old_tree.diff_to_tree(new_tree).deltas):
        deleted = d.status == pygit2.enums.DeltaStatus.DELETED
        rel = d.old_file.path if deleted else d.new_file.path
        full = vault.root / rel
        if deleted:
            try:
                check_contained(vault.root, rel)
            except VaultError as e:
                # Trigger: a peer deleted a file whose folder is a local symlink here.
                # Why: unlinking through it would remove a file outside the vault.
                # What: leave it; the index still records the deletion.
                log.warning("%s", e)
                index_changes.append((rel, None, 0))
                continue
            if full.is_symlink() or full.exists():
                if _same(full, d.old_file.id):
                    full.unlink()
                    _prune_dirs(vault.root, full)
                else:
                    kept.append(rel)
            index_changes.append((rel, None, 0))
            continue
        new_id, mode = d.new_file.id, d.new_file.mode
        if not _same(full, new_id):
            unchanged = not (full.is_symlink() or full.exists()) or (
                d.status != pygit2.enums.DeltaStatus.ADDED and _same(full, d.old_file.id)
            )
            if unchanged:
                try:
                    _write(repo, vault.root, full, new_id, mode)
                except VaultError as e:
                    # Trigger: the file's folder is a local symlink leading elsewhere.
                    # Why: sync never writes outside the vault. What: leave it, report.
                    log.warning("%s", e)
                    kept.append(rel)
            else:
                kept.append(rel)
        index_changes.append((rel, new_id, mode))
        if n == 0:
            crash_point("merge")
    # One flush for all files (an fsync per file costs ~10 ms on an SD card); the
    # index and main only move once every file is on disk.
    os.sync()
    index = repo.index
    index.read()
    for rel, oid, file_mode in index_changes:
        if oid is None:
            try:
                index.remove(rel)
            except (OSError, KeyError, pygit2.GitError):
                pass
        else:
            index.add(pygit2.IndexEntry(rel, oid, pygit2.enums.FileMode(file_mode)))
    index.write()
    crash_point("merge-index")
    repo.references.create(MAIN_REF, target, force=True)
    if kept:
        log.warning("sync kept local edits of %s (now pending changes)", ", ".join(kept))
    return kept


def recover(vault: Vault) -> bool:
    """Finish a move that was interrupted (SIGKILL, power cut); True if there was one."""
    jp = _journal(vault)
    if not jp.exists():
        return False
    try:
        j = json.loads(jp.read_text("utf-8"))
        old, target = pygit2.Oid(hex=j["old"]), pygit2.Oid(hex=j["target"])
        vault.repo[target]
        vault.repo[old]
    except (ValueError, KeyError, TypeError, OSError):
        log.warning("dropping an unreadable sync journal %s", jp)
        jp.unlink(missing_ok=True)
        return False
    head = vault.repo.references[MAIN_REF].target if MAIN_REF in vault.repo.references else None
    if head == old:
        log.warning("completing an interrupted sync: moving to %s", str(target)[:10])
        _apply(vault, old, target)
    elif head != target:
        log.warning("sync journal does not match HEAD (%s); dropped", str(head)[:10])
    jp.unlink(missing_ok=True)
    return True


def clear_stale_fetch_locks(vault: Vault) -> list[Path]:
    """Remove lock files a killed fetch can leave (``FETCH_HEAD.lock``, remote-tracking refs).

    Only sync writes these, and the caller holds the sync lock, so any found are stale;
    left in place they would make every later fetch fail. Returns the files removed.
    """
    gitdir = Path(vault.repo.path)
    found = [gitdir / "FETCH_HEAD.lock", *(gitdir / "refs" / "remotes").rglob("*.lock")]
    removed = []
    for p in found:
        if p.is_file():
            p.unlink()
            removed.append(p)
            log.warning("removed stale lock %s left by an interrupted sync", p)
    return removed
