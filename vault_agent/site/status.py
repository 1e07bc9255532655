"""Per-node status for the home page: last seen, last sync, sensor and day counts.

"Last seen" is the newest rollup window end or observation time of the node (what its
own files say). "Last sync" is, for this node, the newest successful sync in
``.vault/sync/peers.json`` when the sync module is there, and for every node the newest
merge commit it wrote (``Vault-Kind: merge``), read from git history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import pygit2

from ..vault import Vault
from ..vault import repo as git
from .catalog import Catalog
from .pages import NodeStatus, latest_sensors

log = logging.getLogger("vault_agent.site")
MAX_COMMITS_SCANNED = 20000


def last_merges(repo: pygit2.Repository, nodes: Iterable[str]) -> dict[str, str]:
    """The newest merge commit time (UTC ISO 8601) per node, walking history from HEAD.

    Stops once every node has one or after :data:`MAX_COMMITS_SCANNED` commits.
    """
    want = set(nodes)
    found: dict[str, str] = {}
    head = git.head_commit(repo)
    if head is None:
        return found
    for i, c in enumerate(repo.walk(head.id, pygit2.enums.SortMode.TIME)):
        if i >= MAX_COMMITS_SCANNED or want <= set(found):
            break
        if len(c.parents) < 2 and "Vault-Kind: merge" not in c.message:
            continue
        tr = dict(git.parse_trailers(c.message))
        node = tr.get("Vault-Node") or c.author.name
        if tr.get("Vault-Kind", "merge") == "merge" and node not in found:
            found[node] = datetime.fromtimestamp(c.commit_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return found


def local_last_sync(v: Vault) -> str | None:
    """This node's newest successful sync from the sync module's state, if it exists."""
    try:
        from ..sync import state as sync_state
    except ImportError:
        return None
    try:
        states = sync_state.load(v)
    except Exception as e:  # noqa: BLE001 - derived state; a bad file must not stop the site
        log.info("sync state unreadable: %s", e)
        return None
    times = [s.last_success for s in states.values() if getattr(s, "last_success", None)]
    return max(times) if times else None


def node_statuses(v: Vault, cat: Catalog, nodes: Iterable[str]) -> list[NodeStatus]:
    """A :class:`NodeStatus` for each node, sorted by node id."""
    nodes = sorted(nodes)
    merges = last_merges(v.repo, nodes)
    local = local_last_sync(v)
    out = []
    for n in nodes:
        days = cat.days_of(n)
        obs = cat.observations(n)
        seen = [d.last for d in days[-3:] if d.last] + ([obs[-1].created] if obs else [])
        sync = max([t for t in (merges.get(n), local if n == v.node else None) if t], default=None)
        out.append(
            NodeStatus(
                n, max(seen) if seen else None, sync, len(latest_sensors(days)), len(days), len(obs)
            )
        )
    return out
