"""Shared fixtures: ``fake_ollama`` (a real HTTP server speaking Ollama's API) and
``gguf_path`` (a real GGUF model for ``real_llm`` tests, skipped when absent:
``$VAULT_TEST_GGUF``, else the cache that ``python -m tests.support.gguf`` fills).

Import the fake in tests as ``from tests.support import FakeOllama, Reply``.

Also: the run's shared built vaults (:mod:`tests.support.shared`) and the order in which
pytest-xdist hands out the test files (:func:`pytest_collection_modifyitems`).
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


# The files that take over a minute on one worker: started before the other slow ones, so
# that no worker is still running one of them after the rest of the run has ended.
LONGEST_FIRST = ("tests/test_site_scale.py",)


def _cost_rank(item: pytest.Item) -> int:
    """0 for a file of :data:`LONGEST_FIRST`, 1 for a file holding a ``slow`` test, 2 for
    one holding a ``browser`` test, else 3."""
    if item.nodeid.split("::")[0] in LONGEST_FIRST:
        return 0
    marks = {m.name for m in item.iter_markers()}
    return 1 if "slow" in marks else 2 if "browser" in marks else 3


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the cores. Many tests wait on child processes,
    servers and git (a run used ~480 CPU-seconds in 338 s on 2 workers, 2 cores); a third
    worker fills those waits: 295 s for the same run on this 2-core machine."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the files with slow or browser tests to the front (order kept otherwise).

    pytest-xdist (``--dist loadfile --no-loadscope-reorder``) hands out whole files in
    collection order as workers free up; starting the longest files first keeps one long
    file from running alone at the end while the other worker idles.
    """
    rank: dict[str, int] = {}
    for item in items:
        rank[item.nodeid.split("::")[0]] = min(
            rank.get(item.nodeid.split("::")[0], 3), _cost_rank(item)
        )
    items.sort(key=lambda it: rank[it.nodeid.split("::")[0]])  # stable: order within a rank


# Test files whose names start with one of these run on one xdist worker, one after the
# other: they copy the same shared build (tests/support/shared.py), so no worker sits
# waiting on the lock while another builds it.
SAME_WORKER_PREFIXES = ("tests/test_mcp_",)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the files of :data:`SAME_WORKER_PREFIXES` as one unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedBuildScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return next((p for p in SAME_WORKER_PREFIXES if path.startswith(p)), path)

    return SharedBuildScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def _shared_vaults(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Place the run's shared built vaults (:mod:`tests.support.shared`)."""
    from tests.support import shared

    shared.set_base(tmp_path_factory.getbasetemp())


@pytest.fixture
def vault(tmp_path: Path, request: pytest.FixtureRequest):
    """A new vault at ``tmp_path/"v"`` for the test module's ``NODE`` (default
    ``alpaca-1``).

    A module whose tests need the same data in it defines ``vault_data(v: Vault) -> None``
    writing that data: the vault is then built and filled once per run and each test gets
    its own copy (:mod:`tests.support.shared`), which is much cheaper than appending
    thousands of rollups per test. A module needing more overrides ``vault`` with a fixture
    that takes this one and adds to it."""
    from tests.support import shared
    from vault_agent.vault import Vault

    node = getattr(request.module, "NODE", "alpaca-1")
    fill = getattr(request.module, "vault_data", None)
    root = tmp_path / "v"
    if fill is None:
        return Vault.init(root, node)[0]

    def build(dest: Path) -> None:
        v = Vault.init(dest, node)[0]
        fill(v)
        v.close()

    shared.copy(f"vault-{request.module.__name__}", build, root)
    return Vault(root, node)


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
