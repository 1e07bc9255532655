"""``vault sync``: commit, then for each peer fetch → merge → push (docs/architecture.md §3).

Library entry point for the agent daemon: :func:`sync_all`. It never raises for a
peer that is unreachable, refused or broken: each outcome is a :class:`PeerResult`
in the :class:`SyncReport`, and an unreachable peer backs off (see :mod:`.state`).

Three defences against peers and races live here (docs/sync.md, "What a peer can and
cannot do"):

* The commit before syncing runs the checks of ``vault commit``
  (:mod:`vault_agent.vault.precommit`): a change every peer would refuse stays
  uncommitted and is reported, so the vaults never split over it.
* A push rejected because another node pushed first (non-fast-forward, a ref locked
  by a concurrent push) is retried: fetch, merge, push again, up to
  :data:`PUSH_RETRIES` times with a random pause; losing every race records an error
  without a backoff.
* HLC stamps in merged records move this node's clock only when believable: one more
  than ``[sync] max_skew_s`` (node.toml, default a day) ahead of the wall clock, or
  unparsable, is kept in the file but flagged (:class:`StampFlag`: a warning log line,
  the report, and ``.vault/sync/flags.jsonl``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import cast

import pygit2

from ..errors import VaultError
from ..vault import Vault
from ..vault import repo as git
from ..vault.check import Problem
from ..vault.hlc import MAX_SKEW_S
from ..vault.precommit import commit_accepted
from . import housekeeping, transport
from . import state as st
from .merge import Conflict, Refusal, apply_changes, merge_trees
from .peers import Peer, get_peer, list_peers
from .provenance import Provenance
from .worktree import clear_stale_fetch_locks, move_to, recover, sync_lock

log = logging.getLogger("vault_agent.sync")
DEFAULT_TIMEOUT_S = 60.0
PUSH_RETRIES = 8  # 3 nodes × 20 simultaneous rounds never needed more than 4
RETRY_PAUSE_S = (0.05, 0.4)  # random pause before a retry, ×(attempt+1), seconds
AUTO_COMMIT = "Commit pending changes before sync"


@dataclass(frozen=True)
class StampFlag:
    """A merged record whose HLC stamp was not adopted into this node's clock.

    ``path``: the vault file holding it (None if not found); ``hlc``: the stamp as
    written; ``reason``: ``unparsable`` or ``ahead``; ``ahead_s``: seconds it leads our
    wall clock (None when unparsable). The record itself is kept.
    """

    path: str | None
    hlc: str
    reason: str
    ahead_s: float | None = None

    def __str__(self) -> str:
        why = (
            "is not an HLC stamp"
            if self.reason == "unparsable" or self.ahead_s is None
            else f"is {self.ahead_s / 86400:,.1f} day(s) ahead of this node's clock"
        )
        return f"{self.path or '?'}: hlc {self.hlc!r} {why}; record kept, clock not moved"

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "path": self.path,
            "hlc": self.hlc,
            "reason": self.reason,
            "ahead_s": self.ahead_s,
        }


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
    flagged: tuple[StampFlag, ...] = ()
    push_attempts: int = 0

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
            "flagged": [f.as_dict() for f in self.flagged],
            "push_attempts": self.push_attempts,
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
    not_committed: tuple[Problem, ...] = ()
    cleaned: tuple[str, ...] = ()

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        """Conflicts of every peer's merge."""
        return tuple(c for p in self.peers for c in p.conflicts)

    @property
    def refused(self) -> tuple[Refusal, ...]:
        """Peer file versions refused by the merge rules."""
        return tuple(r for p in self.peers for r in p.refused)

    @property
    def flagged(self) -> tuple[StampFlag, ...]:
        """Merged records whose HLC stamps were not adopted."""
        return tuple(f for p in self.peers for f in p.flagged)

    @property
    def ok(self) -> bool:
        """True when every peer synced (``ok`` or ``up-to-date``).

        A peer ``skipped`` during its backoff is not ok: it is not in sync, and
        ``vault sync`` says so (exit 1, with the time of the next try).
        """
        return all(p.status in ("ok", "up-to-date") for p in self.peers)

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
            "flagged": [f.as_dict() for f in self.flagged],
            "not_committed": [p.as_dict() for p in self.not_committed],
            "cleaned": list(self.cleaned),
        }


