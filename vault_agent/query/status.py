"""Node status: the one owner of "how is each node doing", for `vault serve` and MCP.

Invariant: everything here is read from files and is cheap to recompute; nothing is
written. What each field is read from:

- **last reading**: the newest rollup window ``end`` in the node's newest day file
  (``agents/<node>/sensors/**/YYYY-MM-DD.jsonl``). A node is **stale** when that is
  older than ``stale_after_s`` (default :data:`STALE_AFTER_S`) before ``now``.
- **last observation**: the ``created`` time in the newest observation's file name.
- **agent** (this node only; the agent's files are in git-ignored ``local-cache/`` so
  other nodes' are never seen): ``running`` when ``local-cache/agent.lock`` names a
  live pid, else ``stopped``; stage times and error counts from ``agent-state.json``
  (written by ``agent/state.py``); the last WARNING/ERROR lines of ``agent.log``.
  Other nodes get ``unknown``.
- **sync** (this node): per peer from the sync module's own reader
  (``sync.status.peer_rows``: last success, last error, reachable, ahead/behind of the
  fetched peer branch). Other nodes: the time of their newest commit reachable from
  HEAD (when their work last reached this copy).
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
from ..vault.process import pid_alive

STALE_AFTER_S = 3600  # one hour without a new rollup window: the node looks stale
DISK_TTL_S = 60.0  # walking .git is the slow part; disk use changes slowly
LOG_ERROR_LINES = 5  # last WARNING/ERROR lines of agent.log shown
LOG_TAIL_BYTES = 256 * 1024  # how much of agent.log is read for them
MAX_COMMITS_SCANNED = 5000


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
    """One node as this vault copy sees it.

    ``agent`` is ``running``/``stopped`` for this node and ``unknown`` for others;
    ``age_s`` is seconds from ``last_reading`` to ``now`` (None without readings);
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
    vault: Vault, now: datetime | None = None, stale_after_s: int = STALE_AFTER_S
) -> VaultStatus:
    """The status of every node of ``vault`` at ``now`` (default: the current UTC time).

    Never raises for unreadable derived state (a broken ``peers.json`` or
    ``agent-state.json`` reads as empty); raises only what opening the vault raises.
    """
    now = now or datetime.now(UTC)
    conflicts = _conflicts(vault)
    commits = _last_commits(vault)
    nodes = tuple(
        _node_status(vault, n, now, stale_after_s, conflicts, commits) for n in vault.nodes()
    )
    return VaultStatus(
        vault=vault.name,
        node=vault.node,
        now=layout.iso(now),
        nodes=nodes,
        conflicts=tuple(conflicts),
        disk=disk_use(vault.root),
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
    return _node_status(vault, node, now, stale_after_s, _conflicts(vault), _last_commits(vault))


def _node_status(
    vault: Vault,
    node: str,
    now: datetime,
    stale_after_s: int,
    conflicts: list[dict[str, str]],
    commits: dict[str, str],
) -> NodeStatus:
    last, sensors = last_reading(vault, node)
    obs = vault.observation_files(node)
    last_obs = _obs_time(obs[-1]) if obs else None
    age = (now - layout.parse_iso(last)).total_seconds() if last else None
    local = node == vault.node
    agent: dict[str, Any] = _agent(vault) if local else {"agent": "unknown"}
    peers = _peers(vault) if local else ()
    errors = list(agent.pop("log_errors", ()))
    errors += [f"sync {p.name}: {p.last_error}" for p in peers if p.last_error]
    return NodeStatus(
        node=node,
        local=local,
        agent=agent.get("agent", "unknown"),
        agent_pid=agent.get("pid"),
        agent_started=agent.get("started"),
        agent_last=dict(agent.get("last") or {}),
        agent_errors=dict(agent.get("errors") or {}),
        last_reading=last,
        last_observation=last_obs,
        last_commit=commits.get(node),
        age_s=age,
        stale=age is None or age > stale_after_s,
        sensors=sensors,
        peers=peers,
        conflicts=sum(1 for c in conflicts if c["node"] == node),
        errors=tuple(errors),
    )


# -- last reading -----------------------------------------------------------------------
_reading_cache: dict[str, tuple[tuple[int, int], str | None, int]] = {}
_cache_lock = threading.Lock()


def last_reading(vault: Vault, node: str) -> tuple[str | None, int]:
    """(newest rollup window end, number of sensors) in ``node``'s newest day file(s).

    The newest day is the greatest ``YYYY-MM-DD`` name over all its sensors' folders;
    results are cached per file by (size, mtime), so polling costs a ``stat``.
    """
    files = day_files(vault, node)
    if not files:
        return None, 0
    newest_day = max(f.rsplit("/", 1)[-1] for f in files)
    best: str | None = None
    sensors = 0
    for rel in files:
        if rel.rsplit("/", 1)[-1] != newest_day:
            continue
        end, n = _file_last(vault.path(rel))
        sensors += n
        if end and (best is None or end > best):
            best = end
    return best, sensors


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


def _file_last(path: Path) -> tuple[str | None, int]:
    try:
        st = path.stat()
    except OSError:
        return None, 0
    key = (st.st_size, st.st_mtime_ns)
    with _cache_lock:
        hit = _reading_cache.get(str(path))
    if hit and hit[0] == key:
        return hit[1], hit[2]
    best, names = None, set()
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                try:
                    d = json.loads(raw)
                except ValueError:
                    continue  # a torn last line is the writer's to repair
                if isinstance(d, dict) and isinstance(d.get("end"), str):
                    names.add(d.get("sensor"))
                    if best is None or d["end"] > best:
                        best = d["end"]
    except OSError:
        return None, 0
    with _cache_lock:
        _reading_cache[str(path)] = (key, best, len(names))
    return best, len(names)


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


_commit_cache: dict[str, tuple[str, dict[str, str]]] = {}


def _last_commits(vault: Vault) -> dict[str, str]:
    """Newest commit time (UTC ISO) per ``Vault-Node`` trailer, from HEAD (cached by HEAD)."""
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
    want, found = set(vault.nodes()), dict[str, str]()
    for i, c in enumerate(vault.repo.walk(head.id, pygit2.enums.SortMode.TIME)):
        if i >= MAX_COMMITS_SCANNED or want <= set(found):
            break
        node = dict(git.parse_trailers(c.message)).get("Vault-Node") or c.author.name
        if node not in found:
            found[node] = layout.iso(datetime.fromtimestamp(c.commit_time, UTC))
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
