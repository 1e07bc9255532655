"""Merging a peer's tree into ours under the rules of docs/architecture.md §3.

Only the paths the peer changed since the merge base are decided; everything else
stays as ours. For each such path (base ``b``, ours ``o``, theirs ``t``):

0. a peer's version is refused before anything else is read when its name is not
   valid UTF-8 or is reserved, when it lies outside the layout (a top-level entry
   other than the layout's own, a ``.gitignore``/``.gitattributes``/``.gitmodules``
   other than the vault's generated root ``.gitignore``), when it is a symlink or
   submodule, when its blob is over the size limit (read from the object header; the
   content is never loaded), and when it changes ``agents/<this node>/``: a node is
   the only writer of its own folder, whatever the commit trailers say;
1. files of different writers are plain additions (``o == b``: take ``t``);
2. an append-only rollup file may only grow (:func:`rules.merge_append_only`);
   observation and memory files are immutable once written;
3. a version under ``agents/<node>/`` not written by ``<node>`` is refused
   (:class:`~.provenance.Provenance`), ours kept, the rest of the merge goes on;
4. ``shared-memory/*.json``: key-by-key three-way merge (:mod:`.jsonmerge`);
5. other text changed on both sides: git's line merge; on a conflict ours stays in
   place and theirs is written as a Syncthing conflict copy. An edit beats a delete;
   a conflict copy is never itself copied again.

The result is a list of index changes on top of our tree plus a report; nothing is
written to the working tree here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pygit2

from ..vault import files, layout
from ..vault import repo as git
from . import jsonmerge, rules
from .provenance import Provenance

Blob = tuple[pygit2.Oid, int]
"""A file in a tree: (blob id, git file mode)."""
Entry = Blob | None
APPEND_ONLY = layout.APPEND_ONLY_KINDS
IMMUTABLE = layout.IMMUTABLE_KINDS


@dataclass(frozen=True)
class Conflict:
    """A path both sides changed incompatibly: ours kept at ``path``, theirs at ``copy``.

    ``keys`` lists the JSON keys that conflicted (shared-memory files).
    """

    path: str
    copy: str
    writer: str
    keys: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "path": self.path,
            "copy": self.copy,
            "writer": self.writer,
            "keys": list(self.keys),
        }

    def trailer(self) -> tuple[str, str]:
        """The ``Vault-Conflict`` commit trailer."""
        extra = f" (keys: {', '.join(self.keys)})" if self.keys else ""
        return ("Vault-Conflict", f"{self.path} -> {self.copy}{extra}")


@dataclass(frozen=True)
class Refusal:
    """A peer's version of ``path`` that was not taken, and why."""

    path: str
    reason: str
    writers: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {"path": self.path, "reason": self.reason, "writers": list(self.writers)}

    def trailer(self) -> tuple[str, str]:
        """The ``Vault-Refused`` commit trailer."""
        return ("Vault-Refused", f"{self.path}: {self.reason}")


@dataclass
class MergeResult:
    """Index changes (path → entry or None to delete) on top of ours, and the report."""

    changes: dict[str, Entry] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    merged_auto: list[str] = field(default_factory=list)
    hlcs: list[str] = field(default_factory=list)


def _entries(repo: pygit2.Repository, a: pygit2.Tree | None, b: pygit2.Tree) -> dict[str, Entry]:
    """Paths that differ from ``a`` to ``b``, with their entry in ``b`` (None: deleted)."""
    diff = a.diff_to_tree(b) if a is not None else b.diff_to_tree(swap=True)
    out: dict[str, Entry] = {}
    for d in diff.deltas:
        if d.status == pygit2.enums.DeltaStatus.DELETED:
            out[d.old_file.path] = None
        else:
            out[d.new_file.path] = (d.new_file.id, d.new_file.mode)
    return out


