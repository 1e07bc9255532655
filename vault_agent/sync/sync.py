"""``vault sync``: commit, then for each peer fetch → merge → push (DESIGN.md §3).

Library entry point for the agent daemon: :func:`sync_all`. It never raises for a
peer that is unreachable, refused or broken: each outcome is a :class:`PeerResult`
in the :class:`SyncReport`, and failures back off (see :mod:`.state`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pygit2

from ..errors import VaultError
from ..vault import Vault
from ..vault import repo as git
from . import state as st
from . import transport
from .merge import Conflict, Refusal, apply_changes, merge_trees
from .peers import Peer, get_peer, list_peers
from .provenance import Provenance
from .worktree import clear_stale_fetch_locks, move_to, recover, sync_lock

log = logging.getLogger("vault_agent.sync")
DEFAULT_TIMEOUT_S = 60.0
PUSH_RETRIES = 3


class PeerRefused(VaultError):
    """The peer's branch cannot be merged at all (not a vault, unrelated history)."""


@dataclass(frozen=True)
class PeerResult:
    """What happened with one peer.

    ``status``: ``ok`` (fetched, merged and/or pushed), ``up-to-date``, ``skipped``
    (backoff not expired), ``unreachable`` (fetch failed; retried later), ``refused``
    (not a vault / unrelated history), ``error`` (merge or push failed).
    """

    peer: str
    url: str
    status: str
    merged: str | None = None
    fast_forward: bool = False
    pushed: bool = False
    ahead: int | None = None
    behind: int | None = None
    conflicts: tuple[Conflict, ...] = ()
    refused: tuple[Refusal, ...] = ()
    kept_local: tuple[str, ...] = ()
    error: str | None = None
    next_try: str | None = None
    note: str | None = None

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "peer": self.peer,
            "url": self.url,
            "status": self.status,
            "merged": self.merged,
            "fast_forward": self.fast_forward,
            "pushed": self.pushed,
            "ahead": self.ahead,
            "behind": self.behind,
            "conflicts": [c.as_dict() for c in self.conflicts],
            "refused": [r.as_dict() for r in self.refused],
            "kept_local": list(self.kept_local),
            "error": self.error,
            "next_try": self.next_try,
            "note": self.note,
        }


@dataclass(frozen=True)
class SyncReport:
    """The outcome of one sync round. Times are UTC ISO 8601."""

    node: str
    started: str
    finished: str
    committed: str | None
    recovered: bool
    head: str | None
    peers: tuple[PeerResult, ...] = field(default_factory=tuple)

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        """Conflicts of every peer's merge."""
        return tuple(c for p in self.peers for c in p.conflicts)

    @property
    def refused(self) -> tuple[Refusal, ...]:
        """Peer file versions refused by the merge rules."""
        return tuple(r for p in self.peers for r in p.refused)

    @property
    def ok(self) -> bool:
        """True when no peer ended unreachable, refused or in error."""
        return all(p.status in ("ok", "up-to-date", "skipped") for p in self.peers)

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "node": self.node,
            "started": self.started,
            "finished": self.finished,
            "committed": self.committed,
            "recovered": self.recovered,
            "head": self.head,
            "ok": self.ok,
            "peers": [p.as_dict() for p in self.peers],
            "conflicts": [c.as_dict() for c in self.conflicts],
            "refused": [r.as_dict() for r in self.refused],
        }


@dataclass(frozen=True)
class MergeOutcome:
    """One merge of a peer's branch into ours (commit None: nothing to do)."""

    commit: str | None = None
    fast_forward: bool = False
    conflicts: tuple[Conflict, ...] = ()
    refused: tuple[Refusal, ...] = ()
    kept_local: tuple[str, ...] = ()


def _hlc_key(value: str) -> tuple[str, int, str]:
    head, _, counter = value.partition("-")
    return (head, len(counter), counter)


