"""The LLM interface (used by observe and ask): one Protocol, backends chosen by ``[llm]``.

``[llm]`` keys (defaults in :data:`DEFAULTS`):

- ``backend``: ``ollama`` (an Ollama server, default), ``llamacpp`` (in-process
  llama.cpp from a GGUF file via ``xllamacpp``) or ``none`` (rule-based text only);
- ``host``: Ollama's URL; ``model``: Ollama model name, or for llamacpp the GGUF path;
- ``timeout_s``: seconds a call may take in all before :class:`LLMUnavailable`;
- ``keep_alive``: how long Ollama keeps the model loaded (``"5m"``, ``-1``…);
- ``temperature`` (default 0: phrasing facts wants no creativity), ``max_tokens``
  (default 160), and for llamacpp ``n_ctx`` (default 2048) and ``n_threads``.

Every failure a caller can recover from (unreachable host, timeout, model not found,
a reply that is not the API's JSON) is raised as :class:`LLMUnavailable`; the caller
falls back (rule-based text, best passages) and tries again later.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from ..errors import VaultError

DEFAULTS: dict[str, Any] = {
    "backend": "ollama",
    "host": "http://127.0.0.1:11434",
    "model": "qwen2.5:0.5b",
    "timeout_s": 30.0,
    "keep_alive": "5m",
    "temperature": 0.0,
    "max_tokens": 160,
}


class LLMUnavailable(VaultError):
    """No usable answer from the LLM: unreachable, timed out, model missing or garbage reply."""


@runtime_checkable
class LLMBackend(Protocol):
    """A chat model.

    ``name`` is what observations record as ``model:`` (``ollama/qwen2.5:0.5b``,
    ``llamacpp/<file>``).
    """

    @property
    def name(self) -> str:
        """The model as recorded (``ollama/qwen2.5:0.5b``)."""
        ...

    def chat(
        self, messages: list[dict], stream: bool = False, timeout_s: float | None = None
    ) -> Iterator[str]:
        """Answer ``messages`` (``[{"role": "system"|"user"|"assistant", "content": str}]``).

        Yields the answer's text in pieces (one piece when ``stream`` is False).
        ``timeout_s`` (seconds, whole call) overrides the configured timeout.

        Raises:
            LLMUnavailable: unreachable host, timeout, model not found, garbage reply.
                Raised by the call itself when it happens before the first piece,
                else while iterating.
        """
        ...


class NoLLM:
    """The ``none`` backend: every call raises :class:`LLMUnavailable` (rule-based text only)."""

    name = "none"

    def chat(
        self, messages: list[dict], stream: bool = False, timeout_s: float | None = None
    ) -> Iterator[str]:
        """Always raises LLMUnavailable."""
        raise LLMUnavailable('no LLM configured ([llm] backend = "none")')


def llm_settings(llm_config: dict[str, Any] | None) -> dict[str, Any]:
    """``[llm]`` merged over :data:`DEFAULTS`, with numbers checked.

    Raises:
        VaultError: a non-numeric or non-positive ``timeout_s``.
    """
    cfg = {**DEFAULTS, **(llm_config or {})}
    try:
        cfg["timeout_s"] = float(cfg["timeout_s"])
    except (TypeError, ValueError):
        raise VaultError(
            f"[llm] timeout_s must be a number of seconds, got {cfg['timeout_s']!r}"
        ) from None
    if cfg["timeout_s"] <= 0:
        raise VaultError(f"[llm] timeout_s must be > 0, got {cfg['timeout_s']}")
    return cfg


def get_backend(llm_config: dict[str, Any] | None) -> LLMBackend:
    """The backend named by ``llm_config["backend"]`` (node.toml ``[llm]``), not yet contacted.

    Construction never touches the network or loads a model, so it is cheap and never
    fails for an absent server: that shows as :class:`LLMUnavailable` on ``chat``.

    Raises:
        VaultError: an unknown backend name or a bad setting.
    """
    cfg = llm_settings(llm_config)
    backend = str(cfg["backend"]).lower()
    if backend == "ollama":
        from .ollama_backend import OllamaBackend

        return OllamaBackend.from_config(cfg)
    if backend == "llamacpp":
        from .llamacpp_backend import LlamaCppBackend

        return LlamaCppBackend.from_config(cfg)
    if backend in ("none", "off", "rules"):
        return NoLLM()
    raise VaultError(f"[llm] backend {cfg['backend']!r} is unknown; use ollama, llamacpp or none")


def complete(backend: LLMBackend, messages: list[dict], timeout_s: float | None = None) -> str:
    """The whole answer of a non-streamed chat, stripped.

    Raises:
        LLMUnavailable: as :meth:`LLMBackend.chat`, or an empty answer.
    """
    text = "".join(backend.chat(messages, stream=False, timeout_s=timeout_s)).strip()
    if not text:
        raise LLMUnavailable(f"{backend.name} returned an empty answer")
    return text
