"""Built vaults shared by the whole test run: each is built once and every user gets a copy.

Building a vault from the bundled data sets (replay, observer, index) takes seconds to tens
of seconds; copying the built folder (git history, index and all) takes a fraction of a
second. :func:`copy` builds a named vault the first time any test process of the run asks
for it (the other pytest-xdist workers wait on a file lock, then reuse it) and copies it to
where the caller wants it, so a test may write to its copy freely.

The templates live in the run's base temporary folder (shared by the xdist workers of one
run, never by two runs); :func:`set_base` is called by ``tests/conftest.py``. Outside
pytest (a benchmark importing a helper) :func:`copy` builds straight at the destination.

A builder is ``build(root) -> result``: it makes the vault at ``root`` (a new path), closes
every :class:`~vault_agent.vault.Vault` it opened, and returns a picklable result (the
facts the tests need, e.g. ids of the observations it wrote); :func:`copy` returns it.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_BASE: list[Path] = []


def set_base(basetemp: Path) -> None:
    """Use ``basetemp`` (pytest's base temporary folder of this process) to place the
    templates: under an xdist worker its parent (the run's folder, shared by the workers),
    else ``basetemp`` itself."""
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    _BASE[:] = [shared / "shared-vaults"]


def _base() -> Path:
    if not _BASE:  # a helper used outside pytest: a folder of this process
        _BASE.append(Path(tempfile.mkdtemp(prefix="vault-shared-")))
    _BASE[0].mkdir(parents=True, exist_ok=True)
    return _BASE[0]


def template(name: str, build: Callable[[Path], Any]) -> tuple[Path, Any]:
    """(folder, result) of the vault ``name`` built by ``build``, building it on first use.

    The folder is read-only by convention: copy it (:func:`copy`) before writing.
    """
    base = _base()
    root, meta = base / name, base / f"{name}.pickle"
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not meta.is_file():
            shutil.rmtree(root, ignore_errors=True)  # a build that failed half-way
            result = build(root)
            meta.write_bytes(pickle.dumps(result))
    return root, pickle.loads(meta.read_bytes())


def copy(name: str, build: Callable[[Path], Any], dest: Path) -> Any:
    """Copy the vault ``name`` (see :func:`template`) to the new folder ``dest``; returns
    the builder's result."""
    if not _BASE:  # outside pytest: nothing to share
        return build(dest)
    root, result = template(name, build)
    shutil.copytree(root, dest, symlinks=True)
    return result
