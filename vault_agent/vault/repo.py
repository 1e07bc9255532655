"""Git plumbing over pygit2: init, commits with audit trailers, pending changes, history.

Every commit message is a one-line summary, a blank line and trailers
``Vault-Node: <node>`` and ``Vault-Kind: rollup|observation|ask|edit|merge|conflict|agent``
(docs/architecture.md §3.5), so plain ``git log`` and ``vault log`` tell who wrote what.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from ..errors import VaultError
from .files import DEFAULT_MAX_FILE_MB, max_file_bytes

KINDS = (
    "rollup", "observation", "ask", "edit", "merge", "conflict", "init", "config", "memory",
    "agent",
)  # fmt: skip
TRAILER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")
BRANCH = "main"
MAX_FILE_BYTES = DEFAULT_MAX_FILE_MB * 2**20  # the default; see files.max_file_bytes


def init_repo(path: Path, bare: bool = False) -> pygit2.Repository:
    """Create a git repository whose unborn branch is ``main``."""
    return pygit2.init_repository(str(path), bare=bare, initial_head=BRANCH)


def signature(node: str) -> pygit2.Signature:
    """The author/committer of a node's commits: ``<node> <node@vault.local>``."""
    return pygit2.Signature(node, f"{node}@vault.local")


def format_message(
    summary: str, node: str, kind: str, trailers: list[tuple[str, str]] | None = None
) -> str:
    """Build a commit message: summary, blank line, Vault-Node/Vault-Kind and extra trailers."""
    summary = " ".join(summary.split()) or f"{kind} by {node}"
    lines = [summary, "", f"Vault-Node: {node}", f"Vault-Kind: {kind}"]
    lines += [f"{k}: {v}" for k, v in trailers or []]
    return "\n".join(lines) + "\n"


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """The trailers (``Key: value`` lines) of a commit message's last paragraph."""
    paras = message.strip().split("\n\n")
    if len(paras) < 2:
        return []
    out = []
    for line in paras[-1].splitlines():
        m = TRAILER_RE.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def pending_changes(repo: pygit2.Repository) -> list[str]:
    """Paths with uncommitted changes (new, modified, deleted; ignored files excluded)."""
    ignored = pygit2.GIT_STATUS_IGNORED
    return sorted(p for p, flags in repo.status().items() if flags != ignored and flags)


def stage(repo: pygit2.Repository, paths: list[str] | None = None) -> list[str]:
    """Stage ``paths`` (all pending changes if None); returns the paths staged.

    Files over the size limit (:func:`~.files.max_file_bytes`) and symlinks pointing
    outside the vault are not staged (``vault check`` reports them); nor is the deletion
    of a file behind a local symlinked folder.
    """
    root = Path(repo.workdir).resolve()
    index = repo.index
    index.read()
    candidates = pending_changes(repo) if paths is None else paths
    staged = []
    limit = max_file_bytes(root)
    for rel in candidates:
        full = root / rel
        if full.is_symlink() or full.exists():
            if full.is_dir() and not full.is_symlink():
                continue
            if full.is_symlink():
                if not Path(os.path.realpath(full)).is_relative_to(root):
                    continue
            elif full.stat().st_size > limit:
                continue
            index.add(rel)
        elif _behind_symlink(root, rel):
            # Trigger: a committed file is missing because a folder on its way is a
            # local symlink (sync refused to write through it). Why: it was never
            # deleted; committing a deletion would remove it from every node.
            # What: not staged; `vault check` lists the symlink.
            continue
        else:
            try:
                index.remove(rel)
            except (OSError, KeyError):
                continue
        staged.append(rel)
    index.write()
    return staged


def _behind_symlink(root: Path, rel: str) -> bool:
    """True when a folder on the way to ``rel`` is a symlink or a file in the working tree."""
    d = root
    for part in rel.split("/")[:-1]:
        d = d / part
        if d.is_symlink() or (d.exists() and not d.is_dir()):
            return True
        if not d.exists():
            return False
    return False


def head_commit(repo: pygit2.Repository) -> pygit2.Commit | None:
    """The commit HEAD points at, or None in an empty repository."""
    if repo.head_is_unborn:
        return None
    return repo.head.peel(pygit2.Commit)


