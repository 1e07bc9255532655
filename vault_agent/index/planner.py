"""Plan an index update: which files are new, modified, deleted or unchanged.

Planning is separate from doing (basic-memory's change report): :func:`plan` only
reads git and the working tree; :mod:`.indexer` applies the report.

Candidates are found cheaply, then confirmed by content hash (git blob id):
- the paths ``git diff`` shows between the last indexed commit and HEAD;
- uncommitted paths (``git status``);
- paths that were uncommitted at the last run (an edit since reverted shows in
  neither of the above but must be re-read).
Without a usable last commit (first build, history rewritten) every file is a
candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pygit2

from ..vault import Vault, files
from .chunker import indexable


@dataclass(frozen=True)
class ChangeReport:
    """What changed since the last index run. ``hashes``: path → git blob id of every
    indexable file now present (new ones included)."""

    new: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: int = 0
    hashes: dict[str, str] = field(default_factory=dict)
    dirty: tuple[str, ...] = ()
    full_scan: bool = False

    @property
    def changed(self) -> int:
        """Number of files to (re)index or drop."""
        return len(self.new) + len(self.modified) + len(self.deleted)

    def as_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "new": list(self.new),
            "modified": list(self.modified),
            "deleted": list(self.deleted),
            "unchanged": self.unchanged,
            "full_scan": self.full_scan,
        }


def file_hash(vault: Vault, rel: str) -> str | None:
    """Git blob id (hex) of a working-tree file, or None if it is gone or unreadable.

    A file a reader must not open (a symlink, a name that is not UTF-8, a file over
    the size limit: :func:`~vault_agent.vault.files.read_problem`) counts as gone; the
    skip is logged once.
    """
    if not files.readable(vault.root, rel):
        return None
    p = vault.path(rel)
    try:
        return str(pygit2.hashfile(str(p)))
    except (OSError, ValueError):
        return None


def _diff_paths(vault: Vault, since: str) -> set[str] | None:
    head = vault.head()
    if head is None:
        return set()
    try:
        old = vault.repo.revparse_single(since).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return None  # the last indexed commit is gone (history rewritten): full scan
    new = vault.repo.revparse_single(head).peel(pygit2.Commit)
    if old.id == new.id:
        return set()
    out: set[str] = set()
    for patch in vault.repo.diff(old.tree, new.tree):
        out.add(patch.delta.old_file.path)
        out.add(patch.delta.new_file.path)
    return out


def plan(
    vault: Vault,
    last_commit: str | None,
    known: dict[str, str],
    dirty: Iterable[str] = (),
    full: bool = False,
) -> ChangeReport:
    """Compare the vault with the last run's state.

    Args:
        last_commit: HEAD at the last run (None: first run).
        known: path → blob id indexed at the last run.
        dirty: paths that were uncommitted at the last run.
        full: hash every file (rebuilds, or when git cannot tell).
    """
    pending = [p for p in vault.pending() if indexable(p)]
    diff = None if (full or not last_commit) else _diff_paths(vault, last_commit)
    if diff is None:
        candidates = {p for p in files.vault_files(vault.root) if indexable(p)} | set(known)
        full_scan = True
    else:
        candidates = {p for p in diff | set(pending) | set(dirty) if indexable(p)}
        full_scan = False
    hashes = {p: h for p, h in known.items() if p not in candidates and indexable(p)}
    new, modified = [], []
    deleted = [p for p in known if not indexable(p)]  # the rules changed since
    for p in sorted(c for c in candidates if indexable(c)):
        h = file_hash(vault, p)
        if h is None:
            if p in known:
                deleted.append(p)
            continue
        hashes[p] = h
        if p not in known:
            new.append(p)
        elif known[p] != h:
            modified.append(p)
    unchanged = len(hashes) - len(new) - len(modified)
    return ChangeReport(
        tuple(new),
        tuple(modified),
        tuple(sorted(deleted)),
        unchanged,
        hashes,
        tuple(sorted(pending)),
        full_scan,
    )
