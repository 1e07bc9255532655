"""A small real HTTP server on 127.0.0.1 that speaks enough of Ollama's API for tests.

This is the process boundary fake (team brief): the code under test uses the real
``ollama`` Python client (httpx) against a real socket; only the model is scripted.

Endpoints (shapes follow https://github.com/ollama/ollama/blob/main/docs/api.md):

- ``POST /api/chat``      → ``{"message": {"role": "assistant", "content": …}, "done": true}``
- ``POST /api/generate``  → ``{"response": …, "done": true}``
- both stream NDJSON (one JSON object per line, the last with ``"done": true``) when the
  request has ``"stream": true`` (Ollama's default when the key is absent);
- ``GET /api/tags``       → ``{"models": [{"name": …}, …]}``
- ``POST /api/embed``     → ``{"embeddings": [[…], …]}`` (deterministic, from a hash of the text)
- ``GET /api/version``    → ``{"version": "0.0.0-fake"}``

A chat/generate/embed request naming a model that is not in ``models`` gets Ollama's
404 ``{"error": "model '…' not found, try pulling it first"}``.

Scripting: ``replies`` is a list consumed in order (or a callable ``request -> reply``);
each reply is a ``str`` (a good answer) or a :class:`Reply` (good, slow, 404, garbage,
HTTP error). When the list runs out ``default`` is used; without a default the server
answers HTTP 500 ``script exhausted`` so an unexpected extra call is visible.

Example::

    with FakeOllama([Reply.text("Warm: 23.1 °C."), Reply.slow("late", 5)]) as srv:
        client = ollama.Client(host=srv.url)
        ...
        assert srv.requests[0]["json"]["model"] == "qwen2.5:0.5b"
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODELS = ("qwen2.5:0.5b", "nomic-embed-text:latest")


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    Attributes:
        content: the model's text (split into ``chunks`` pieces when streaming).
        delay_s: seconds to wait before sending anything (a timeout test sets this
            beyond the client's timeout).
        chunk_delay_s: seconds to wait between streamed pieces.
        status: HTTP status; non-200 sends ``{"error": error}``.
        error: error text for a non-200 status (or a mid-stream ``{"error": …}`` line
            when ``status`` is 200 and ``stream_error`` is set).
        garbage: send a body that is not JSON (or, streaming, a line that is not JSON).
        chunks: how many pieces a streamed answer is cut into (≥ 1).
        stream_error: when streaming, send an ``{"error": …}`` line after the first piece.
        tool_calls: for ``/api/chat``, the model's tool calls
            (``[{"function": {"name": …, "arguments": {…}}}]``, Ollama's shape), sent in
            the final message (streamed: in the last piece).
    """

    content: str = ""
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    status: int = 200
    error: str = ""
    garbage: bool = False
    chunks: int = 3
    stream_error: bool = False
    tool_calls: tuple[dict[str, Any], ...] = ()

    @classmethod
    def text(cls, content: str, chunks: int = 3) -> Reply:
        """A good answer."""
        return cls(content=content, chunks=chunks)

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any], content: str = "") -> Reply:
        """A chat answer that calls one tool (as a tool-capable model such as qwen2.5 does)."""
        return cls(
            content=content, tool_calls=({"function": {"name": name, "arguments": arguments}},)
        )

    @classmethod
    def slow(cls, content: str, delay_s: float) -> Reply:
        """A good answer that starts only after ``delay_s`` seconds."""
        return cls(content=content, delay_s=delay_s)

    @classmethod
    def not_found(cls, model: str = "qwen2.5:0.5b") -> Reply:
        """Ollama's 404 for a model that was never pulled."""
        return cls(status=404, error=f"model '{model}' not found, try pulling it first")

    @classmethod
    def garbage_json(cls) -> Reply:
        """A 200 reply whose body is not JSON."""
        return cls(garbage=True)

    @classmethod
    def http_error(cls, status: int = 500, error: str = "internal error") -> Reply:
        """Any other HTTP error."""
        return cls(status=status, error=error)


Script = list[Reply | str] | Callable[[dict[str, Any]], Reply | str]


