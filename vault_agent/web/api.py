"""The JSON API under ``/api/``: thin handlers over the query layer, node status, the
event hub and ``ask``. Parameters are parsed by :mod:`.params`; replies are JSON (or
SSE for ``/api/events`` and ``/api/ask``). Blocking work runs in the thread pool.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..errors import VaultError
from ..query.status import VaultStatus, day_files, last_reading, vault_status
from ..vault import layout
from . import params as P
from .askstream import ask_events
from .events import KINDS, EventFilter
from .links import site_url

if TYPE_CHECKING:
    from .app import State

MAX_POINTS = 20000  # a request for more buckets than this is refused (400)
MAX_OBSERVATIONS = 2000
CACHE_SIZE = 256  # history replies kept (each a few kB to ~100 kB)
STATUS_TTL_S = 2.0  # /api/status is recomputed at most this often
RESOLVE_TTL_S = 10.0  # a new sensor shows up in history after at most this long
SSE_PING_S = 15


def routes(state: State) -> list[Route]:
    """The ``/api/*`` routes bound to ``state``."""
    store = StoreGuard(state)

    def bind(fn):
        async def handler(request: Request) -> Response:
            try:
                return await fn(state, store, request)
            except P.BadParam as e:
                return _line(400, str(e))
            except LookupError as e:
                return _line(404, str(e).strip("'\""))

        return handler

    return [
        Route("/api/status", bind(get_status)),
        Route("/api/sensors", bind(get_sensors)),
        Route("/api/history", bind(get_history)),
        Route("/api/observations", bind(get_observations)),
        Route("/api/events", bind(get_events)),
        Route("/api/ask", bind(get_ask)),
    ]


def _line(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(" ".join(text.split()) + "\n", status_code=status)


class UnknownSensor(LookupError):
    """A sensor name the query layer does not know (message names the known ones)."""


class StoreGuard:
    """The server's one query :class:`~vault_agent.query.Store` (thread-safe itself),
    opened on first use, with the query layer's errors turned into HTTP ones."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._store: Any = None
        self.replies = ReplyCache()
        self._resolved: dict[str, tuple[float, Any]] = {}

    def store(self) -> Any:
        """The Store (opened now if it was not yet)."""
        from ..query import Store

        with self._lock:
            if self._store is None:
                self._store = Store(self.state.root)
            return self._store

    def resolve(self, text: str) -> Any:
        """``store.resolve(text)``, remembered for :data:`RESOLVE_TTL_S` seconds (each
        resolve brings the query cache up to date: a stat of every rollup file)."""
        hit = self._resolved.get(text)
        if hit and time.monotonic() - hit[0] < RESOLVE_TTL_S:
            return hit[1]
        info = self.call("resolve", text)
        self._resolved[text] = (time.monotonic(), info)
        return info

    def call(self, method: str, *args: Any, **kw: Any) -> Any:
        """``store.method(*args, **kw)``; an unknown sensor becomes :class:`UnknownSensor`
        (→ 404), a bad parameter :class:`~.params.BadParam` (→ 400)."""
        from ..query.model import QueryError, UnknownSensorError

        store = self.store()
        try:
            return getattr(store, method)(*args, **kw)
        except UnknownSensorError as e:
            raise UnknownSensor(str(e)) from None
        except QueryError as e:
            raise P.BadParam(str(e)) from None


# -- status -----------------------------------------------------------------------------
_status_cache: dict[str, tuple[float, VaultStatus, bytes]] = {}


def _status_entry(state: State) -> tuple[float, VaultStatus, bytes]:
    st = vault_status(state.vault())
    body = json.dumps(st.as_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    return time.monotonic(), st, body


async def _status_cached(state: State) -> tuple[float, VaultStatus, bytes]:
    """(when, status, its JSON) recomputed at most every :data:`STATUS_TTL_S` seconds
    (walking the tree for conflict copies is the cost)."""
    key = str(state.root)
    hit = _status_cache.get(key)
    if hit and time.monotonic() - hit[0] < STATUS_TTL_S:
        return hit
    entry = await run_in_threadpool(_status_entry, state)
    _status_cache[key] = entry
    return entry


async def status_now(state: State) -> VaultStatus:
    """The vault's node status (at most :data:`STATUS_TTL_S` seconds old)."""
    return (await _status_cached(state))[1]


async def get_status(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/status``: :class:`~vault_agent.query.status.VaultStatus` as JSON."""
    return Response((await _status_cached(state))[2], media_type="application/json")


# -- sensors and history ----------------------------------------------------------------
async def get_sensors(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/sensors``: every sensor the vault knows (node, id, unit, binary, days)."""
    infos = await run_in_threadpool(store.call, "sensors")
    return JSONResponse({"sensors": [i.as_dict() for i in infos]})


async def get_history(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/history?sensor=ID&since=&until=&range=&every=&width=``.

    Numeric sensors: ``points`` (bucket start ``t``, ``mean``, ``min``, ``max``,
    ``count``); binary sensors: ``intervals`` (``start``, ``end``, ``on_s``, ``events``)
    and ``buckets`` (``t``, ``end``, ``on_s``, ``events``; see :func:`on_buckets`).
    """
    q = request.query_params
    sensor = (q.get("sensor") or "").strip()
    if not sensor:
        raise P.BadParam("sensor is required (a sensor id, node/id or name; see /api/sensors)")
    body = await run_in_threadpool(history, state, store, sensor, q)
    return Response(body, media_type="application/json")


class ReplyCache:
    """The last :data:`CACHE_SIZE` history replies, each keyed by its sensor, window,
    step and the (size, mtime) of every rollup file the window covers: a reply is reused
    until one of those files changes (a new line, a sync), never longer."""

    def __init__(self, size: int = 0) -> None:
        self.size = size or CACHE_SIZE
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        """The cached reply for ``key`` (marked as recently used), or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, reply: bytes) -> None:
        """Keep ``reply`` (dropping the least recently used beyond the size)."""
        with self._lock:
            self._items[key] = reply
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def files_stamp(vault: Any, node: str, since: datetime, until: datetime) -> tuple:
    """(path, size, mtime_ns) of ``node``'s rollup files for the days of [since, until]
    (a day either side: day files follow the vault's zone, not UTC)."""
    lo, hi = (since - timedelta(days=1)).date(), (until + timedelta(days=1)).date()
    out = []
    for rel in day_files(vault, node):
        day = rel.rsplit("/", 1)[-1][:10]
        if lo.isoformat() <= day <= hi.isoformat():
            try:
                st = vault.path(rel).stat()
            except OSError:
                continue
            out.append((rel, st.st_size, st.st_mtime_ns))
    return tuple(out)


def history(state: State, store: StoreGuard, sensor: str, q: Any) -> bytes:
    """The ``/api/history`` reply as JSON bytes (see :func:`get_history`); runs in a
    worker thread. Replies are cached encoded (see :class:`ReplyCache`)."""
    now = datetime.now(UTC).replace(microsecond=0)
    since = P.parse_time("since", q.get("since"), now)
    until = P.parse_time("until", q.get("until"), now)
    span = P.parse_range(q.get("range"))
    every = P.parse_every(q.get("every"))
    width = P.parse_int("width", q.get("width"), 10, P.MAX_WIDTH) or P.DEFAULT_WIDTH
    info = store.resolve(sensor)
    since, until = P.window(since, until, span, _data_end(state, info, now))
    span_s = (until - since).total_seconds()
    every = every or P.step_for(span_s, width)
    if span_s / every > MAX_POINTS:
        raise P.BadParam(
            f"every={every} gives {int(span_s / every)} points over this range "
            f"(max {MAX_POINTS}); use a larger every or a shorter range"
        )
    key = (info.key, since, until, every, files_stamp(state.vault(), info.node, since, until))
    hit = store.replies.get(key)
    if hit is not None:
        return hit
    out: dict[str, Any] = {
        "sensor": info.key,
        "node": info.node,
        "id": info.id,
        "name": info.name or info.id,
        "quantity": info.quantity,
        "unit": info.unit,
        "binary": info.binary,
        "since": layout.iso(since),
        "until": layout.iso(until),
        "every": every,
    }
    if info.binary:
        ivs = store.call("intervals", info, since, until)
        out["intervals"] = [
            {"start": i.start, "end": i.end, "on_s": i.on_s, "events": i.events} for i in ivs
        ]
        out["buckets"] = on_buckets(store.call("series", info, since, until, every, "on_s"))
    else:
        pts = store.call("series", info, since, until, every, "mean")
        out["points"] = [
            {"t": p.t, "mean": p.mean, "min": p.min, "max": p.max, "count": p.count}
            for p in pts
            if p.count
        ]
    body = json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    store.replies.put(key, body)
    return body


def on_buckets(points: list[Any]) -> list[dict[str, Any]]:
    """A binary sensor's buckets with on-time or events (``t``, ``end``, ``on_s``
    seconds, ``events``), for a chart that shows how much of each bucket was on: an
    interval of a few minutes is less than a pixel wide over a week, a bucket is about
    one pixel by construction (see :func:`~.params.step_for`)."""
    return [
        {"t": p.t, "end": p.end, "on_s": p.on_s, "events": p.events}
        for p in points
        if p.count and ((p.on_s or 0) > 0 or (p.events or 0) > 0)
    ]


def _data_end(state: State, info: Any, now: datetime) -> datetime:
    """Where a range ends by default: the node's newest reading (a node that stopped
    still shows its last week), else the day after the sensor's last day, else now."""
    last, _ = last_reading(state.vault(), info.node)
    if last:
        return min(now, layout.parse_iso(last))
    if info.last_day:
        end = datetime(info.last_day.year, info.last_day.month, info.last_day.day, tzinfo=UTC)
        return min(now, end + timedelta(days=1))
    return now


# -- observations -----------------------------------------------------------------------
async def get_observations(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/observations?node=&sensor=&since=&until=&limit=``: observations
    created in [since, until] (newest last), each with ``url``, its page on the site."""
    q = request.query_params
    now = datetime.now(UTC).replace(microsecond=0)
    node = (q.get("node") or "").strip() or None
    if node is not None:
        try:
            layout.validate_node(node)
        except VaultError as e:
            raise P.BadParam(f"node: {e}") from None
    since = P.parse_time("since", q.get("since"), now)
    until = P.parse_time("until", q.get("until"), now)
    if since and until and since > until:
        raise P.BadParam("since must not be after until")
    limit = P.parse_int("limit", q.get("limit"), 1, MAX_OBSERVATIONS) or 500
    sensor = (q.get("sensor") or "").strip()

    def run() -> list[dict[str, Any]]:
        obs = store.call("observations", node, since, until)
        if sensor:
            obs = [o for o in obs if sensor in o.sensors or sensor.split("/")[-1] in o.sensors]
        return [{**o.as_dict(), "url": site_url(o.path)} for o in obs[-limit:]]

    return JSONResponse({"observations": await run_in_threadpool(run)})


# -- live events ------------------------------------------------------------------------
def parse_filter(q: Any) -> EventFilter:
    """``kinds=observation,reading,log,status`` (default observation,log,status),
    ``node=``, ``sensor=``.

    Raises:
        BadParam: an unknown kind.
    """
    raw = (q.get("kinds") or "observation,log,status").split(",")
    kinds = {k.strip() for k in raw if k.strip()}
    bad = kinds - set(KINDS)
    if bad or not kinds:
        raise P.BadParam(f"kinds={q.get('kinds')!r}: use a comma list of {', '.join(KINDS)}")
    return EventFilter(frozenset(kinds), (q.get("node") or "").strip(), q.get("sensor") or "")


async def get_events(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/events`` (SSE): ``observation``, ``reading``, ``log`` and ``status``
    events as they happen (see :mod:`.events`); a ``hello`` event first."""
    flt = parse_filter(request.query_params)
    hub = state.hub
    queue = hub.subscribe()

    async def stream():
        try:
            yield {"event": "hello", "data": '{"kinds": ' + _json_list(flt.kinds) + "}"}
            if "status" in flt.kinds:
                yield {"event": "status", "data": await run_in_threadpool(hub.status_json)}
            while True:
                e = await queue.get()
                if flt.wants(e):
                    yield e.sse()
        except asyncio.CancelledError:
            raise
        finally:
            hub.unsubscribe(queue)

    return EventSourceResponse(stream(), ping=SSE_PING_S, headers={"Cache-Control": "no-store"})


def _json_list(items) -> str:
    return json.dumps(sorted(items))


# -- ask --------------------------------------------------------------------------------
async def get_ask(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/ask?q=…[&log=1]`` (SSE): ``thinking`` at once, ``piece`` events with the
    answer's text as it streams, then ``citations`` (n, path, url) and ``done``. Nothing
    is written unless ``log=1``: then the Q&A is kept in ``interactions/`` like
    ``vault ask``."""
    q = request.query_params
    question = (q.get("q") or "").strip()
    if not question:
        raise P.BadParam("q is required (the question)")
    if len(question) > 2000:
        raise P.BadParam(f"q is {len(question)} characters (max 2000)")
    # A GET has no side effect unless asked: the Q&A is written to interactions/ only
    # with log=1 (the Ask page sends it while its "keep" box is ticked).
    logq = (q.get("log") or "0").strip()
    if logq not in ("0", "1"):
        raise P.BadParam(f"log={logq!r}: use 1 (keep the Q&A in interactions/) or 0 (default)")
    return EventSourceResponse(
        ask_events(state, question, logq == "1", site_url, store.store()),
        ping=SSE_PING_S,
        headers={"Cache-Control": "no-store"},
    )