def merge_commit(vault: Vault, peer: Peer, theirs: pygit2.Oid) -> MergeOutcome:
    """Merge ``theirs`` (the peer's ``main``) into our ``main`` and move the working copy.

    Raises:
        PeerRefused: the peer's tree has no vault.toml, or no common history with ours.
        pygit2.GitError: a missing or corrupt object (nothing has been changed).
    """
    repo = vault.repo
    ours = repo.references[f"refs/heads/{git.BRANCH}"].target
    if theirs == ours or repo.descendant_of(ours, theirs):
        return MergeOutcome()
    t_commit = repo[theirs].peel(pygit2.Commit)
    if "vault.toml" not in t_commit.tree:
        raise PeerRefused(
            f"peer {peer.name} ({peer.url}) is not a vault: its main branch "
            "has no vault.toml; nothing merged"
        )
    base = repo.merge_base(ours, theirs)
    if base is None:
        raise PeerRefused(
            f"peer {peer.name} ({peer.url}) holds another vault (no common "
            "history with ours); nothing merged"
        )
    o_commit = repo[ours].peel(pygit2.Commit)
    prov = Provenance(repo, theirs, hide=[ours])
    result = merge_trees(
        repo,
        vault.node,
        repo[base].peel(pygit2.Tree),
        o_commit.tree,
        t_commit.tree,
        prov,
        history=(ours, theirs, base),
    )
    refused = list(result.refused)
    tree = apply_changes(
        repo, o_commit.tree, result.changes, lambda p, why: refused.append(Refusal(p, why))
    )
    if base == ours and tree == t_commit.tree.id and not refused:
        target, ff = theirs, True
    else:
        trailers = [("Vault-Peer", peer.name)]
        trailers += [c.trailer() for c in result.conflicts]
        trailers += [r.trailer() for r in refused]
        summary = f"Merge {peer.name} into {vault.node}"
        if result.conflicts:
            summary += f" ({len(result.conflicts)} conflict(s))"
        if refused:
            summary += f" ({len(refused)} refused)"
        sig = git.signature(vault.node)
        target = repo.create_commit(
            None,
            sig,
            sig,
            git.format_message(summary, vault.node, "merge", trailers),
            tree,
            [ours, theirs],
        )
        ff = False
    if result.hlcs:
        vault.observe_hlc(max(result.hlcs, key=_hlc_key))
    kept = move_to(vault, ours, target)
    return MergeOutcome(str(target), ff, tuple(result.conflicts), tuple(refused), tuple(kept))


def _should_push(peer: Peer, prev: st.PeerState) -> bool:
    if peer.push is not None:
        return peer.push
    bare = transport.peer_is_bare(peer)
    if bare is not None:
        return bare
    return prev.can_push is not False


def _ahead_behind(repo: pygit2.Repository, peer: Peer) -> tuple[int | None, int | None]:
    try:
        head = repo.references[f"refs/heads/{git.BRANCH}"].target
        if peer.remote_ref not in repo.references:
            return (None, None)  # never fetched (or the peer has no commits yet)
        return repo.ahead_behind(head, repo.references[peer.remote_ref].target)
    except (KeyError, pygit2.GitError):
        return (None, None)


def sync_peer(
    vault: Vault, peer: Peer, timeout_s: float = DEFAULT_TIMEOUT_S, force: bool = False
) -> PeerResult:
    """Fetch, merge and (for hubs) push one peer; never raises for peer problems.

    Call under :func:`~.worktree.sync_lock` (``sync_all`` does).
    """
    repo = vault.repo
    states = st.load(vault)
    prev = states.get(peer.name, st.PeerState())
    now = st.now_utc()
    if not force and not prev.due(now):
        return PeerResult(
            peer.name,
            peer.url,
            "skipped",
            next_try=prev.next_try,
            error=prev.last_error,
            note="backoff not expired",
        )
    outcomes: list[MergeOutcome] = []
    pushed = False
    note = None
    can_push = prev.can_push
    try:
        for attempt in range(PUSH_RETRIES):
            fetched = transport.fetch(repo, peer, timeout_s)
            if fetched.head is not None:
                outcomes.append(merge_commit(vault, peer, fetched.head))
            head = repo.references[f"refs/heads/{git.BRANCH}"].target
            if not _should_push(peer, prev) or fetched.head == head:
                break
            try:
                transport.push(repo, peer, timeout_s)
                repo.references.create(peer.remote_ref, head, force=True)
                pushed, can_push = True, True
                break
            except transport.PushRejected as e:
                # Trigger: the peer refused our main. Why: it moved on since our fetch
                # (non-fast-forward) or it is a working copy with main checked out.
                # What: fetch and merge again, then retry; give up after PUSH_RETRIES.
                note = str(e)
                if "checked out" in note or "non-bare" in note:
                    can_push = False
                    break
                if attempt == PUSH_RETRIES - 1:
                    raise
    except transport.TransportError as e:
        new = prev.failed(now, str(e), reachable=e.reachable)
        st.update(vault, peer.name, new)
        return _result(
            peer,
            "error" if e.reachable else "unreachable",
            outcomes,
            pushed,
            error=str(e),
            next_try=new.next_try,
        )
    except PeerRefused as e:
        new = prev.failed(now, str(e), reachable=True)
        st.update(vault, peer.name, new)
        return _result(peer, "refused", outcomes, pushed, error=str(e), next_try=new.next_try)
    except (pygit2.GitError, transport.PushRejected, OSError, KeyError, ValueError) as e:
        msg = f"{type(e).__name__}: {' '.join(str(e).split())}"
        if isinstance(e, pygit2.GitError | KeyError):
            msg = f"peer {peer.name} sent a broken history ({msg}); nothing merged"
        new = prev.failed(now, msg, reachable=True)
        st.update(vault, peer.name, new)
        log.warning("sync with %s failed: %s", peer.name, msg)
        return _result(peer, "error", outcomes, pushed, error=msg, next_try=new.next_try)
    ahead, behind = _ahead_behind(repo, peer)
    st.update(vault, peer.name, replace(prev.succeeded(now, ahead, behind), can_push=can_push))
    changed = pushed or any(o.commit for o in outcomes)
    return _result(
        peer,
        "ok" if changed else "up-to-date",
        outcomes,
        pushed,
        ahead=ahead,
        behind=behind,
        note=note,
    )


