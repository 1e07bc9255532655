"""The ``ollama`` LLM backend: an Ollama server reached with the ``ollama`` Python client.

API: https://github.com/ollama/ollama/blob/main/docs/api.md (``POST /api/chat``;
streaming replies are NDJSON). Failures map to :class:`~vault_agent.llm.LLMUnavailable`:

- connection refused / DNS / dropped connection → "unreachable";
- no byte for ``timeout_s`` seconds, or the whole answer taking longer → "timed out";
- HTTP 404 (``model '…' not found``) → "model not found; run ollama pull";
- a body that is not the API's JSON, or a reply without text → "garbage reply".
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import LLMUnavailable


@dataclass
class OllamaBackend:
    """Chat with ``model`` on the Ollama server at ``host``.

    Attributes:
        timeout_s: seconds for the whole call (also the per-read socket timeout).
        keep_alive: how long the server keeps the model in memory after the call.
        options: Ollama model options (``temperature``, ``num_predict``).
    """

    host: str = "http://127.0.0.1:11434"
    model: str = "qwen2.5:0.5b"
    timeout_s: float = 30.0
    keep_alive: str | float | None = "5m"
    options: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> OllamaBackend:
        """Build from merged ``[llm]`` settings (see :func:`vault_agent.llm.llm_settings`)."""
        return cls(
            host=str(cfg["host"]),
            model=str(cfg["model"]),
            timeout_s=float(cfg["timeout_s"]),
            keep_alive=cfg.get("keep_alive"),
            options={
                "temperature": float(cfg.get("temperature", 0.0)),
                "num_predict": int(cfg.get("max_tokens", 160)),
            },
        )

    @property
    def name(self) -> str:
        """``ollama/<model>``."""
        return f"ollama/{self.model}"

    def chat(
        self, messages: list[dict], stream: bool = False, timeout_s: float | None = None
    ) -> Iterator[str]:
        """Answer ``messages``; yields text pieces (see :class:`vault_agent.llm.LLMBackend`).

        Errors before the first piece are raised by this call; later ones while iterating.

        Raises:
            LLMUnavailable: unreachable, timed out, model not found, garbage reply.
        """
        timeout = float(timeout_s or self.timeout_s)
        deadline = time.monotonic() + timeout
        pieces = self._pieces(messages, stream, timeout, deadline)
        first = next(pieces, None)  # surface connection/404/timeout errors now
        if first is None:
            raise LLMUnavailable(f"{self.name} at {self.host}: garbage reply (no text)")
        return itertools.chain([first], pieces)

    def _pieces(
        self, messages: list[dict], stream: bool, timeout: float, deadline: float
    ) -> Iterator[str]:
        import httpx
        import ollama

        where = f"{self.name} at {self.host}"
        client = ollama.Client(host=self.host, timeout=httpx.Timeout(timeout))
        try:
            if not stream:
                resp = client.chat(
                    model=self.model,
                    messages=messages,
                    stream=False,
                    options=self.options,
                    keep_alive=self.keep_alive,
                )
                text = resp.message.content
                if not isinstance(text, str):
                    raise LLMUnavailable(f"{where}: garbage reply (no message content)")
                yield text
                return
            got_any = False
            for part in client.chat(
                model=self.model,
                messages=messages,
                stream=True,
                options=self.options,
                keep_alive=self.keep_alive,
            ):
                if time.monotonic() > deadline:
                    raise LLMUnavailable(f"{where}: timed out after {timeout:g} s")
                text = part.message.content or ""
                if text:
                    got_any = True
                    yield text
                if part.done:
                    break
            if not got_any:
                raise LLMUnavailable(f"{where}: garbage reply (empty stream)")
        except LLMUnavailable:
            raise
        except ollama.ResponseError as e:
            if e.status_code == 404:
                raise LLMUnavailable(
                    f"{where}: model not found ({e.error}); run 'ollama pull {self.model}'"
                ) from None
            raise LLMUnavailable(f"{where}: HTTP {e.status_code}: {e.error}") from None
        except httpx.TimeoutException:
            raise LLMUnavailable(f"{where}: timed out after {timeout:g} s") from None
        except (ConnectionError, httpx.TransportError) as e:
            raise LLMUnavailable(f"{where}: unreachable ({type(e).__name__})") from None
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            # json.JSONDecodeError and pydantic's ValidationError are ValueErrors
            raise LLMUnavailable(f"{where}: garbage reply ({type(e).__name__})") from None
        finally:
            client.close()

    def models(self) -> list[str]:
        """Names of the models the server has pulled (``GET /api/tags``).

        Raises:
            LLMUnavailable: unreachable or a garbage reply.
        """
        import httpx
        import ollama

        client = ollama.Client(host=self.host, timeout=httpx.Timeout(self.timeout_s))
        try:
            return [m.model or "" for m in client.list().models]
        except (ConnectionError, httpx.HTTPError, ollama.ResponseError, ValueError) as e:
            raise LLMUnavailable(f"{self.name} at {self.host}: {type(e).__name__}: {e}") from None
        finally:
            client.close()
