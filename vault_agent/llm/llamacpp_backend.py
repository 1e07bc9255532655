"""The ``llamacpp`` LLM backend: llama.cpp in this process, from a GGUF file, via ``xllamacpp``.

For a node without an Ollama server: ``pip install 'vault-agent[llamacpp]'`` (a
prebuilt wheel, no compiler) and in node.toml::

    [llm]
    backend = "llamacpp"
    model = "/var/lib/models/qwen2.5-0.5b-instruct-q4_k_m.gguf"
    timeout_s = 60
    n_ctx = 2048        # context tokens
    n_threads = 2       # default: all cores

xllamacpp (https://github.com/xorbitsai/xllamacpp) embeds llama.cpp's server:
``Server(CommonParams)`` loads the model, ``handle_chat_completions(request, callback)``
takes an OpenAI-style request; with ``"stream": true`` it calls ``callback`` with
each ``chat.completion.chunk`` dict (returning True stops generation). The import is
deferred: this module loads without the package; a call then raises LLMUnavailable.

The model is loaded once per process (per path and settings) in a background thread:
a call that arrives while it loads waits at most its timeout, then raises
:class:`~vault_agent.llm.LLMUnavailable` ("still loading"); the next call finds it loaded.
Generation runs in a worker thread so the timeout holds; on timeout the worker is
told to stop at its next token.

Exit: a daemon thread still inside llama.cpp when the interpreter finalizes is unwound
by force, and the C++ runtime aborts the process ("FATAL: exception not rethrown",
exit −6; seen after a mid-stream timeout). An ``atexit`` handler therefore tells every
running generation to stop and waits (at most :data:`EXIT_WAIT_S` seconds) for it and
for a model still loading, before finalization starts.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import LLMUnavailable

_SERVERS: dict[tuple, _Loader] = {}
_LOCK = threading.Lock()
_RUNNING: dict[threading.Thread, threading.Event] = {}  # generations and their stop flags
EXIT_WAIT_S = 30.0


def _stop_all_at_exit() -> None:
    """Stop every generation and wait for it and for loads (see the module docstring)."""
    with _LOCK:
        running = list(_RUNNING.items())
        loaders = list(_SERVERS.values())
    for _, stop in running:
        stop.set()
    deadline = time.monotonic() + EXIT_WAIT_S
    for thread, _ in running:
        thread.join(max(0.0, deadline - time.monotonic()))
    for loader in loaders:
        loader.done.wait(max(0.0, deadline - time.monotonic()))


atexit.register(_stop_all_at_exit)


class _Loader:
    """Loads one xllamacpp Server in a thread; ``wait`` returns it or raises."""

    def __init__(
        self, path: str, n_ctx: int, n_threads: int, max_tokens: int, temperature: float
    ) -> None:
        self.server: Any = None
        self.error: str = ""
        self.done = threading.Event()
        args = (path, n_ctx, n_threads, max_tokens, temperature)
        threading.Thread(target=self._load, args=args, name="llamacpp-load", daemon=True).start()

    def _load(
        self, path: str, n_ctx: int, n_threads: int, max_tokens: int, temperature: float
    ) -> None:
        try:
            import xllamacpp as xlc
        except ImportError:
            self.error = (
                "the llamacpp backend needs the xllamacpp package: "
                "pip install 'vault-agent[llamacpp]'"
            )
            self.done.set()
            return
        try:
            p = xlc.CommonParams()
            if hasattr(p.model, "path"):
                p.model.path = path
            else:  # older xllamacpp: model is a plain string
                p.model = path
            p.n_ctx = n_ctx
            p.n_predict = max_tokens
            p.cpuparams.n_threads = n_threads
            p.cpuparams_batch.n_threads = n_threads
            p.sampling.temp = temperature
            if hasattr(p, "verbosity"):
                p.verbosity = -1  # llama.cpp logs every token otherwise
            self.server = xlc.Server(p)
        except Exception as e:  # noqa: BLE001 - xllamacpp raises RuntimeError/ValueError
            self.error = f"could not load {path}: {type(e).__name__}: {e}"
        finally:
            self.done.set()

    def wait(self, timeout: float, where: str) -> Any:
        if not self.done.wait(max(0.0, timeout)):
            raise LLMUnavailable(f"{where}: model still loading; try again later")
        if self.error:
            raise LLMUnavailable(f"{where}: {self.error}")
        return self.server


def _piece_of(chunk: Any) -> str:
    """The text of one streamed chunk (a dict, or its JSON text)."""
    if isinstance(chunk, bytes | str):
        chunk = json.loads(chunk)
    if not isinstance(chunk, dict):
        raise ValueError(f"chunk is a {type(chunk).__name__}")
    if chunk.get("error"):
        err = chunk["error"]
        raise LLMUnavailable(str(err.get("message", err) if isinstance(err, dict) else err))
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    delta = choices[0].get("delta") or choices[0].get("message") or {}
    return delta.get("content") or ""


@dataclass
class LlamaCppBackend:
    """Chat with a GGUF model loaded in this process.

    Attributes:
        model_path: the ``.gguf`` file.
        timeout_s: seconds for a whole call (waiting for the load included).
        n_ctx: context size in tokens; n_threads: CPU threads (0: all cores).
    """

    model_path: str
    timeout_s: float = 30.0
    n_ctx: int = 2048
    n_threads: int = 0
    temperature: float = 0.0
    max_tokens: int = 160

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> LlamaCppBackend:
        """Build from merged ``[llm]`` settings; ``model`` (or ``gguf``) is the file path."""
        path = str(cfg.get("gguf") or cfg["model"])
        return cls(
            model_path=os.path.expanduser(path),
            timeout_s=float(cfg["timeout_s"]),
            n_ctx=int(cfg.get("n_ctx", 2048)),
            n_threads=int(cfg.get("n_threads", 0)),
            temperature=float(cfg.get("temperature", 0.0)),
            max_tokens=int(cfg.get("max_tokens", 160)),
        )

    @property
    def name(self) -> str:
        """``llamacpp/<file name>``."""
        return f"llamacpp/{Path(self.model_path).name}"

    def _loader(self) -> _Loader:
        if not Path(self.model_path).is_file():
            raise LLMUnavailable(f"{self.name}: GGUF file {self.model_path} not found")
        threads = self.n_threads or os.cpu_count() or 2
        key = (
            str(Path(self.model_path).resolve()),
            self.n_ctx,
            threads,
            self.max_tokens,
            self.temperature,
        )
        with _LOCK:
            loader = _SERVERS.get(key)
            if loader is None or (loader.done.is_set() and loader.error):
                loader = _SERVERS[key] = _Loader(
                    key[0], self.n_ctx, threads, self.max_tokens, self.temperature
                )
        return loader

    def chat(
        self, messages: list[dict], stream: bool = False, timeout_s: float | None = None
    ) -> Iterator[str]:
        """Answer ``messages``; yields text pieces (see :class:`vault_agent.llm.LLMBackend`).

        Raises:
            LLMUnavailable: no xllamacpp, no such file, load failure, still loading,
                timeout, a malformed chunk.
        """
        timeout = float(timeout_s or self.timeout_s)
        deadline = time.monotonic() + timeout
        server = self._loader().wait(deadline - time.monotonic(), self.name)
        pieces = self._generate(server, messages, timeout, deadline)
        if not stream:
            text = "".join(pieces)
            if not text:
                raise LLMUnavailable(f"{self.name}: empty answer")
            return iter([text])
        first = next(pieces, None)
        if first is None:
            raise LLMUnavailable(f"{self.name}: empty answer")
        return itertools.chain([first], pieces)

    def _generate(
        self, server: Any, messages: list[dict], timeout: float, deadline: float
    ) -> Iterator[str]:
        q: queue.Queue = queue.Queue()
        stop = threading.Event()
        request = {
            "messages": messages,
            "stream": True,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

        def on_chunk(chunk: Any) -> bool:
            q.put(("chunk", chunk))
            return stop.is_set()

        def work() -> None:
            try:
                server.handle_chat_completions(request, on_chunk)
                q.put(("done", None))
            except Exception as e:  # noqa: BLE001 - reported to the caller below
                q.put(("error", e))
            finally:
                with _LOCK:
                    _RUNNING.pop(threading.current_thread(), None)

        worker = threading.Thread(target=work, name="llamacpp-chat", daemon=True)
        with _LOCK:
            _RUNNING[worker] = stop
        worker.start()
        try:
            while True:
                try:
                    kind, item = q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise LLMUnavailable(f"{self.name}: timed out after {timeout:g} s") from None
                if kind == "done":
                    return
                if kind == "error":
                    raise LLMUnavailable(f"{self.name}: {type(item).__name__}: {item}")
                try:
                    text = _piece_of(item)
                except (ValueError, TypeError, AttributeError, IndexError) as e:
                    raise LLMUnavailable(f"{self.name}: garbage chunk ({e})") from None
                if text:
                    yield text
        finally:
            stop.set()
