"""Who wrote a file version: the commit that introduced a blob at a path, and its node.

Rule 3 of docs/architecture.md §3 (one writer per folder) needs, for a version of
``agents/<node>/…`` offered by a peer, the writer of the commit that produced it. A
commit *introduces* ``(path, blob)`` when its tree holds that blob at that path and no
parent's tree does (for a merge commit: it differs from every parent, i.e. the merge
wrote it rather than taking it from one side). A deletion is ``(path, None)``.
The writer is the ``Vault-Node`` trailer, or the author name for plain git commits.
"""

from __future__ import annotations

from collections import defaultdict

import pygit2

from ..vault.repo import parse_trailers

Key = tuple[str, "pygit2.Oid | None"]
FALLBACK_LIMIT = 5000


def writer_of(commit: pygit2.Commit) -> str:
    """The node that wrote ``commit``: its ``Vault-Node`` trailer, else the author's name."""
    for key, value in parse_trailers(commit.message or ""):
        if key == "Vault-Node":
            return value.strip()
    return commit.author.name


def _entry(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        obj = tree[path]
    except KeyError:
        return None
    return obj.id if obj.type == pygit2.enums.ObjectType.BLOB else None


def introduced(repo: pygit2.Repository, commit: pygit2.Commit) -> dict[str, pygit2.Oid | None]:
    """Paths ``commit`` introduced, with the new blob id (None for a deletion)."""
    if not commit.parents:
        out: dict[str, pygit2.Oid | None] = {}
        for d in commit.tree.diff_to_tree(swap=True).deltas:
            out[d.new_file.path] = d.new_file.id
        return out
    per_parent = []
    for parent in commit.parents:
        changes = {}
        for d in parent.tree.diff_to_tree(commit.tree).deltas:
            path = d.new_file.path
            changes[path] = None if d.status == pygit2.enums.DeltaStatus.DELETED else d.new_file.id
        per_parent.append(changes)
    first, *rest = per_parent
    return {p: oid for p, oid in first.items() if all(p in other for other in rest)}


class Provenance:
    """Writers of the file versions introduced by commits reachable from ``tip`` but not ``hide``.

    Built once per merge by walking the peer's new commits (cheap: one tree diff per
    commit). Versions introduced earlier are looked up by walking back from ``tip``.
    """

    def __init__(
        self, repo: pygit2.Repository, tip: pygit2.Oid, hide: list[pygit2.Oid] | None = None
    ) -> None:
        self.repo = repo
        self.tip = tip
        self._writers: dict[Key, set[str]] = defaultdict(set)
        self._meta: dict[Key, tuple[str, int]] = {}
        walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
        for h in hide or []:
            walker.hide(h)
        for c in walker:
            w = writer_of(c)
            for path, oid in introduced(repo, c).items():
                self._writers[(path, oid)].add(w)
                self._meta.setdefault((path, oid), (w, c.commit_time))

    def writers(self, path: str, oid: pygit2.Oid | None) -> set[str]:
        """Nodes whose commits introduced ``oid`` at ``path`` (empty if unknown)."""
        key = (path, oid)
        if key not in self._writers and oid is not None:
            self._lookup(path, oid)
        return self._writers.get(key, set())

    def origin(self, path: str, oid: pygit2.Oid | None) -> tuple[str, int] | None:
        """(writer, commit time in Unix seconds) of the newest commit introducing the version."""
        self.writers(path, oid)
        return self._meta.get((path, oid))

    def _lookup(self, path: str, oid: pygit2.Oid) -> None:
        """Walk back from the tip along commits holding ``oid`` at ``path`` to its introducer."""
        seen: set[pygit2.Oid] = set()
        stack = [self.repo[self.tip].peel(pygit2.Commit)]
        while stack and len(seen) < FALLBACK_LIMIT:
            c = stack.pop()
            if c.id in seen:
                continue
            seen.add(c.id)
            if _entry(c.tree, path) != oid:
                continue
            holders = [p for p in c.parents if _entry(p.tree, path) == oid]
            if holders:
                stack.extend(holders)
            else:
                w = writer_of(c)
                self._writers[(path, oid)].add(w)
                self._meta.setdefault((path, oid), (w, c.commit_time))
