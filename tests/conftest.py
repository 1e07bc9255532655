"""Shared fixtures: ``fake_ollama`` (a real HTTP server speaking Ollama's API) and
``gguf_path`` (a real GGUF model for ``real_llm`` tests, skipped when absent:
``$VAULT_TEST_GGUF``, else the cache that ``python -m tests.support.gguf`` fills).

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
def vault(tmp_path: Path, request: pytest.FixtureRequest):
    """A new vault at ``tmp_path/"v"`` for the test module's ``NODE`` (default
    ``alpaca-1``). A module that needs data in it overrides ``vault`` with a fixture
    that takes this one and adds the data."""
    from vault_agent.vault import Vault

    node = getattr(request.module, "NODE", "alpaca-1")
    return Vault.init(tmp_path / "v", node)[0]


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A started :class:`FakeOllama` with an empty script; call ``.script(...)`` in the test.

    ``fake_ollama.url`` is the host for ``[llm] host``; ``fake_ollama.requests`` what it got.
    """
    with FakeOllama() as srv:
        yield srv


def find_gguf() -> Path | None:
    """The test GGUF: ``$VAULT_TEST_GGUF``, else the cache of ``python -m tests.support.gguf``."""
    from tests.support.gguf import DEFAULT_PATH

    value = os.environ.get(GGUF_ENV, "")
    p = Path(value) if value else DEFAULT_PATH
    return p if p.is_file() else None


@pytest.fixture
def gguf_path() -> Path:
    """Path of a real instruction-tuned GGUF (see :func:`find_gguf`); skips when absent."""
    p = find_gguf()
    if p is None:
        pytest.skip(
            f"no GGUF model: set {GGUF_ENV} to a .gguf file or run "
            "'python -m tests.support.gguf' (see docs/observer.md)"
        )
    return p
