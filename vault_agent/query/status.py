"""Node status: the one owner of "how is each node doing", for `vault serve`, the MCP
status tool and the static site (which only render it).

Invariant: everything here is read from files and is cheap to recompute; nothing is
written. What each field is read from:

- **last reading**: the newest rollup window ``end`` in the node's newest day file
  (``agents/<node>/sensors/**/YYYY-MM-DD.jsonl``, read with the one rollup-line reader
  ``vault.records.parse_rollup_lines``).
- **last observation**: the ``created`` time in the newest observation's file name.
- **last seen**: the later of the two. A node is **stale** when it was last seen more
  than ``stale_after_s`` (default :data:`STALE_AFTER_S`; the site passes a day) before
  ``now``, or never.
- **last write**: when the node last *wrote*, as far as this copy knows from synced
  files: the later of its newest commit (the commit time of the newest commit whose
  ``Vault-Node`` trailer names it, reachable from HEAD) and the wall part of the newest
  HLC stamp in its newest rollup lines. Unlike the last reading this is the time of
  writing, so a node replaying 2015 data today is seen writing today.
- **agent**: for this node, ``running`` when ``local-cache/agent.lock`` names a live
  pid, else ``stopped`` (the agent's files are in git-ignored ``local-cache/``); stage
  times and error counts from ``agent-state.json`` (written by ``agent/state.py``); the
  last WARNING/ERROR lines of ``agent.log``. For another node, judged from its last
  write: ``up`` when it wrote within ``up_within_s`` (default :data:`UP_WITHIN_S`,
  one hour: an agent commits and syncs every 15 minutes by default, so a live node's
  writes reach a live peer within about 30 minutes; the rest is margin for a peer that
  syncs through a hub), ``stale`` when its last write is older, ``unknown`` only when
  nothing it wrote has reached this copy. ``agent_text`` says it in words
  ("up (last write 3 min ago)", "stale since 2025-10-14 10:05 UTC").
- **last sync**: for this node, the newest successful sync with any peer in sync's
  own state file (``sync.state.load``; counts fast-forward syncs, which leave no merge
  commit); for every node also its newest merge commit in history (the only trace
  another node's syncs leave here); the later wins. **Peers** (this node): per peer from
  ``sync.status.peer_rows`` (last success, last error, reachable, ahead/behind of the
  fetched peer branch).
- **conflicts**: open conflict copies (``sync.conflicts.list_conflicts``), per node
  that wrote the losing version.
- **disk**: bytes of the working files and of ``.git`` (cached :data:`DISK_TTL_S`).

Layering: ``query`` reads the vault and, for node status only, sync's state through
sync's public readers (sync is the owner of ``.vault/sync/peers.json``; sync never
imports query, so there is no cycle). The agent package sits above the features, so
its two small files are read here as plain JSON/text.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pygit2

from ..vault import Vault, layout
from ..vault import repo as git
from ..vault.hlc import try_parse
from ..vault.process import pid_alive
from ..vault.records import parse_rollup_lines

STALE_AFTER_S = 3600  # one hour without a new reading or observation: the node looks stale
UP_WITHIN_S = 3600  # another node's agent is "up" when it wrote within this (module doc)
CLOCK_AHEAD_S = 300  # a last write further ahead of our clock than this is flagged
DISK_TTL_S = 60.0  # walking .git is the slow part; disk use changes slowly
LOG_ERROR_LINES = 5  # last WARNING/ERROR lines of agent.log shown
LOG_TAIL_BYTES = 256 * 1024  # how much of agent.log is read for them
MAX_COMMITS_SCANNED = 20000  # history walked for each node's newest commit and merge


@dataclass(frozen=True)
class PeerStatus:
    """This node's view of one sync peer (times UTC ISO 8601 or None).

    ``ahead``/``behind`` count commits of our ``main`` against the peer's ``main`` as
    last fetched (None: never fetched).
    """

    name: str
    url: str
    last_success: str | None
    last_attempt: str | None
    last_error: str | None
    reachable: bool | None
    failures: int
    ahead: int | None
    behind: int | None


@dataclass(frozen=True)
class NodeStatus:
    """One node as this vault copy sees it (times UTC ISO 8601 or None).

    ``agent`` is ``running``/``stopped`` for this node and ``up``/``stale``/``unknown``
    for others (judged from ``last_write``, see the module doc); ``agent_text`` says it
    in words. ``age_s`` is seconds from ``last_reading`` to ``now`` (None without
    readings); ``stale`` is True when ``last_seen`` is older than the threshold or None.
    ``errors`` are short human lines (newest last); ``conflicts`` counts open conflict
    copies this node wrote.
    """

    node: str
    local: bool
    agent: str
    agent_pid: int | None
    agent_started: str | None
    agent_last: dict[str, str]
    agent_errors: dict[str, int]
    last_reading: str | None
    last_observation: str | None
    last_commit: str | None
    age_s: float | None
    stale: bool
    sensors: int
    peers: tuple[PeerStatus, ...] = ()
    conflicts: int = 0
    errors: tuple[str, ...] = ()
    agent_text: str = ""
    last_write: str | None = None
    last_seen: str | None = None
    last_sync: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (peers as a list of dicts)."""
        return asdict(self)


