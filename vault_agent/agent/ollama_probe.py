"""Find a local Ollama server at ``vault init`` (one quick request, never an error).

Ollama's own convention names the server: ``OLLAMA_HOST`` (``host:port`` or a URL),
else ``http://127.0.0.1:11434`` (https://github.com/ollama/ollama/blob/main/docs/faq.md).
"""

from __future__ import annotations

import json
import os
import urllib.request

DEFAULT_HOST = "http://127.0.0.1:11434"
PREFERRED_MODEL = "qwen2.5:0.5b"
PROBE_TIMEOUT_S = 0.5


def ollama_host() -> str:
    """The Ollama URL from ``OLLAMA_HOST`` (a bare ``host:port`` gets ``http://``)."""
    raw = os.environ.get("OLLAMA_HOST", "").strip()
    if not raw:
        return DEFAULT_HOST
    return raw if "://" in raw else f"http://{raw}"


def detect_ollama(timeout_s: float = PROBE_TIMEOUT_S) -> tuple[str, str] | None:
    """(host URL, model) of a reachable Ollama with at least one model pulled, else None.

    The model is :data:`PREFERRED_MODEL` when pulled, else the first one listed by
    ``GET /api/tags``. Any failure (refused, timeout, not JSON) means None.
    """
    host = ollama_host().rstrip("/")
    try:
        with urllib.request.urlopen(f"{host}/api/tags", timeout=timeout_s) as r:  # noqa: S310
            models = [m.get("name", "") for m in json.load(r).get("models", [])]
    except (OSError, ValueError, AttributeError):
        return None
    models = [m for m in models if m]
    if not models:
        return None
    return host, PREFERRED_MODEL if PREFERRED_MODEL in models else models[0]
