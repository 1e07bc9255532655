"""Raw readings in ``agents/<node>/local-cache/raw/YYYY-MM-DD.jsonl`` (git-ignored).

One JSON line per reading ``{"t": "…Z", "s": id, "v": value}`` or failed read
``{"t", "s", "err": "…"}``, in the UTC day file of ``t``. Lines are queued by the
sampler's workers and written by one writer thread (a slow SD card never delays a
read). Bounded: day files older than ``retention_days`` are deleted, and when the
folder grows past ``max_bytes`` the oldest day files go first; if today's file alone
is over the cap, new lines are dropped and counted (``dropped``). Only files this module
names (``YYYY-MM-DD.jsonl`` in ``raw/``) are ever deleted.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger("vault_agent.sensors")
RAW_NAME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\.jsonl$")
DEFAULT_RETENTION_DAYS = 7
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class RawCache:
    """Append-only, bounded store of raw readings.

    Args:
        folder: the ``raw/`` folder (created).
        retention_days: keep day files this many days (default 7).
        max_bytes: size cap of the folder (default 64 MiB).
    """

    def __init__(
        self,
        folder: Path,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        self.max_bytes = max_bytes
        self.dropped = 0
        self._q: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._size = self._scan_size()
        self._last_prune = float("-inf")

    @classmethod
    def for_vault(cls, vault: Any, **kw: Any) -> RawCache:
        """The cache of ``vault``'s node (``local-cache/raw``)."""
        return cls(vault.cache_dir("raw"), **kw)

    def _files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if RAW_NAME_RE.match(p.name))

    def _scan_size(self) -> int:
        return sum(p.stat().st_size for p in self._files())

    # -- producing -------------------------------------------------------------------
    def put(
        self, sensor: str, t: datetime, value: float | None = None, error: str | None = None
    ) -> None:
        """Queue one raw line (never blocks)."""
        rec: dict[str, Any] = {
            "t": t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "s": sensor,
        }
        if error is not None:
            rec["err"] = error
        else:
            rec["v"] = value
        self._q.put((t.astimezone(UTC).strftime("%Y-%m-%d"), json.dumps(rec)))

    # -- writing ---------------------------------------------------------------------
    def start(self, interval_s: float = 1.0) -> None:
        """Start the writer thread (flushes the queue every ``interval_s``)."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, args=(interval_s,), name="raw-cache", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Flush what is queued and stop the writer."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join()
            self._thread = None
        self.flush()

    def _run(self, interval_s: float) -> None:
        while not self._stopping.wait(interval_s):
            try:
                self.flush()
            except OSError as e:  # a full or read-only disk: keep sampling, say why
                log.warning("raw cache write failed: %s", e)

    def flush(self, now: datetime | None = None) -> int:
        """Write every queued line (grouped per day file); returns the lines written."""
        batches: dict[str, list[str]] = {}
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            batches.setdefault(item[0], []).append(item[1])
        written = 0
        with self._lock:
            for day, lines in sorted(batches.items()):
                data = ("\n".join(lines) + "\n").encode("utf-8")
                if self._size + len(data) > self.max_bytes:
                    self._prune_locked(now, need=len(data), keep=f"{day}.jsonl")
                if self._size + len(data) > self.max_bytes:
                    if self.dropped == 0:
                        log.warning(
                            "raw cache %s is at its %d-byte cap; dropping raw lines",
                            self.folder,
                            self.max_bytes,
                        )
                    self.dropped += len(lines)
                    continue
                with open(self.folder / f"{day}.jsonl", "ab") as fh:
                    fh.write(data)
                self._size += len(data)
                written += len(lines)
            if time.monotonic() - self._last_prune > 3600:
                self._prune_locked(now)
        return written

    def prune(self, now: datetime | None = None) -> list[Path]:
        """Delete day files past retention, then oldest ones while over the cap."""
        with self._lock:
            return self._prune_locked(now)

    def _prune_locked(
        self, now: datetime | None, need: int = 0, keep: str | None = None
    ) -> list[Path]:
        self._last_prune = time.monotonic()
        now = now or datetime.now(UTC)
        cutoff = (now - timedelta(days=self.retention_days)).strftime("%Y-%m-%d")
        removed = []
        files = self._files()
        for p in files:
            if p.name[:10] < cutoff:
                removed.append(p)
        for p in files:
            if self._size_without(removed) + need <= self.max_bytes:
                break
            if p not in removed and p.name != keep:
                removed.append(p)
        for p in removed:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        self._size = self._scan_size()
        return removed

    def _size_without(self, removed: list[Path]) -> int:
        return self._size - sum(p.stat().st_size for p in removed if p.exists())

    def total_bytes(self) -> int:
        """Current size of the cache folder's day files."""
        return self._size