@dataclass(frozen=True)
class VaultStatus:
    """Every node's status plus vault-wide facts: ``disk`` bytes (``files``, ``git``),
    open conflict copies (dicts with copy, original, node, when), ``now`` (UTC ISO)."""

    vault: str
    node: str
    now: str
    nodes: tuple[NodeStatus, ...]
    conflicts: tuple[dict[str, str], ...] = ()
    disk: dict[str, int] = field(default_factory=dict)
    stale_after_s: int = STALE_AFTER_S

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def vault_status(
    vault: Vault,
    now: datetime | None = None,
    stale_after_s: int = STALE_AFTER_S,
    *,
    nodes: list[str] | None = None,
    disk: bool = True,
    up_within_s: int = UP_WITHIN_S,
) -> VaultStatus:
    """The status of every node of ``vault`` (or of ``nodes``) at ``now`` (default: the
    current UTC time). ``disk=False`` skips measuring disk use (``disk`` is then {}).

    Never raises for unreadable derived state (a broken ``peers.json`` or
    ``agent-state.json`` reads as empty); raises only what opening the vault raises.
    """
    now = now or datetime.now(UTC)
    conflicts = _conflicts(vault)
    hist = _history(vault)
    nodes_ = tuple(
        _node_status(vault, n, now, stale_after_s, up_within_s, conflicts, hist)
        for n in (vault.nodes() if nodes is None else nodes)
    )
    return VaultStatus(
        vault=vault.name,
        node=vault.node,
        now=layout.iso(now),
        nodes=nodes_,
        conflicts=tuple(conflicts),
        disk=disk_use(vault.root) if disk else {},
        stale_after_s=stale_after_s,
    )


def node_status(
    vault: Vault, node: str, now: datetime | None = None, stale_after_s: int = STALE_AFTER_S
) -> NodeStatus:
    """The status of one node (see :func:`vault_status`).

    Raises:
        KeyError: ``node`` has no folder in the vault.
    """
    if node not in vault.nodes():
        raise KeyError(f"unknown node {node!r}; known: {', '.join(vault.nodes()) or 'none'}")
    now = now or datetime.now(UTC)
    hist = _history(vault)
    return _node_status(vault, node, now, stale_after_s, UP_WITHIN_S, _conflicts(vault), hist)