@dataclass(frozen=True)
class MergeOutcome:
    """One merge of a peer's branch into ours (commit None: nothing to do)."""

    commit: str | None = None
    fast_forward: bool = False
    conflicts: tuple[Conflict, ...] = ()
    refused: tuple[Refusal, ...] = ()
    kept_local: tuple[str, ...] = ()
    flagged: tuple[StampFlag, ...] = ()


def max_skew_s(vault: Vault) -> float:
    """``[sync] max_skew_s`` of this node's node.toml (seconds), default one day.

    Raises:
        VaultError: not a positive number.
    """
    raw = vault.node_config().get("sync", {}).get("max_skew_s", MAX_SKEW_S)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise VaultError(
            f"agents/{vault.node}/node.toml: [sync] max_skew_s must be a positive "
            f"number of seconds, not {raw!r}"
        )
    return float(raw)


def _locate(repo: pygit2.Repository, old: pygit2.Oid, new: pygit2.Oid, values: list[str]) -> dict:
    """Which changed file (old tree → new tree) holds each stamp value: value -> path."""
    out: dict[str, str] = {}
    diff = repo[old].peel(pygit2.Tree).diff_to_tree(repo[new].peel(pygit2.Tree))
    for delta in diff.deltas:
        if delta.status_char() == "D":
            continue
        try:
            data = repo[delta.new_file.id].peel(pygit2.Blob).data
        except (KeyError, ValueError, pygit2.GitError):
            continue
        for v in values:
            if v not in out and v.encode("utf-8", "replace") in data:
                out[v] = delta.new_file.path
    return out


def _flags(vault: Vault, peer: Peer, ours, target, stamps: list[str]) -> tuple[StampFlag, ...]:
    """Observe ``stamps``; log, record and return the ones not adopted."""
    bad = vault.hlc.observe_many(stamps, max_skew_s(vault))
    if not bad:
        return ()
    where = _locate(vault.repo, ours, target, [o.value for o in bad])
    flags = tuple(StampFlag(where.get(o.value), o.value, o.status, o.ahead_s) for o in bad)
    for f in flags:
        log.warning(
            "event=hlc_flagged peer=%s path=%s hlc=%r reason=%s ahead_s=%s",
            peer.name,
            f.path,
            f.hlc,
            f.reason,
            "-" if f.ahead_s is None else f"{f.ahead_s:.0f}",
        )
    st.record_flags(vault, peer.name, [f.as_dict() for f in flags])
    return flags


