"""The sync section of ``vault status``: per peer last success, ahead/behind, reachability."""

from __future__ import annotations

from typing import Any

from ..vault import Vault
from . import state as st
from .conflicts import list_conflicts
from .peers import list_peers


def peer_rows(vault: Vault) -> list[dict[str, Any]]:
    """One dict per peer: name, url, push, last_success, last_error, reachable, ahead,
    behind, failures, next_try (UTC ISO 8601). Ahead/behind count commits against the
    peer's ``main`` as last fetched."""
    from .sync import _ahead_behind

    states = st.load(vault)
    now = st.now_utc()
    rows = []
    for p in list_peers(vault):
        s = states.get(p.name, st.PeerState())
        ahead, behind = _ahead_behind(vault.repo, p)
        rows.append(
            {
                **p.as_dict(),
                "last_success": s.last_success,
                "last_attempt": s.last_attempt,
                "last_error": s.last_error,
                "reachable": s.reachable,
                "failures": s.failures,
                # None once due (expired, or impossibly far: a clock that was ahead)
                "next_try": None if s.due(now) else s.next_try,
                "ahead": ahead,
                "behind": behind,
            }
        )
    return rows


def _reach(row: dict[str, Any]) -> str:
    if row["reachable"] is None:
        return "never tried"
    if row["reachable"] and not row["last_error"]:
        return "reachable"
    if row["reachable"]:
        return "reachable, last sync failed"
    if row["next_try"] is None:
        return "unreachable (retried on the next sync)"
    return f"unreachable (retry after {row['next_try']})"


def status_section(vault: Vault) -> tuple[str, dict[str, Any], list[str]]:
    """``("sync", data, text lines)`` for ``vault status``."""
    rows = peer_rows(vault)
    conflicts = [c.as_dict() for c in list_conflicts(vault)]
    lines = [f"peers: {len(rows)}" + ("" if rows else " (add one: vault peer add NAME URL)")]
    for r in rows:
        ab = "" if r["ahead"] is None else f"ahead {r['ahead']}, behind {r['behind']}; "
        lines.append(f"  {r['name']:<10} {r['url']}")
        lines.append(f"             last sync: {r['last_success'] or 'never'}; {ab}{_reach(r)}")
        if r["last_error"]:
            lines.append(f"             last error: {r['last_error']}")
    return "sync", {"peers": rows, "conflicts": conflicts}, lines