def _node_status(
    vault: Vault,
    node: str,
    now: datetime,
    stale_after_s: int,
    up_within_s: int,
    conflicts: list[dict[str, str]],
    hist: dict[str, tuple[str | None, str | None]],
) -> NodeStatus:
    last, sensors, last_hlc = last_reading_and_stamp(vault, node)
    obs = vault.observation_files(node)
    last_obs = _obs_time(obs[-1]) if obs else None
    seen = _latest(last, last_obs)
    commit, merge = hist.get(node, (None, None))
    last_write = _latest(commit, last_hlc)
    local = node == vault.node
    agent: dict[str, Any] = _agent(vault) if local else {}
    peers = _peers(vault) if local else ()
    state, text = agent_state(agent.get("agent"), agent.get("pid"), last_write, now, up_within_s)
    errors = list(agent.pop("log_errors", ()))
    errors += [f"sync {p.name}: {p.last_error}" for p in peers if p.last_error]
    return NodeStatus(
        node=node,
        local=local,
        agent=state,
        agent_pid=agent.get("pid"),
        agent_started=agent.get("started"),
        agent_last=dict(agent.get("last") or {}),
        agent_errors=dict(agent.get("errors") or {}),
        last_reading=last,
        last_observation=last_obs,
        last_commit=commit,
        age_s=_age(last, now),
        stale=seen is None or (_age(seen, now) or 0.0) > stale_after_s,
        sensors=sensors,
        peers=peers,
        conflicts=sum(1 for c in conflicts if c["node"] == node),
        errors=tuple(errors),
        agent_text=text,
        last_write=last_write,
        last_seen=seen,
        last_sync=_latest(merge, _local_last_sync(vault) if local else None),
    )


def agent_state(
    local: str | None,
    pid: int | None,
    last_write: str | None,
    now: datetime,
    up_within_s: float = UP_WITHIN_S,
) -> tuple[str, str]:
    """(state, words) of a node's agent.

    ``local`` is ``running``/``stopped`` for this node (from its lock file) and None for
    another node, whose state is judged from ``last_write`` (UTC ISO 8601 or None): ``up``
    within ``up_within_s`` seconds of ``now``, else ``stale``; ``unknown`` when nothing
    it wrote is known here.
    """
    if local == "running":
        return local, f"running (pid {pid})"
    age = _age(last_write, now)
    if local is not None:
        return local, "not running" + (
            f" (last write {ago_text(max(age, 0.0))} ago)" if age is not None else ""
        )
    if last_write is None or age is None:
        return "unknown", "unknown (nothing this node wrote has reached this copy)"
    if age < -CLOCK_AHEAD_S:
        return "up", f"up (last write stamped {ago_text(-age)} ahead of this clock)"
    if age <= up_within_s:
        return "up", f"up (last write {ago_text(max(age, 0.0))} ago)"
    return "stale", f"stale since {layout.parse_iso(last_write):%Y-%m-%d %H:%M} UTC"


def ago_text(seconds: float) -> str:
    """How long, roughly: ``40 s``, ``3 min``, ``5 h``, ``3 days``, ``2 years`` (hours
    up to two days, days up to two years)."""
    s = seconds
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.0f} h"
    if s < 2 * 365 * 86400:
        return f"{s / 86400:.0f} days"
    return f"{s / (365.25 * 86400):.0f} years"


def _latest(*times: str | None) -> str | None:
    """The latest of some UTC ISO 8601 times (they sort as strings), ignoring None."""
    return max((t for t in times if t), default=None)


def _age(t: str | None, now: datetime) -> float | None:
    """Seconds from ``t`` (UTC ISO 8601) to ``now``; None when ``t`` is None or unreadable."""
    if not t:
        return None
    try:
        return (now - layout.parse_iso(t)).total_seconds()
    except ValueError:
        return None


# -- last reading -----------------------------------------------------------------------
_reading_cache: dict[str, tuple[tuple[int, int], str | None, int, str | None]] = {}
_cache_lock = threading.Lock()


def last_reading(vault: Vault, node: str) -> tuple[str | None, int]:
    """(newest rollup window end, number of sensors) in ``node``'s newest day file(s).

    See :func:`last_reading_and_stamp`.
    """
    end, sensors, _ = last_reading_and_stamp(vault, node)
    return end, sensors