def blob_data(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    """The bytes of the blob ``oid`` (a file's content in some tree).

    Raises:
        KeyError: no object ``oid`` in the repository.
        VaultError: ``oid`` names a tree, commit or tag where a file's blob is expected.
    """
    obj = repo[oid]
    if not isinstance(obj, pygit2.Blob):
        raise VaultError(f"git object {oid} is a {obj.type_str}, not a file's blob")
    return obj.data


def commit(
    repo: pygit2.Repository,
    summary: str,
    node: str,
    kind: str,
    paths: list[str] | None = None,
    trailers: list[tuple[str, str]] | None = None,
    parents: list[pygit2.Oid] | None = None,
    allow_empty: bool = False,
) -> str | None:
    """Stage and commit; returns the new commit id (hex) or None if nothing changed.

    Args:
        summary: one-line summary.
        node: the writing node (author and ``Vault-Node``).
        kind: one of :data:`KINDS` (``Vault-Kind``).
        paths: paths to stage; None stages every pending change.
        trailers: extra ``(key, value)`` trailers.
        parents: explicit parents (merges); default HEAD.

    Raises:
        VaultError: an unknown ``kind`` (the audit trail only knows :data:`KINDS`).
    """
    if kind not in KINDS:
        raise VaultError(f"unknown commit kind {kind!r}; use one of {', '.join(KINDS)}")
    stage(repo, paths)
    tree = repo.index.write_tree()
    head = head_commit(repo)
    if parents is None:
        parents = [head.id] if head else []
        if head is not None and head.tree_id == tree and not allow_empty:
            return None
    sig = signature(node)
    oid = repo.create_commit(
        "HEAD", sig, sig, format_message(summary, node, kind, trailers), tree, parents
    )
    return str(oid)


@dataclass(frozen=True)
class CommitInfo:
    """One commit of history with its vault trailers. ``time`` is UTC ISO 8601."""

    id: str
    summary: str
    node: str
    kind: str
    time: str
    author: str
    trailers: list[tuple[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "summary": self.summary,
            "node": self.node,
            "kind": self.kind,
            "time": self.time,
            "author": self.author,
            "trailers": [list(t) for t in self.trailers],
            "paths": self.paths,
        }


def changed_paths(repo: pygit2.Repository, c: pygit2.Commit) -> list[str]:
    """Paths a commit changed against its first parent (all paths for a root commit)."""
    if c.parents:
        diff = repo.diff(c.parents[0].tree, c.tree)  # type: ignore[call-overload]  # pygit2 stubs lack Tree
    else:
        diff = c.tree.diff_to_tree(swap=True)
    return sorted({d.delta.new_file.path for d in diff} | {d.delta.old_file.path for d in diff})


def history(
    repo: pygit2.Repository,
    node: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    path: str | None = None,
    limit: int | None = None,
    with_paths: bool = False,
) -> list[CommitInfo]:
    """Commits reachable from HEAD, newest first.

    Filtered by trailer ``node`` / ``kind``, commit time ≥ ``since`` (UTC) and ``path``
    (a file or folder prefix the commit changed). ``paths`` of each CommitInfo is
    filled when filtering by path or with ``with_paths``.
    """
    head = head_commit(repo)
    if head is None:
        return []
    out: list[CommitInfo] = []
    order = pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME
    for c in repo.walk(head.id, order):
        t = datetime.fromtimestamp(c.commit_time, UTC)
        if since and t < since:
            continue
        tr = parse_trailers(c.message)
        d = dict(tr)
        cnode, ckind = d.get("Vault-Node", ""), d.get("Vault-Kind", "")
        if node and cnode != node:
            continue
        if kind and ckind != kind:
            continue
        paths = changed_paths(repo, c) if path or with_paths else []
        if path and not any(p == path or p.startswith(path.rstrip("/") + "/") for p in paths):
            continue
        out.append(
            CommitInfo(
                str(c.id),
                c.message.splitlines()[0] if c.message else "",
                cnode,
                ckind,
                t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                c.author.name,
                tr,
                paths,
            )
        )
        if limit and len(out) >= limit:
            break
    return out


def clone_plain(url: str, root: Path) -> None:
    """Clone ``url``'s ``main`` into ``root`` without credentials (a local path or an
    anonymous URL); sync's ``transport.clone`` is the one for SSH.

    Raises:
        pygit2.GitError: no such repository, unreachable.
    """
    pygit2.clone_repository(url, str(root), checkout_branch=BRANCH)
