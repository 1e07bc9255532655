"""``vault watch``: follow a person's edits, commit them and reindex (debounced).

watchdog reports file events under the vault (``.git/``, ``.vault/``,
``local-cache/`` and ``*.tmp`` are ignored). After ``debounce_s`` seconds without a
new event, one batch runs: pending files that people edit (knowledge-base,
shared-memory, READMEs, node.toml, other loose files) are checked and committed
with ``Vault-Kind: edit`` — files written by programs (rollups, observations,
interactions, conflict copies) are left to the programs that commit them — then
the indexes are updated incrementally.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..vault import Vault, layout
from ..vault.check import check_tree
from .indexer import Indexer, IndexReport

log = logging.getLogger("vault_agent.watch")
EDIT_KINDS = (
    layout.PathKind.KNOWLEDGE,
    layout.PathKind.SHARED_JSON,
    layout.PathKind.README,
    layout.PathKind.OTHER,
    layout.PathKind.NODE_CONFIG,
)
IGNORED_PARTS = (".git", layout.VAULT_DIR, layout.LOCAL_CACHE)


@dataclass
class Batch:
    """What one debounced batch did."""

    committed: list[str] = field(default_factory=list)
    commit: str | None = None
    refused: list[str] = field(default_factory=list)
    index: IndexReport | None = None
    # problems of files refused for the first time since they last changed (reported once)
    new_problems: list[str] = field(default_factory=list)


def ignored(rel: str) -> bool:
    """True for paths the watcher does not react to."""
    parts = rel.split("/")
    return (
        any(p in IGNORED_PARTS for p in parts) or rel.endswith(".tmp") or parts[-1].startswith(".#")
    )


def person_edits(vault: Vault) -> list[str]:
    """Pending paths of kinds that people edit (see module docstring)."""
    return [p for p in vault.pending() if layout.classify(p).kind in EDIT_KINDS]


def _signature(vault: Vault, rel: str) -> tuple[int, int] | None:
    try:
        st = vault.path(rel).lstat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def run_batch(
    vault: Vault, indexer: Indexer, seen: dict[str, tuple[int, int] | None] | None = None
) -> Batch:
    """Commit a person's pending edits (those passing ``vault check``), then reindex.

    ``seen`` (path → (mtime ns, size) when last reported) makes a refused file's
    problems reported once per change of the file, not once per batch.
    """
    b = Batch()
    seen = {} if seen is None else seen
    edits = person_edits(vault)
    if edits:
        problems = check_tree(vault.root, [str(vault.path(p)) for p in edits])
        bad = sorted({p.path for p in problems})
        fresh = {p for p in bad if seen.get(p, ()) != _signature(vault, p)}
        for p in problems:
            if p.path in fresh:
                b.new_problems.append(str(p))
                log.debug("not committed: %s", p)
        for p in fresh:
            seen[p] = _signature(vault, p)
        for p in [p for p in seen if p not in bad]:
            del seen[p]  # fixed (or committed): a new problem later is news again
        b.refused = bad
        b.committed = [p for p in edits if p not in bad]
        if b.committed:
            names = ", ".join(b.committed[:3]) + (" …" if len(b.committed) > 3 else "")
            b.commit = vault.commit(f"Edit {names}", "edit", paths=b.committed)
    b.index = indexer.update()
    return b


class _Handler:
    def __init__(self, vault: Vault, wake: threading.Event) -> None:
        self.vault = vault
        self.wake = wake
        self.last = 0.0

    def dispatch(self, event) -> None:
        # Trigger: watchdog ≥ 4 reports opening and closing a file without writing.
        # Why: the batch itself reads the files (check, index), which woke the watcher
        # again, every debounce, forever. What: only changes wake it.
        if getattr(event, "event_type", "") in ("opened", "closed_no_write"):
            return
        for attr in ("src_path", "dest_path"):
            path = getattr(event, attr, "") or ""
            if not path:
                continue
            try:
                rel = self.vault.rel(path)
            except ValueError:
                continue
            if not ignored(rel) and not getattr(event, "is_directory", False):
                self.last = time.monotonic()
                self.wake.set()


def watch(
    vault: Vault,
    indexer: Indexer | None = None,
    debounce_s: float = 2.0,
    stop: threading.Event | None = None,
    on_batch: Callable[[Batch], None] | None = None,
    max_batches: int | None = None,
) -> int:
    """Watch until ``stop`` is set (or ``max_batches`` ran); returns batches run.

    A first batch runs at start, so edits made while nothing watched are picked up.
    """
    from watchdog.observers import Observer

    indexer = indexer or Indexer(vault)
    stop = stop or threading.Event()
    wake = threading.Event()
    handler = _Handler(vault, wake)
    obs = Observer()
    obs.schedule(handler, str(vault.root), recursive=True)
    obs.start()
    runs = 0
    seen: dict[str, tuple[int, int] | None] = {}
    try:
        wake.set()
        handler.last = time.monotonic() - debounce_s
        while not stop.is_set():
            if not wake.wait(0.2):
                continue
            if time.monotonic() - handler.last < debounce_s:
                continue
            wake.clear()
            batch = run_batch(vault, indexer, seen)
            runs += 1
            if on_batch:
                on_batch(batch)
            if max_batches and runs >= max_batches:
                break
    finally:
        obs.stop()
        obs.join(timeout=5)
    return runs