def last_reading_and_stamp(vault: Vault, node: str) -> tuple[str | None, int, str | None]:
    """(newest window end, number of sensors, wall time of the newest HLC stamp as UTC
    ISO 8601) over ``node``'s newest day file(s).

    The newest day is the greatest ``YYYY-MM-DD`` name over all its sensors' folders;
    results are cached per file by (size, mtime), so polling costs a ``stat``.
    """
    files = day_files(vault, node)
    if not files:
        return None, 0, None
    newest_day = max(f.rsplit("/", 1)[-1] for f in files)
    best: str | None = None
    stamp: str | None = None
    sensors = 0
    for rel in files:
        if rel.rsplit("/", 1)[-1] != newest_day:
            continue
        end, n, hlc = _file_last(vault, rel)
        sensors += n
        best = _latest(best, end)
        stamp = _latest(stamp, hlc)
    ts = try_parse(stamp)
    return best, sensors, layout.iso(ts.wall()) if ts else None


def day_files(vault: Vault, node: str) -> list[str]:
    """Vault paths of ``node``'s rollup day files (``YYYY-MM-DD.jsonl``), sorted.

    The same files as :meth:`Vault.rollup_files` for one node, listed with ``os.walk``
    (no pathlib objects): status and the dashboard list them on every request.
    """
    base = os.path.join(str(vault.root), layout.node_dir(node), "sensors")
    prefix = len(str(vault.root)) + 1
    out = []
    for dirpath, _dirs, names in os.walk(base):
        for n in names:
            if layout.ROLLUP_NAME_RE.match(n):
                out.append(os.path.join(dirpath, n)[prefix:].replace(os.sep, "/"))
    return sorted(out)


def _file_last(vault: Vault, rel: str) -> tuple[str | None, int, str | None]:
    """(max ``end``, number of sensors, max ``hlc``) of one rollup file's valid lines."""
    path = vault.path(rel)
    try:
        st = path.stat()
    except OSError:
        return None, 0, None
    key = (st.st_size, st.st_mtime_ns)
    with _cache_lock:
        hit = _reading_cache.get(str(path))
    if hit and hit[0] == key:
        return hit[1], hit[2], hit[3]
    try:
        rows = [r for _, r in parse_rollup_lines(path.read_bytes(), rel)]
    except OSError:
        return None, 0, None
    best = max((r.end for r in rows), default=None)
    stamp = max((r.hlc for r in rows if r.hlc), default=None)
    names = {r.sensor for r in rows}
    with _cache_lock:
        _reading_cache[str(path)] = (key, best, len(names), stamp)
    return best, len(names), stamp


def _obs_time(rel: str) -> str | None:
    m = layout.OBSERVATION_NAME_RE.match(rel.rsplit("/", 1)[-1])
    if not m:
        return None
    t = datetime.strptime(m.group(1), layout.STAMP_FMT).replace(tzinfo=UTC)
    return layout.iso(t)


# -- agent (this node) ------------------------------------------------------------------