@dataclass
class FakeOllama:
    """A threaded HTTP server speaking Ollama's API on a free port of 127.0.0.1.

    Use as a context manager (or call :meth:`start` / :meth:`close`). ``url`` is the
    host to give the client; ``requests`` lists what arrived (``method``, ``path``,
    ``json`` — the parsed body or None — and ``headers``), in order.
    """

    replies: Script = field(default_factory=list)
    models: Iterable[str] = DEFAULT_MODELS
    default: Reply | str | None = None
    embed_dim: int = 16
    embed_gate: threading.Event | None = None  # embeddings wait for it (up to 60 s) if set
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.models = list(self.models)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("FakeOllama is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOllama:
        """Bind a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-ollama",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; slow replies in progress are cut short."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting -----------------------------------------------------------------------
    def script(self, *replies: Reply | str, default: Reply | str | None = None) -> None:
        """Replace the scripted replies (and the default used once they run out)."""
        with self._lock:
            self.replies = list(replies)
            self.default = default

    def chat_requests(self) -> list[dict[str, Any]]:
        """The bodies of the /api/chat requests received."""
        return [r["json"] for r in self.requests if r["path"] == "/api/chat"]

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            if callable(self.replies):
                r = self.replies(request)
            elif self.replies:
                r = self.replies.pop(0)
            elif self.default is not None:
                r = self.default
            else:
                r = Reply.http_error(500, "FakeOllama: script exhausted")
        return Reply.text(r) if isinstance(r, str) else r

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def _sleep(self, seconds: float) -> bool:
        """Wait; False if the server is closing."""
        return not self._stop.wait(seconds) if seconds > 0 else not self._stop.is_set()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _pieces(text: str, n: int) -> list[str]:
    n = max(1, min(n, len(text) or 1))
    size = -(-len(text) // n) if text else 1
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _embedding(text: str, dim: int) -> list[float]:
    h = hashlib.sha256(text.encode("utf-8")).digest()
    return [round((h[i % len(h)] - 127.5) / 127.5, 6) for i in range(dim)]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOllama
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass  # keep test output clean

    # -- plumbing ------------------------------------------------------------------------
    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return None

    def _send(self, status: int, payload: Any | bytes) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- routes --------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.fake._record(
            {"method": "GET", "path": self.path, "json": None, "headers": dict(self.headers)}
        )
        if self.path == "/api/tags":
            models = [
                {
                    "name": m,
                    "model": m,
                    "modified_at": _now(),
                    "size": 397821319,
                    "digest": hashlib.sha256(m.encode()).hexdigest(),
                    "details": {
                        "format": "gguf",
                        "family": "qwen2",
                        "parameter_size": "494.03M",
                        "quantization_level": "Q4_K_M",
                    },
                }
                for m in self.fake.models
            ]
            self._send(200, {"models": models})
        elif self.path == "/api/version":
            self._send(200, {"version": "0.0.0-fake"})
        elif self.path == "/":
            self._send(200, b"Ollama is running")
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self._body()
        entry = {"method": "POST", "path": self.path, "json": body, "headers": dict(self.headers)}
        self.fake._record(entry)
        if self.path not in ("/api/chat", "/api/generate", "/api/embed", "/api/embeddings"):
            self._send(404, {"error": "not found"})
            return
        if not isinstance(body, dict) or not body.get("model"):
            self._send(400, {"error": "model is required"})
            return
        model = body["model"]
        if model not in self.fake.models and f"{model}:latest" not in self.fake.models:
            self._send(404, {"error": f"model '{model}' not found, try pulling it first"})
            return
        if self.path in ("/api/embed", "/api/embeddings"):
            self._embed(body)
            return
        reply = self.fake._next_reply(entry)
        if not self.fake._sleep(reply.delay_s):
            return
        if reply.status != 200:
            self._send(reply.status, {"error": reply.error or "error"})
            return
        stream = body.get("stream", True)
        if stream:
            self._stream(body, reply)
        elif reply.garbage:
            self._send(200, b"<html>this is not json{")
        else:
            self._send(200, self._final(body, reply.content, reply.tool_calls))

    def _embed(self, body: dict[str, Any]) -> None:
        if self.fake.embed_gate is not None:
            self.fake.embed_gate.wait(60)
        dim = self.fake.embed_dim
        if self.path == "/api/embeddings":  # legacy single-prompt endpoint
            self._send(200, {"embedding": _embedding(str(body.get("prompt", "")), dim)})
            return
        inp = body.get("input", "")
        texts = [inp] if isinstance(inp, str) else list(inp)
        self._send(
            200, {"model": body["model"], "embeddings": [_embedding(str(t), dim) for t in texts]}
        )

    def _piece(self, body: dict[str, Any], text: str, done: bool) -> dict[str, Any]:
        d: dict[str, Any] = {"model": body["model"], "created_at": _now()}
        if self.path == "/api/chat":
            d["message"] = {"role": "assistant", "content": text}
        else:
            d["response"] = text
        d["done"] = done
        return d

    def _final(
        self, body: dict[str, Any], text: str, tool_calls: tuple[dict[str, Any], ...] = ()
    ) -> dict[str, Any]:
        d = self._piece(body, text, True)
        if tool_calls and "message" in d:
            d["message"]["tool_calls"] = list(tool_calls)
        d.update(
            {
                "done_reason": "stop",
                "total_duration": 1_000_000,
                "load_duration": 1000,
                "prompt_eval_count": 10,
                "prompt_eval_duration": 1000,
                "eval_count": max(1, len(text.split())),
                "eval_duration": 1000,
            }
        )
        return d

    def _stream(self, body: dict[str, Any], reply: Reply) -> None:
        self._start_stream()
        try:
            if reply.garbage:
                self._chunk(b"{not json at all\n")
                self._end_stream()
                return
            for i, piece in enumerate(_pieces(reply.content, reply.chunks)):
                if i and not self.fake._sleep(reply.chunk_delay_s):
                    return
                self._chunk((json.dumps(self._piece(body, piece, False)) + "\n").encode())
                if reply.stream_error:
                    err = {"error": reply.error or "stream broke"}
                    self._chunk((json.dumps(err) + "\n").encode())
                    self._end_stream()
                    return
            final = self._final(body, "", reply.tool_calls)
            self._chunk((json.dumps(final) + "\n").encode())
            self._end_stream()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)
