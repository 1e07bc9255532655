"""What may be committed: one set of checks for every path that commits a person's changes.

``vault commit`` and the commit ``vault sync`` makes before it fetches run the same
checks (:func:`pending_problems`): each changed file's schema and layout rules
(:func:`~.check.check_tree`) and, for a file already committed, that rollups only grow
and observations are not rewritten, and neither is deleted
(:func:`~.check.check_worktree_changes`). A change
that fails them would be refused by every peer's merge, so committing it would split the
vaults for good (issue: "sync commits what commit refuses").

``vault commit`` stops on any problem (unless ``--no-verify``); sync commits the files
that pass (:func:`commit_accepted`) and leaves the others uncommitted in the working
copy, reported, for the person to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pygit2

from . import repo as git
from .check import Problem, check_tree, check_worktree_changes
from .core import Vault

SUMMARY_NAMES = 3  # file names in an automatic commit's summary before "and N more"


@dataclass(frozen=True)
class CheckedCommit:
    """The outcome of :func:`commit_accepted`.

    ``commit``: the new commit id (hex) or None; ``committed``: the vault paths in it;
    ``refused``: problems of the paths left uncommitted (``path:line: problem``).
    """

    commit: str | None
    committed: tuple[str, ...]
    refused: tuple[Problem, ...]

    @property
    def refused_paths(self) -> list[str]:
        """The vault paths left uncommitted, sorted."""
        return sorted({p.path for p in self.refused})


def pending_problems(vault: Vault, rels: Iterable[str] | None = None) -> list[Problem]:
    """The problems ``vault commit`` finds in pending paths ``rels`` (default: all pending).

    A deleted path is only checked against rule §3.1 (a committed rollup or note is
    never deleted). Returns problems as ``path:line: problem``.
    """
    rels = vault.pending() if rels is None else list(rels)
    present = [p for p in rels if vault.path(p).exists() or vault.path(p).is_symlink()]
    problems = check_tree(vault.root, [str(vault.path(p)) for p in present]) if present else []
    problems += check_worktree_changes(vault.repo, rels)
    return problems


def _refused(rel: str, bad: set[str]) -> bool:
    """True when a problem names ``rel`` or a folder holding it (``agents/Bad Name``)."""
    return rel in bad or any(rel.startswith(b.rstrip("/") + "/") for b in bad)


def summary_of(prefix: str, paths: list[str]) -> str:
    """``<prefix>: a, b, c and N more`` (the first :data:`SUMMARY_NAMES` paths)."""
    names = ", ".join(paths[:SUMMARY_NAMES])
    more = len(paths) - SUMMARY_NAMES
    return f"{prefix}: {names}" + (f" and {more} more" if more > 0 else "")


def commit_accepted(vault: Vault, prefix: str, kind: str = "edit") -> CheckedCommit:
    """Commit every pending change that passes :func:`pending_problems`; keep the rest.

    The summary names the committed files (:func:`summary_of`). A refused path that was
    staged earlier (``git add``) is put back to its committed version in the index only:
    the working file is never touched.

    Raises:
        VaultError, pygit2.GitError, OSError: from committing.
    """
    pending = vault.pending()
    if not pending:
        return CheckedCommit(None, (), ())
    problems = pending_problems(vault, pending)
    bad = {p.path for p in problems}
    accepted = [p for p in pending if not _refused(p, bad)]
    refused_paths = [p for p in pending if _refused(p, bad)]
    if refused_paths:
        _unstage(vault.repo, refused_paths)
    if not accepted:
        return CheckedCommit(None, (), tuple(problems))
    oid = vault.commit(summary_of(prefix, accepted), kind, paths=accepted)
    return CheckedCommit(oid, tuple(accepted) if oid else (), tuple(problems))


def _unstage(repo: pygit2.Repository, rels: list[str]) -> None:
    """Put ``rels`` back to their HEAD version in the index (working files untouched)."""
    index = repo.index
    index.read()
    head = git.head_commit(repo)
    for rel in rels:
        try:
            entry = head.tree[rel] if head is not None else None
        except KeyError:
            entry = None
        if entry is not None and entry.type == pygit2.enums.ObjectType.TREE:
            continue  # a folder in HEAD (a local symlink now stands there): its files stay
        if entry is not None:
            index.add(pygit2.IndexEntry(rel, entry.id, entry.filemode))
        else:
            try:
                index.remove(rel)
            except (OSError, KeyError):
                pass
    index.write()