def _agent(vault: Vault) -> dict[str, Any]:
    cache = vault.path(layout.local_cache(vault.node))
    try:
        pid: int | None = int((cache / "agent.lock").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    running = bool(pid and pid_alive(pid))
    try:
        state = json.loads((cache / "agent-state.json").read_text("utf-8"))
        state = state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        state = {}
    return {
        "agent": "running" if running else "stopped",
        "pid": pid if running else None,
        "started": state.get("started") if running else None,
        "last": {k: v for k, v in (state.get("last") or {}).items() if isinstance(v, str)},
        "errors": {k: v for k, v in (state.get("errors") or {}).items() if isinstance(v, int)},
        "log_errors": log_errors(cache / "agent.log"),
    }


def log_errors(path: Path, n: int = LOG_ERROR_LINES) -> list[str]:
    """The last ``n`` WARNING/ERROR lines of an agent log (``level=…`` key=value lines)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    hits: deque[str] = deque(maxlen=n)
    for line in text.splitlines():
        if "level=WARNING" in line or "level=ERROR" in line or "level=CRITICAL" in line:
            hits.append(line.strip()[:300])
    return list(hits)


# -- sync -------------------------------------------------------------------------------
def _peers(vault: Vault) -> tuple[PeerStatus, ...]:
    from ..sync.status import peer_rows

    try:
        rows = peer_rows(vault)
    except Exception:  # noqa: BLE001 - derived state; a broken file must not hide the rest
        return ()
    return tuple(
        PeerStatus(
            name=r["name"],
            url=r["url"],
            last_success=r.get("last_success"),
            last_attempt=r.get("last_attempt"),
            last_error=r.get("last_error"),
            reachable=r.get("reachable"),
            failures=int(r.get("failures") or 0),
            ahead=r.get("ahead"),
            behind=r.get("behind"),
        )
        for r in rows
    )


def _conflicts(vault: Vault) -> list[dict[str, str]]:
    from ..sync.conflicts import list_conflicts

    return [c.as_dict() for c in list_conflicts(vault)]


def _local_last_sync(vault: Vault) -> str | None:
    """This node's newest successful sync with any peer in sync's state (None if never
    or unreadable; a peer removed since still counts)."""
    from ..sync import state as sync_state

    try:
        states = sync_state.load(vault)
    except Exception:  # noqa: BLE001 - derived state; a broken file must not hide the rest
        return None
    return _latest(*(s.last_success for s in states.values()))


_commit_cache: dict[str, tuple[str, dict[str, tuple[str | None, str | None]]]] = {}


def _history(vault: Vault) -> dict[str, tuple[str | None, str | None]]:
    """Per ``Vault-Node`` trailer (else author name): (newest commit time, newest merge
    commit time), UTC ISO 8601, from HEAD; cached by HEAD.

    A merge commit is one with two parents or a ``Vault-Kind: merge`` trailer. Stops once
    every node has both or after :data:`MAX_COMMITS_SCANNED` commits.
    """
    try:
        head = git.head_commit(vault.repo)
    except pygit2.GitError:
        return {}
    if head is None:
        return {}
    key = str(vault.root)
    with _cache_lock:
        hit = _commit_cache.get(key)
    if hit and hit[0] == str(head.id):
        return hit[1]
    want = set(vault.nodes())
    commits: dict[str, str] = {}
    merges: dict[str, str] = {}
    for i, c in enumerate(vault.repo.walk(head.id, pygit2.enums.SortMode.TIME)):
        if i >= MAX_COMMITS_SCANNED or (want <= set(commits) and want <= set(merges)):
            break
        tr = dict(git.parse_trailers(c.message))
        node = tr.get("Vault-Node") or c.author.name
        when = layout.iso(datetime.fromtimestamp(c.commit_time, UTC))
        commits.setdefault(node, when)
        if tr.get("Vault-Kind", "merge" if len(c.parents) > 1 else "") == "merge":
            merges.setdefault(node, when)
    found = {n: (commits.get(n), merges.get(n)) for n in set(commits) | set(merges)}
    with _cache_lock:
        _commit_cache[key] = (str(head.id), found)
    return found


# -- disk -------------------------------------------------------------------------------
_disk_cache: dict[str, tuple[float, dict[str, int]]] = {}


def disk_use(root: Path, ttl_s: float = DISK_TTL_S) -> dict[str, int]:
    """Bytes used under ``root``: ``files`` (working tree, ``.vault`` included), ``git``
    (``.git``), ``total``. Cached for ``ttl_s`` seconds per root."""
    key = str(root)
    with _cache_lock:
        hit = _disk_cache.get(key)
    if hit and time.monotonic() - hit[0] < ttl_s:
        return hit[1]
    git_b = _tree_bytes(root / ".git")
    total = _tree_bytes(root)
    out = {"files": total - git_b, "git": git_b, "total": total}
    with _cache_lock:
        _disk_cache[key] = (time.monotonic(), out)
    return out


def _tree_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total
