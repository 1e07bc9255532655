"""Per-node status for the home page: last seen, last sync, staleness, counts.

"Last seen" is the newest rollup window end or observation time of the node (what its
own files say). "Last sync": for this node, the newest successful sync with any peer in
the sync state (``.vault/sync/peers.json``, :mod:`vault_agent.sync.state`), which counts
fast-forward syncs that leave no merge commit; for every node also its newest merge
commit in git history (the only trace another node's syncs leave here); the later wins.
A node last seen more than :data:`STALE_AFTER` before the build is marked stale, with
how long ago.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pygit2

from ..sync import state as sync_state
from ..vault import Vault, layout
from ..vault import repo as git
from .catalog import Catalog
from .pages import NodeStatus, latest_sensors

log = logging.getLogger("vault_agent.site")
MAX_COMMITS_SCANNED = 20000
STALE_AFTER = timedelta(days=1)


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
            found[node] = layout.iso(datetime.fromtimestamp(c.commit_time, UTC))
    return found


def local_last_sync(v: Vault) -> str | None:
    """This node's newest successful sync with any peer (None if never or unreadable)."""
    try:
        states = sync_state.load(v)
    except Exception as e:  # noqa: BLE001 - derived state; a bad file must not stop the site
        log.info("sync state unreadable: %s", e)
        return None
    times = [s.last_success for s in states.values() if s.last_success]
    return max(times) if times else None


def age_text(delta: timedelta) -> str:
    """How long ago, roughly: ``5 h``, ``3 days``, ``2 years``."""
    s = delta.total_seconds()
    if s < 2 * 86400:
        return f"{s / 3600:.0f} h"
    if s < 2 * 365 * 86400:
        return f"{s / 86400:.0f} days"
    return f"{s / (365.25 * 86400):.0f} years"


def stale_text(last_seen: str | None, now: datetime) -> str:
    """ "" when seen within :data:`STALE_AFTER` of ``now``, else how long ago (or
    ``no data``)."""
    if not last_seen:
        return "no data"
    try:
        delta = now - layout.parse_iso(last_seen)
    except ValueError:
        return "no data"
    return age_text(delta) if delta > STALE_AFTER else ""


def node_statuses(
    v: Vault, cat: Catalog, nodes: Iterable[str], now: datetime | None = None
) -> list[NodeStatus]:
    """A :class:`NodeStatus` for each node, sorted by node id (``now`` defaults to the
    current UTC time)."""
    now = now or datetime.now(UTC)
    nodes = sorted(nodes)
    merges = last_merges(v.repo, nodes)
    local = local_last_sync(v)
    out = []
    for n in nodes:
        days = cat.days_of(n)
        obs = cat.observations(n)
        seen = [d.last for d in days[-3:] if d.last] + ([obs[-1].created] if obs else [])
        last_seen = max(seen) if seen else None
        candidates = (merges.get(n), local if n == v.node else None)
        sync = max([t for t in candidates if t], default=None)
        out.append(
            NodeStatus(
                n,
                last_seen,
                sync,
                len(latest_sensors(days)),
                len(days),
                len(obs),
                stale_text(last_seen, now),
            )
        )
    return out
