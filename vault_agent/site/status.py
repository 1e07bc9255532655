"""Per-node status for the home and node pages, rendered from the query layer.

Node status has one owner, :mod:`vault_agent.query.status` (last seen, last write, the
agent's state judged from synced evidence, last sync from sync state and merge commits,
staleness). This module only picks what the site shows and adds the catalog's counts
(days, observations). The site is a snapshot built now and then, so it marks a node
(and another node's agent) stale after :data:`STALE_AFTER_S` (a day) rather than the
dashboard's hour, and it states times, not "3 min ago": a rebuild without changes must
write the same pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ..query.status import ago_text, vault_status
from ..vault import Vault, layout
from .catalog import Catalog
from .pages import NodeStatus, latest_sensors

STALE_AFTER_S = 86_400  # a node not seen for a day is marked stale on the site


def node_statuses(
    v: Vault, cat: Catalog, nodes: Iterable[str], now: datetime | None = None
) -> list[NodeStatus]:
    """A :class:`NodeStatus` for each node, sorted by node id (``now`` defaults to the
    current UTC time). ``stale`` is how long ago the node was last seen ("3 days") when
    :func:`~vault_agent.query.status.vault_status` marks it stale, "no data" when it was
    never seen, else ""."""
    now = now or datetime.now(UTC)
    st = vault_status(
        v, now, STALE_AFTER_S, nodes=sorted(nodes), disk=False, up_within_s=STALE_AFTER_S
    )
    out = []
    for s in st.nodes:
        days = cat.days_of(s.node)
        out.append(
            NodeStatus(
                s.node,
                s.last_seen,
                s.last_sync,
                len(latest_sensors(days)),
                len(days),
                len(cat.observations(s.node)),
                _stale_text(s.last_seen, now) if s.stale else "",
                agent_words(s.agent, s.last_write),
            )
        )
    return out


def _stale_text(last_seen: str | None, now: datetime) -> str:
    if not last_seen:
        return "no data"
    return ago_text((now - layout.parse_iso(last_seen)).total_seconds())


AGENT_WORDS = {"running": "running", "stopped": "not running", "up": "up", "stale": "stale"}


def agent_words(state: str, last_write: str | None) -> str:
    """The agent's state for a page, with the time of the node's last write (UTC)."""
    if state not in AGENT_WORDS:
        return "unknown (nothing this node wrote has reached this copy)"
    if not last_write:
        return AGENT_WORDS[state]
    return f"{AGENT_WORDS[state]}, last write {last_write[:10]} {last_write[11:16]} UTC"
