"""Shared fixtures: ``fake_ollama`` (a real HTTP server speaking Ollama's API) and
``gguf_path`` (a real GGUF model for ``real_llm`` tests, skipped when absent).

Import the fake in tests as ``from tests.support import FakeOllama, Reply``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # make ``tests.support`` importable however pytest is started
    sys.path.insert(0, str(ROOT))

from tests.support import FakeOllama  # noqa: E402

GGUF_ENV = "VAULT_TEST_GGUF"


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A started :class:`FakeOllama` with an empty script; call ``.script(...)`` in the test.

    ``fake_ollama.url`` is the host for ``[llm] host``; ``fake_ollama.requests`` what it got.
    """
    with FakeOllama() as srv:
        yield srv


@pytest.fixture
def gguf_path() -> Path:
    """Path of a real instruction-tuned GGUF from ``$VAULT_TEST_GGUF``; skips when unset/absent."""
    value = os.environ.get(GGUF_ENV, "")
    if not value:
        pytest.skip(f"no GGUF model: set {GGUF_ENV} to a .gguf file (see docs/observer.md)")
    p = Path(value)
    if not p.is_file():
        pytest.skip(f"{GGUF_ENV}={value} does not exist")
    return p
