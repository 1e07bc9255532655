"""``/api/ask`` as server-sent events over :func:`vault_agent.ask.ask.ask`.

Events, in order: ``thinking`` (at once, before retrieval starts), ``step`` (what ask
is doing: "searching…", "thinking…"), ``piece`` (each part
of the answer as the LLM streams it, already citation-filtered by ``ask``), then
``citations`` (``[{n, path, url}]``: the sources the answer cites, or with no LLM every
source it quotes), then ``done`` (model, whether an LLM answered, where the Q&A was
logged, notes). An error is one ``error`` event with a one-line message.

``ask`` blocks (retrieval, the LLM), so it runs in a worker thread; its ``on_text``
callback hands pieces to the event loop. One question runs at a time per server (a
small node has one model to run it on); others wait their turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ..errors import VaultError

if TYPE_CHECKING:
    from .app import State

log = logging.getLogger("vault_agent.web")


def _event(kind: str, data: Any) -> dict[str, str]:
    return {"event": kind, "data": json.dumps(data, ensure_ascii=False)}


async def ask_events(
    state: State,
    question: str,
    log_qa: bool,
    url_of: Callable[[str], str | None],
    store: Any = None,
) -> AsyncIterator[dict[str, str]]:
    """The SSE events answering ``question`` (see the module docstring); ``store`` is
    the server's warm query Store (None: ``ask`` opens one)."""
    yield _event("thinking", {"question": question})
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def work() -> None:
        from ..ask.ask import ask

        with state.ask_lock:
            try:
                res = ask(
                    state.vault(),
                    question,
                    log=log_qa,
                    on_text=lambda t: put("piece", t),
                    on_status=lambda t: put("step", t),
                    store=store,
                )
            except VaultError as e:
                put("error", " ".join(str(e).split()))
                return
            except Exception as e:  # noqa: BLE001 - the client gets one line, the log the rest
                log.exception("event=web_ask_failed")
                put("error", f"{type(e).__name__}: {' '.join(str(e).split())}")
                return
        put("done", res)

    task = loop.run_in_executor(None, work)
    streamed = False
    try:
        while True:
            kind, value = await queue.get()
            if kind == "piece":
                streamed = True
                yield _event("piece", {"text": value})
            elif kind == "step":
                yield _event("step", {"text": value})
            elif kind == "error":
                yield _event("error", {"message": value})
                return
            else:
                for e in _final(value, streamed, url_of):
                    yield e
                return
    finally:
        await asyncio.shield(task) if task.done() else None


def _final(res: Any, streamed: bool, url_of: Callable[[str], str | None]):
    """``piece`` (when nothing streamed: the extractive answer), ``citations``, ``done``."""
    if not streamed and res.answer:
        yield _event("piece", {"text": res.answer})
    if res.citations:
        cited = [(c.n, c.path) for c in res.citations]
    elif not res.llm_ok:
        cited = [(n, h.path) for n, h in enumerate(res.hits, 1)]
    else:
        cited = []
    yield _event(
        "citations",
        [{"n": n, "path": p, "url": url_of(p)} for n, p in cited],
    )
    yield _event(
        "done",
        {"model": res.model, "llm": res.llm_ok, "logged": res.logged, "notes": res.notes},
    )
