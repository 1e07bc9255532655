"""The running agent's state, shared with ``vault status``.

Written atomically to ``agents/<node>/local-cache/agent-state.json`` every few seconds:
pid, start time, the last time each stage ran (UTC ISO 8601) and error counts.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..vault.atomic import atomic_write_text

STAGES = ("sample", "rollup", "observation", "commit", "sync", "index")


def now_iso() -> str:
    """Current UTC time, ISO 8601 with Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AgentState:
    """Thread-safe counters and timestamps of one agent run, saved to ``path``."""

    def __init__(self, path: Path, pid: int, mode: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.data: dict[str, Any] = {
            "pid": pid,
            "mode": mode,
            "started": now_iso(),
            "running": True,
            "last": {},
            "errors": {},
            "counts": {},
        }
        self._errors: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()

    def mark(self, stage: str, n: int = 1) -> None:
        """Record that ``stage`` just ran (adding ``n`` to its count)."""
        with self._lock:
            self.data["last"][stage] = now_iso()
            self._counts[stage] += n

    def summary(self) -> str:
        """One log line's worth: ``rollup=N observation=N commit=N … errors=N``."""
        with self._lock:
            counts = " ".join(f"{k}={v}" for k, v in sorted(self._counts.items()))
            errors = sum(self._errors.values())
        return f"{counts or 'nothing-yet'} errors={errors}"

    def error(self, stage: str) -> None:
        """Count an error in ``stage``."""
        with self._lock:
            self._errors[stage] += 1

    def save(self, running: bool = True) -> None:
        """Write the state file atomically."""
        with self._lock:
            self.data["running"] = running
            self.data["errors"] = dict(self._errors)
            self.data["counts"] = dict(self._counts)
            self.data["saved"] = now_iso()
            text = json.dumps(self.data, indent=2)
        atomic_write_text(self.path, text + "\n")


def load_state(path: Path) -> dict[str, Any] | None:
    """The saved state, or None if there is none (or it is unreadable)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
