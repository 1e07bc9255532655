"""Live events for ``/api/events``: new observations, new rollup lines, agent log lines,
node status changes, fanned out to every connected client.

One poller per server (not per client): every ``poll_s`` seconds a worker thread asks
the vault what is new — :class:`~vault_agent.sensors.tail.LogFollower` reads rollup
files from the offset reached last time and notices new observation files; the agent
log (``agents/<node>/local-cache/agent.log``) is read the same way from its offset (a
smaller file means it was rotated: read from its start). Polling rather than inotify:
it behaves the same on SD cards, NFS and synced copies, at the cost of a ``stat`` per
file per second. Node status is recomputed every ``status_every_s`` seconds and sent
only when it changed.

With no client connected the poller slows down to every :data:`IDLE_POLL_S` seconds.
Each client has a bounded queue; a client too slow to keep up loses its oldest events
(and is told with a ``dropped`` event) rather than growing the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..query.status import vault_status
from ..sensors.tail import LogFollower
from ..vault import Vault, layout
from .links import site_url

log = logging.getLogger("vault_agent.web")
POLL_S = 1.0
STATUS_EVERY_S = 5.0
IDLE_POLL_S = 15.0  # with no client connected, poll this rarely (offsets stay current)
QUEUE_MAX = 1000
LOG_LINE_MAX = 1000
KINDS = ("observation", "reading", "log", "status")


@dataclass(frozen=True)
class Event:
    """One server-sent event: ``kind`` (observation|reading|log|status), its ``node`` and
    ``sensors`` (for filtering), and the JSON ``data`` sent to the client."""

    kind: str
    node: str
    sensors: tuple[str, ...]
    data: dict[str, Any]

    def sse(self) -> dict[str, str]:
        """The ``event``/``data`` pair for sse-starlette."""
        return {"event": self.kind, "data": json.dumps(self.data, ensure_ascii=False)}


@dataclass(frozen=True)
class EventFilter:
    """Which events a client wants: kinds, and (for observation/reading/log) a node and a
    sensor id; empty means all."""

    kinds: frozenset[str] = frozenset(KINDS)
    node: str = ""
    sensor: str = ""

    def wants(self, e: Event) -> bool:
        """True when ``e`` passes the filter (status events ignore node/sensor)."""
        if e.kind not in self.kinds:
            return False
        if e.kind == "status":
            return True
        if self.node and e.node != self.node:
            return False
        return not self.sensor or self.sensor in e.sensors


class AgentLogTail:
    """New whole lines of a log file since the last call (rotation-aware)."""

    def __init__(self, path) -> None:
        self.path = path
        try:
            self.offset = path.stat().st_size  # start at the end: history is not live
        except OSError:
            self.offset = 0

    def poll(self) -> list[str]:
        """Lines appended since the last call (a partial last line waits)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # rotated (RotatingFileHandler) or truncated
            self.offset = 0
        if size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(size - self.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return [
            raw.decode("utf-8", "replace")[:LOG_LINE_MAX]
            for raw in data[: end + 1].splitlines()
            if raw.strip()
        ]


def log_event(node: str, line: str) -> Event:
    """An event of one agent log line (``key=value`` fields parsed into ``fields``)."""
    fields = dict(
        (k, v.strip("'\"")) for k, _, v in (p.partition("=") for p in line.split()) if _ and k
    )
    return Event(
        "log",
        node,
        (fields["sensor"],) if "sensor" in fields else (),
        {"node": node, "t": line[:19], "level": fields.get("level", ""), "text": line},
    )


@dataclass
class EventHub:
    """Polls the vault and fans events out to subscribers (see the module docstring)."""

    vault: Vault
    poll_s: float = POLL_S
    status_every_s: float = STATUS_EVERY_S
    _subs: set[asyncio.Queue] = field(default_factory=set)
    _last_status: str = ""
    _status_at: float = 0.0
    _follower: LogFollower | None = None
    _logtail: AgentLogTail | None = None
    _task: asyncio.Task | None = None
    _wake: asyncio.Event | None = None

    def subscribe(self) -> asyncio.Queue:
        """A new client's queue of :class:`Event` (unsubscribe when done)."""
        q: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_MAX)
        self._subs.add(q)
        if self._wake is not None:
            self._wake.set()  # the first client need not wait out an idle pause
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        """Forget a client's queue."""
        self._subs.discard(q)

    @property
    def clients(self) -> int:
        """Connected subscribers."""
        return len(self._subs)

    def start(self) -> None:
        """Start polling (call from the running event loop, e.g. the app's lifespan)."""
        self._follower = LogFollower(self.vault)
        self._follower.recent(0)  # mark what exists as read
        cache = self.vault.path(layout.local_cache(self.vault.node))
        self._logtail = AgentLogTail(cache / "agent.log")
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop polling."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                events = await asyncio.to_thread(self.poll)
            except Exception as err:  # noqa: BLE001 - a bad file must not end live updates
                log.warning("event=web_poll_failed error=%r", str(err))
                events = []
            for ev in events:
                self.publish(ev)
            await self._pause()

    async def _pause(self) -> None:
        # Trigger: nobody is connected. Why: a stat of every vault file each second costs
        # a small node CPU for no one. What: poll every IDLE_POLL_S instead (so offsets
        # stay current and a new client gets no backlog), waking early on a subscribe.
        assert self._wake is not None
        self._wake.clear()
        delay = self.poll_s if self._subs else max(self.poll_s, IDLE_POLL_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    def publish(self, e: Event) -> None:
        """Queue ``e`` for every subscriber (dropping a slow one's oldest event)."""
        for q in list(self._subs):
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(e)

    def poll(self) -> list[Event]:
        """What is new since the last call (runs in a worker thread)."""
        out: list[Event] = []
        assert self._follower is not None and self._logtail is not None
        for entry in self._follower.poll():
            d = entry.as_dict()
            d["url"] = site_url(entry.path) if entry.kind == "observation" else None
            if entry.kind == "observation":
                sensors = tuple(entry.data.get("sensors") or ())
                out.append(Event("observation", entry.node, sensors, d))
            else:
                out.append(Event("reading", entry.node, (str(entry.data.get("sensor")),), d))
        out += [log_event(self.vault.node, line) for line in self._logtail.poll()]
        now = time.monotonic()
        if self._subs and now - self._status_at >= self.status_every_s:
            self._status_at = now
            st = self.status_json()
            if st != self._last_status:
                self._last_status = st
                out.append(Event("status", "", (), json.loads(st)))
        return out

    def status_json(self) -> str:
        """The current status as JSON text (without its ``now``, so only changes differ)."""
        d = vault_status(self.vault).as_dict()
        d.pop("now", None)
        for n in d["nodes"]:
            n.pop("age_s", None)
        return json.dumps(d, sort_keys=True)
