"""The JSON API under ``/api/``: thin handlers over the query layer, node status, the
event hub and ``ask``. Parameters are parsed by :mod:`.params`; replies are JSON (or
SSE for ``/api/events`` and ``/api/ask``). Blocking work runs in the thread pool.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..errors import VaultError
from ..query.status import VaultStatus, last_reading, vault_status
from ..vault import layout
from . import params as P
from .askstream import ask_events
from .events import KINDS, EventFilter
from .links import site_url

if TYPE_CHECKING:
    from .app import State

MAX_POINTS = 20000  # a request for more buckets than this is refused (400)
MAX_OBSERVATIONS = 2000
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

    def call(self, method: str, *args: Any, **kw: Any) -> Any:
        """``store.method(*args, **kw)``; an unknown sensor becomes :class:`UnknownSensor`
        (→ 404), a bad parameter :class:`~.params.BadParam` (→ 400)."""
        from ..query import Store
        from ..query.model import QueryError, UnknownSensorError

        with self._lock:
            if self._store is None:
                self._store = Store(self.state.root)
        try:
            return getattr(self._store, method)(*args, **kw)
        except UnknownSensorError as e:
            raise UnknownSensor(str(e)) from None
        except QueryError as e:
            raise P.BadParam(str(e)) from None


# -- status -----------------------------------------------------------------------------
async def status_now(state: State) -> VaultStatus:
    """The vault's node status, computed in the thread pool."""
    return await run_in_threadpool(lambda: vault_status(state.vault()))


async def get_status(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/status``: :class:`~vault_agent.query.status.VaultStatus` as JSON."""
    st = await status_now(state)
    return JSONResponse(st.as_dict())


# -- sensors and history ----------------------------------------------------------------
async def get_sensors(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/sensors``: every sensor the vault knows (node, id, unit, binary, days)."""
    infos = await run_in_threadpool(store.call, "sensors")
    return JSONResponse({"sensors": [i.as_dict() for i in infos]})


async def get_history(state: State, store: StoreGuard, request: Request) -> Response:
    """``GET /api/history?sensor=ID&since=&until=&range=&every=&width=``.

    Numeric sensors: ``points`` (bucket start ``t``, ``mean``, ``min``, ``max``,
    ``count``); binary sensors: ``intervals`` (``start``, ``end``, ``on_s``, ``events``).
    """
    q = request.query_params
    sensor = (q.get("sensor") or "").strip()
    if not sensor:
        raise P.BadParam("sensor is required (a sensor id, node/id or name; see /api/sensors)")
    return JSONResponse(await run_in_threadpool(history, state, store, sensor, q))


def history(state: State, store: StoreGuard, sensor: str, q: Any) -> dict[str, Any]:
    """The ``/api/history`` reply (see :func:`get_history`); runs in a worker thread."""
    now = datetime.now(UTC).replace(microsecond=0)
    since = P.parse_time("since", q.get("since"), now)
    until = P.parse_time("until", q.get("until"), now)
    span = P.parse_range(q.get("range"))
    every = P.parse_every(q.get("every"))
    width = P.parse_int("width", q.get("width"), 10, P.MAX_WIDTH) or P.DEFAULT_WIDTH
    info = store.call("resolve", sensor)
    since, until = P.window(since, until, span, _data_end(state, info, now))
    span_s = (until - since).total_seconds()
    every = every or P.step_for(span_s, width)
    if span_s / every > MAX_POINTS:
        raise P.BadParam(
            f"every={every} gives {int(span_s / every)} points over this range "
            f"(max {MAX_POINTS}); use a larger every or a shorter range"
        )
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
    else:
        pts = store.call("series", info, since, until, every, "mean")
        out["points"] = [
            {"t": p.t, "mean": p.mean, "min": p.min, "max": p.max, "count": p.count}
            for p in pts
            if p.count
        ]
    return out


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
    """``GET /api/ask?q=…&log=1`` (SSE): ``thinking`` at once, ``piece`` events with the
    answer's text as it streams, then ``citations`` (n, path, url) and ``done``."""
    q = request.query_params
    question = (q.get("q") or "").strip()
    if not question:
        raise P.BadParam("q is required (the question)")
    if len(question) > 2000:
        raise P.BadParam(f"q is {len(question)} characters (max 2000)")
    logq = (q.get("log") or "1").strip()
    if logq not in ("0", "1"):
        raise P.BadParam(f"log={logq!r}: use 1 (record the Q&A, default) or 0")
    return EventSourceResponse(
        ask_events(state, question, logq == "1", site_url),
        ping=SSE_PING_S,
        headers={"Cache-Control": "no-store"},
    )