def _result(
    peer: Peer, status: str, outcomes: list[MergeOutcome], pushed: bool, **kw
) -> PeerResult:
    merged = [o for o in outcomes if o.commit]
    return PeerResult(
        peer.name,
        peer.url,
        status,
        merged=merged[-1].commit if merged else None,
        fast_forward=bool(merged) and all(o.fast_forward for o in merged),
        pushed=pushed,
        conflicts=tuple(c for o in outcomes for c in o.conflicts),
        refused=tuple(r for o in outcomes for r in o.refused),
        kept_local=tuple(k for o in outcomes for k in o.kept_local),
        **kw,
    )


def sync_all(
    vault: Vault,
    peer: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    force: bool = False,
    on_result: Callable[[PeerResult], None] | None = None,
) -> SyncReport:
    """One sync round: finish an interrupted sync, commit pending changes, then each peer.

    Args:
        peer: only this peer (by name); it is tried even during its backoff.
        timeout_s: per fetch/push, seconds.
        force: ignore every peer's backoff.
        on_result: called after each peer (progress output).
    Raises:
        PeerError: ``peer`` names no configured peer.
        LockedError: another sync holds the vault's sync lock.
    """
    started = datetime.now(UTC)
    with sync_lock(vault):
        clear_stale_fetch_locks(vault)
        recovered = recover(vault)
        committed = vault.commit("Commit pending changes before sync", "edit")
        peers = [get_peer(vault, peer)] if peer else list_peers(vault)
        results = []
        for p in peers:
            r = sync_peer(vault, p, timeout_s, force=force or peer is not None)
            results.append(r)
            if on_result:
                on_result(r)
        results = _push_again(vault, peers, results, timeout_s, on_result)
    return SyncReport(
        vault.node,
        st.layout.iso(started),
        st.layout.iso(datetime.now(UTC)),
        committed,
        recovered,
        vault.head(),
        tuple(results),
    )


def _push_again(
    vault: Vault,
    peers: list[Peer],
    results: list[PeerResult],
    timeout_s: float,
    on_result: Callable[[PeerResult], None] | None,
) -> list[PeerResult]:
    """Hubs synced before a later peer's merge get our new head too (transitivity).

    Trigger: a later peer's merge moved ``main`` after an earlier hub was pushed.
    Why: changes must travel A→us→hub in one round, as with Syncthing.
    What: sync that hub once more (fetch, merge, push) and fold the results.
    """
    head = vault.repo.references[f"refs/heads/{git.BRANCH}"].target
    out = []
    for p, r in zip(peers, results, strict=True):
        prev = st.load(vault).get(p.name, st.PeerState())
        remote = vault.repo.references.get(p.remote_ref)
        if (
            r.status in ("ok", "up-to-date")
            and _should_push(p, prev)
            and (remote is None or remote.target != head)
        ):
            again = sync_peer(vault, p, timeout_s, force=True)
            r = replace(
                again,
                conflicts=r.conflicts + again.conflicts,
                refused=r.refused + again.refused,
                pushed=r.pushed or again.pushed,
                merged=again.merged or r.merged,
                status="ok" if again.status == "up-to-date" else again.status,
            )
            if on_result:
                on_result(r)
        out.append(r)
    return out