def _lookup(tree: pygit2.Tree | None, path: str) -> Entry:
    if tree is None:
        return None
    try:
        obj = tree[path]
    except KeyError:
        return None
    if obj.type != pygit2.enums.ObjectType.BLOB:
        return None
    return (obj.id, obj.filemode)


def _index_entry(path: str, e: Blob) -> pygit2.IndexEntry:
    """An index entry for ``path`` holding blob ``e``."""
    return pygit2.IndexEntry(path, e[0], pygit2.enums.FileMode(e[1]))


class TreeMerger:
    """Decides, path by path, how a peer's tree merges into ours.

    Args:
        repo: the repository holding all three trees.
        node: this node's id (the writer of conflict copies it keeps as ours).
        provenance: writers of the peer's file versions (rule 3).
        fallback_time: when a conflict copy's origin commit is unknown.
        max_bytes: the size limit for a peer's blob (default: ``[limits] max_file_mb`` of
            the working copy's vault.toml, see :func:`~vault_agent.vault.files.max_file_bytes`).
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        node: str,
        provenance: Provenance,
        fallback_time: datetime | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.repo = repo
        self.node = node
        self.max_bytes = max_bytes if max_bytes is not None else files.max_file_bytes(repo.workdir)
        self.prov = provenance
        self.fallback_time = fallback_time or datetime.now(UTC)
        self.result = MergeResult()
        self._taken: set[str] = set()

    def merge(
        self,
        base: pygit2.Tree | None,
        ours: pygit2.Tree,
        theirs: pygit2.Tree,
        history: tuple[pygit2.Oid, pygit2.Oid, pygit2.Oid | None] | None = None,
    ) -> MergeResult:
        """Merge ``theirs`` into ``ours`` from ``base``; returns the changes and report.

        ``history`` is (ours, theirs, base) commit ids: with it, a version one side
        already had in its history since the base counts as superseded there (this
        is what a recursive merge's virtual base gives git in criss-cross merges).
        """
        self._ours = ours
        self._theirs = theirs
        self._history = history
        self._walked: dict[pygit2.Oid, list[pygit2.Commit]] = {}
        theirs_changes = _entries(self.repo, base, theirs)
        ours_changes = _entries(self.repo, base, ours)
        for path in sorted(theirs_changes):
            b = _lookup(base, path)
            o = ours_changes[path] if path in ours_changes else b
            self._decide(path, b, o, theirs_changes[path])
        return self.result

    # -- helpers -------------------------------------------------------------------------
    def _data(self, e: Entry) -> bytes | None:
        return None if e is None else git.blob_data(self.repo, e[0])

    def _take(self, path: str, e: Entry) -> None:
        self.result.changes[path] = e

    def _refuse(self, path: str, reason: str, writers: set[str] | None = None) -> None:
        self.result.refused.append(Refusal(path, reason, tuple(sorted(writers or ()))))

    def _owner_refusal(self, path: str, info: layout.PathInfo, t: Entry) -> bool:
        """Rule 3: refuse a version of ``agents/<node>/…`` written by anyone else."""
        if info.node is None or not path.startswith(f"{layout.AGENTS}/"):
            return False
        writers = self.prov.writers(path, t[0] if t else None)
        if info.node in writers:
            return False
        what = "deleted" if t is None else "written"
        who = ", ".join(sorted(writers)) or "an unknown writer"
        self._refuse(path, f"{what} by {who}, not by its owner node {info.node}", writers)
        return True

    def _note_hlcs(self, kind: str, old: bytes | None, new: bytes) -> None:
        if kind == layout.PathKind.ROLLUP:
            self.result.hlcs += rules.hlcs_in(rules.new_lines(old, new))
        elif kind in (layout.PathKind.OBSERVATION, layout.PathKind.MEMORY):
            self.result.hlcs += rules.hlcs_in(new, markdown=True)

    def _name_refusal(self, path: str, t: Entry) -> bool:
        """Rule 0 for names: not UTF-8, reserved, outside the layout, git control files."""
        problem = files.name_problem(path) or files.layout_problem(path)
        if problem is None and path == ".gitignore" and t is None:
            problem = "the vault's .gitignore is its own; a peer cannot delete it"
        elif problem is None and path == ".gitignore" and t is not None:
            # Trigger: a peer changes the root .gitignore. Why: its rules decide what git
            # commits (a peer could hide knowledge-base/). What: only the vault's own
            # generated content is accepted; anything else is refused, ours kept.
            template = files.gitignore_template()
            _, size = self.repo.odb.read_header(t[0])  # compared unread if the size differs
            if (
                template is None
                or size != len(template)
                or git.blob_data(self.repo, t[0]) != template
            ):
                problem = (
                    "the vault's .gitignore is its own; only its generated content is accepted"
                )
        if problem:
            self._refuse(files.shown(path), problem)
            return True
        return False

    def _own_folder_refusal(self, path: str, t: Entry) -> bool:
        """Rule 0: a peer's change to ``agents/<this node>/`` is refused, ours kept."""
        if not path.startswith(f"{layout.AGENTS}/{self.node}/"):
            return False
        if self._had(0, path, t):
            return True  # an older version of ours, already superseded here: nothing to do
        what = "deleted" if t is None else "changed"
        writers = self.prov.writers(path, t[0] if t else None)
        self._refuse(
            path,
            f"{what} by a peer in this node's own folder agents/{self.node}/ "
            "(only this node writes there, whatever the trailer says); ours kept",
            writers,
        )
        return True

    def _size_refusal(self, path: str, t: Entry) -> bool:
        """Rule 0 for size: the blob's header gives its size; the content is never loaded."""
        if t is None:
            return False
        _, size = self.repo.odb.read_header(t[0])
        if size <= self.max_bytes:
            return False
        self._refuse(path, f"{files.too_big_message(size, self.max_bytes)}; not written")
        return True

    # -- the decision table --------------------------------------------------------------
    def _decide(self, path: str, b: Entry, o: Entry, t: Entry) -> None:
        if o == t:
            return
        info = layout.classify(path)
        if info.kind == layout.PathKind.IGNORED or any(
            part.lower() == ".git" for part in path.split("/")
        ):
            self._refuse(path, "a path that is never synced (.git, .vault/, local-cache/)")
            return
        if self._name_refusal(path, t):
            return
        if t is not None and t[1] not in (
            pygit2.enums.FileMode.BLOB,
            pygit2.enums.FileMode.BLOB_EXECUTABLE,
        ):
            # Trigger: a peer offers a symlink or submodule. Why: a symlink could lead a
            # later write outside the vault. What: refuse it; the rest merges.
            self._refuse(path, "symlinks and submodules are not accepted from peers")
            return
        if self._own_folder_refusal(path, t) or self._size_refusal(path, t):
            return
        if self._owner_refusal(path, info, t):
            return
        if t is None:
            self._theirs_deleted(path, info, b, o)
            return
        if info.kind in APPEND_ONLY:
            self._append_only(path, info, b, o, t)
            return
        if info.kind in IMMUTABLE and b is not None and t != b:
            self._refuse(path, f"{info.kind} files are immutable once written")
            return
        if o == b or o is None:
            # ours unchanged (a plain addition or update from the other writer), or we
            # deleted a file they edited: the edit wins.
            self._take(path, t)
            self._note_hlcs(info.kind, None, self._data(t) or b"")
            return
        self._both_changed(path, info, b, o, t)

    def _theirs_deleted(self, path: str, info: layout.PathInfo, b: Entry, o: Entry) -> None:
        if info.kind in APPEND_ONLY + IMMUTABLE:
            # Trigger: a peer's tree lacks a rollup/observation file we hold.
            # Why: those files only ever grow or stay; a deletion would lose records.
            # What: refuse, keep ours.
            self._refuse(path, f"deletes a {info.kind} file (append-only/immutable)")
            return
        if o == b:
            self._take(path, None)
        # else: we edited a file they deleted; the edit wins, keep ours.

    def _append_only(self, path: str, info: layout.PathInfo, b: Entry, o: Entry, t: Blob) -> None:
        bd, od, td = self._data(b), self._data(o), self._data(t)
        assert td is not None
        merged, reason = rules.merge_append_only(bd, od, td)
        if reason:
            self._refuse(path, reason)
            return
        if merged == od:
            return
        self._note_hlcs(info.kind, od, merged)
        if merged == td:
            self._take(path, t)
        else:
            mode = o[1] if o else t[1]
            self._take(path, (self.repo.create_blob(merged), mode))
            self.result.merged_auto.append(path)

    def _since_base(self, tip: pygit2.Oid) -> list[pygit2.Commit]:
        if tip not in self._walked:
            assert self._history is not None
            walker = self.repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
            if self._history[2] is not None:
                walker.hide(self._history[2])
            self._walked[tip] = list(walker)
        return self._walked[tip]

    def _had(self, side: int, path: str, e: Entry) -> bool:
        """True when the commits of ``side`` (0 ours, 1 theirs) since the base held ``e``."""
        if self._history is None or e is None:
            return False
        tip = self._history[0] if side == 0 else self._history[1]
        return any(_lookup(c.tree, path) == e for c in self._since_base(tip))

    def _both_changed(self, path: str, info: layout.PathInfo, b: Entry, o: Entry, t: Entry) -> None:
        assert o is not None and t is not None
        if self._had(0, path, t):
            # Trigger: both sides differ from the base, but our history already held
            # theirs. Why: a criss-cross merge base is older than what both saw; we
            # moved on from that version. What: keep ours, no conflict.
            return
        if self._had(1, path, o):
            self._take(path, t)  # the mirror case: they moved on from our version
            return
        if info.node is not None and info.node != self.node and path.startswith("agents/"):
            # Trigger: two versions of another node's file, neither superseding the
            # other. Why: only the owner may write there (no copies in its folder).
            # What: keep ours and report; the owner's next sync settles it.
            self._refuse(path, f"diverged versions of node {info.node}'s file; ours kept")
            return
        if layout.is_conflict_copy(path):
            if b is None:
                # Trigger: two merges elsewhere named different losing versions alike
                # (same writer, same second). Why: both are losers to keep. What: ours
                # stays; theirs gets the next free second in its name (not a copy of a copy).
                self._place_copy(self._original_of(path), t, *self._copy_origin(path), bump=True)
                return
            # Trigger: a conflict copy edited differently on both sides.
            # Why: Syncthing never makes a copy of a copy (copies would multiply).
            # What: keep ours; theirs stays in the peer's history.
            self._refuse(path, "conflict copy changed on both sides; ours kept, never copied again")
            return
        bd, od, td = self._data(b), self._data(o), self._data(t)
        assert od is not None and td is not None
        if info.kind == layout.PathKind.SHARED_JSON and self._json(path, bd, od, td, o, t):
            return
        if rules.is_text(od) and rules.is_text(td) and (bd is None or rules.is_text(bd)):
            res = self.repo.merge_file_from_index(
                _index_entry(path, b) if b else None,
                _index_entry(path, o),
                _index_entry(path, t),
            )
            if res.automergeable:
                self._take(path, (self.repo.create_blob(res.contents.encode("utf-8")), o[1]))
                self.result.merged_auto.append(path)
                return
        self._conflict_copy(path, t)

    def _json(self, path: str, bd: bytes | None, od: bytes, td: bytes, o: Entry, t: Entry) -> bool:
        base = jsonmerge.loads_object(bd) if bd is not None else {}
        mine, their = jsonmerge.loads_object(od), jsonmerge.loads_object(td)
        if base is None or mine is None or their is None:
            return False  # not JSON objects on every side: treated as text
        merged, keys = jsonmerge.merge3(base, mine, their)
        if merged != mine:
            self._take(
                path,
                (
                    self.repo.create_blob(jsonmerge.dumps(merged).encode("utf-8")),
                    o[1] if o else 0o100644,
                ),
            )
            self.result.merged_auto.append(path)
        if keys:
            self._conflict_copy(path, t, tuple(keys))
        return True

    def _conflict_copy(self, path: str, t: Entry, keys: tuple[str, ...] = ()) -> None:
        """Keep ours at ``path``; write theirs as ``name.sync-conflict-…-<writer>.ext``."""
        assert t is not None
        origin = self.prov.origin(path, t[0])
        if origin:
            writer, when = origin[0], datetime.fromtimestamp(origin[1], UTC)
        else:
            writer, when = "unknown", self.fallback_time
        if not layout.NODE_RE.match(writer):
            writer = layout.slugify(writer, 32)
        self._place_copy(path, t, writer, when, keys=keys)

    @staticmethod
    def _original_of(copy: str) -> str:
        return layout.original_of(copy)

    @staticmethod
    def _copy_origin(copy: str) -> tuple[str, datetime]:
        c = layout.parse_conflict_copy(copy)
        assert c is not None
        return c.node, c.when

    def _free_for(self, copy: str, t: Blob) -> bool:
        """True when nothing but ``t`` is at ``copy`` in ours, theirs or this merge's changes.

        Theirs counts too: a copy the peer made under the same name (same writer and
        second) must not be overwritten by ours, nor ours by it.
        """
        held = {e for e in (_lookup(self._ours, copy), _lookup(self._theirs, copy)) if e}
        changed = self.result.changes.get(copy)
        if changed is not None:
            held.add(changed)
        return all(e[0] == t[0] for e in held)

    def _place_copy(
        self,
        path: str,
        t: Blob,
        writer: str,
        when: datetime,
        keys: tuple[str, ...] = (),
        bump: bool = False,
    ) -> None:
        """Put blob ``t`` at the first free conflict-copy name of ``path`` from ``when`` on."""
        assert t is not None
        if bump:
            when += timedelta(seconds=1)
        copy = layout.conflict_copy_name(path, when, writer)
        while not self._free_for(copy, t):
            when += timedelta(seconds=1)  # same writer and second, other content
            copy = layout.conflict_copy_name(path, when, writer)
        self._take(copy, t)
        self.result.conflicts.append(Conflict(path, copy, writer, keys))


def merge_trees(
    repo: pygit2.Repository,
    node: str,
    base: pygit2.Tree | None,
    ours: pygit2.Tree,
    theirs: pygit2.Tree,
    provenance: Provenance,
    fallback_time: datetime | None = None,
    history: tuple[pygit2.Oid, pygit2.Oid, pygit2.Oid | None] | None = None,
) -> MergeResult:
    """Merge ``theirs`` into ``ours`` (see the module docstring for the rules).

    ``history``: (ours, theirs, base) commit ids, see :meth:`TreeMerger.merge`.
    """
    return TreeMerger(repo, node, provenance, fallback_time).merge(base, ours, theirs, history)


def apply_changes(
    repo: pygit2.Repository,
    ours: pygit2.Tree,
    changes: dict[str, Entry],
    on_clash: Callable[[str, str], None],
) -> pygit2.Oid:
    """Write the tree of ``ours`` with ``changes`` applied; returns its id.

    A change that cannot be placed (a file where the other side has a folder) is
    skipped and reported through ``on_clash(path, reason)``.
    """
    index = pygit2.Index()
    index.read_tree(ours)
    for path, entry in sorted(changes.items()):
        try:
            if entry is None:
                index.remove(path)
            else:
                index.add(_index_entry(path, entry))
        except (OSError, pygit2.GitError, KeyError, ValueError) as e:
            on_clash(path, f"cannot be placed: {e}")
    return index.write_tree(repo)