def merge_commit(vault: Vault, peer: Peer, theirs: pygit2.Oid) -> MergeOutcome:
    """Merge ``theirs`` (the peer's ``main``) into our ``main`` and move the working copy.

    Raises:
        PeerRefused: the peer's tree has no vault.toml, or no common history with ours.
        pygit2.GitError: a missing or corrupt object (nothing has been changed).
    """
    repo = vault.repo
    # a branch is a direct reference: its target is an Oid
    ours = cast(pygit2.Oid, repo.references[f"refs/heads/{git.BRANCH}"].target)
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
    flags = _flags(vault, peer, ours, target, result.hlcs) if result.hlcs else ()
    kept = move_to(vault, ours, target)
    return MergeOutcome(
        str(target), ff, tuple(result.conflicts), tuple(refused), tuple(kept), flags
    )


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
            note=f"backoff after {prev.failures} failure(s); "
            f"retried at {prev.next_try} (or now with --force)",
        )
    outcomes: list[MergeOutcome] = []
    pushed = False
    note = None
    can_push = prev.can_push
    attempts = 0
    try:
        for attempt in range(PUSH_RETRIES):
            fetched = transport.fetch(repo, peer, timeout_s)
            if fetched.head is not None:
                outcomes.append(merge_commit(vault, peer, fetched.head))
            head = repo.references[f"refs/heads/{git.BRANCH}"].target
            if not _should_push(peer, prev) or fetched.head == head:
                break
            try:
                attempts += 1
                transport.push(repo, peer, timeout_s)
                repo.references.create(peer.remote_ref, head, force=True)
                pushed, can_push = True, True
                break
            except transport.PushRejected as e:
                # Trigger: the peer refused our main. Why: another node pushed between
                # our fetch and our push (non-fast-forward, or its ref was locked by
                # that push), or it is a working copy with main checked out.
                # What: a working copy is not pushed to again; a race is retried
                # (fetch, merge, push) after a random pause, so racing nodes spread out.
                note = str(e)
                if "checked out" in note or "non-bare" in note:
                    can_push = False
                    break
                if attempt == PUSH_RETRIES - 1:
                    raise
                time.sleep(random.uniform(*RETRY_PAUSE_S) * (attempt + 1))
    except transport.PushRejected as e:
        # Trigger: every retry lost the race. Why: the hub answered each time, it
        # is only busy. What: an error for this round, no backoff: the next round
        # (or the next `vault sync`) tries again at once.
        msg = f"{e} (after {attempts} push attempt(s); retried next round)"
        st.update(vault, peer.name, prev.failed(now, msg, reachable=True, backoff=False))
        log.warning("event=sync_push_race peer=%s attempts=%d", peer.name, attempts)
        return _result(peer, "error", outcomes, pushed, error=msg, push_attempts=attempts)
    except transport.TransportError as e:
        # Only a peer that did not answer backs off; one that answered with something
        # broken is tried again next round (the agent's rounds are minutes apart).
        new = prev.failed(now, str(e), reachable=e.reachable, backoff=not e.reachable)
        st.update(vault, peer.name, new)
        return _result(
            peer,
            "error" if e.reachable else "unreachable",
            outcomes,
            pushed,
            error=str(e),
            next_try=new.next_try,
            push_attempts=attempts,
        )
    except PeerRefused as e:
        new = prev.failed(now, str(e), reachable=True, backoff=False)
        st.update(vault, peer.name, new)
        return _result(peer, "refused", outcomes, pushed, error=str(e), next_try=new.next_try)
    except (pygit2.GitError, OSError, KeyError, ValueError) as e:
        msg = f"{type(e).__name__}: {' '.join(str(e).split())}"
        if isinstance(e, pygit2.GitError | KeyError):
            msg = f"peer {peer.name} sent a broken history ({msg}); nothing merged"
        new = prev.failed(now, msg, reachable=True, backoff=False)
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
        note=note if not pushed else None,
        push_attempts=attempts,
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
        flagged=tuple(f for o in outcomes for f in o.flagged),
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
    max_skew_s(vault)  # a bad [sync] max_skew_s stops here, before anything moves
    with sync_lock(vault):
        clear_stale_fetch_locks(vault)
        cleaned = housekeeping.clean_stale_git_files(vault)
        recovered = recover(vault)
        checked = commit_accepted(vault, AUTO_COMMIT, "edit")
        for problem in checked.refused:
            log.warning("event=not_committed problem=%r", str(problem))
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
        checked.commit,
        recovered,
        vault.head(),
        tuple(results),
        checked.refused,
        tuple(cleaned),
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
                flagged=r.flagged + again.flagged,
                push_attempts=r.push_attempts + again.push_attempts,
                pushed=r.pushed or again.pushed,
                merged=again.merged or r.merged,
                status="ok" if again.status == "up-to-date" else again.status,
            )
            if on_result:
                on_result(r)
        out.append(r)
    return out
