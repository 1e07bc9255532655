"""The agent's section of ``vault status``: pid, uptime, last stage times, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..vault import Vault
from ..vault.process import pid_alive
from .lock import read_lock_pid
from .state import STAGES, load_state


def status_section(vault: Vault) -> tuple[str, dict[str, Any], list[str]]:
    """("agent", data, text lines) for ``vault status``."""
    cache = vault.cache_dir()
    state = load_state(cache / "agent-state.json") or {}
    pid = read_lock_pid(cache / "agent.lock")
    running = bool(pid and pid_alive(pid))
    data: dict[str, Any] = {
        "running": running,
        "pid": pid if running else None,
        **{k: state.get(k) for k in ("mode", "started", "last", "errors", "counts", "saved")},
    }
    if running and state.get("started"):
        started = datetime.fromisoformat(state["started"].replace("Z", "+00:00"))
        data["uptime_s"] = int((datetime.now(UTC) - started).total_seconds())
    lines = [
        f"agent   {'running, pid ' + str(pid) if running else 'not running'}"
        + (f", up {data['uptime_s']} s" if "uptime_s" in data else "")
    ]
    last = state.get("last") or {}
    if last:
        lines.append("  last: " + "  ".join(f"{s} {last[s]}" for s in STAGES if s in last))
    errs = state.get("errors") or {}
    if errs:
        lines.append("  errors: " + ", ".join(f"{k} {v}" for k, v in sorted(errs.items())))
    return "agent", data, lines
