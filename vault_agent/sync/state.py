"""Per-peer sync state in ``.vault/sync/peers.json``: last success, failures, backoff.

Derived, git-ignored state (deleting it only forgets when peers were last seen).
While a peer is unreachable, retries back off exponentially:
``delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (failures - 1))`` seconds
(the capped doubling Syncthing and most network clients use), reset on success.

Only an unreachable peer backs off. A peer that answered is tried again next round
whatever went wrong: a push that lost a race (the hub moved on between our fetch and
our push; sync already retried it at once), a refused or broken history. The error is
recorded without a backoff.

A deadline further away than ``BACKOFF_MAX_S`` cannot have come from this rule with a
right clock: it was computed while the clock was ahead (a Pi without RTC, a wrong NTP
answer). Such a peer is due now, so a corrected clock never waits out a year.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta

from ..vault import Vault, layout
from ..vault.atomic import append_lines, atomic_write_text

BACKOFF_BASE_S = 60
BACKOFF_MAX_S = 6 * 3600


def backoff_delay(failures: int) -> int:
    """Seconds to wait after ``failures`` consecutive failures (0 when none)."""
    if failures <= 0:
        return 0
    return int(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** min(failures - 1, 30)))


@dataclass(frozen=True)
class PeerState:
    """What this node remembers about one peer. Times are UTC ISO 8601 strings or None."""

    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    failures: int = 0
    next_try: str | None = None
    reachable: bool | None = None
    ahead: int | None = None
    behind: int | None = None
    can_push: bool | None = None

    def due(self, now: datetime) -> bool:
        """True when the backoff has expired, there is none, or it cannot be trusted.

        A ``next_try`` more than :data:`BACKOFF_MAX_S` after ``now`` was computed from a
        clock that was ahead (see the module docstring): due. An unreadable one too.
        """
        if self.next_try is None:
            return True
        try:
            nxt = layout.parse_iso(self.next_try)
        except (ValueError, TypeError):
            return True
        return nxt <= now or nxt - now > timedelta(seconds=BACKOFF_MAX_S)

    def succeeded(self, now: datetime, ahead: int | None, behind: int | None) -> PeerState:
        """The state after a successful sync at ``now``."""
        return replace(
            self,
            last_attempt=layout.iso(now),
            last_success=layout.iso(now),
            last_error=None,
            failures=0,
            next_try=None,
            reachable=True,
            ahead=ahead,
            behind=behind,
        )

    def failed(self, now: datetime, error: str, reachable: bool, backoff: bool = True) -> PeerState:
        """The state after a failure at ``now``: one more failure, backoff from now.

        ``backoff=False`` (a lost push race): the error is kept, no retry is delayed.
        """
        if not backoff:
            return replace(
                self,
                last_attempt=layout.iso(now),
                last_error=error[:500],
                next_try=None,
                reachable=reachable,
            )
        failures = self.failures + 1
        nxt = now + timedelta(seconds=backoff_delay(failures))
        return replace(
            self,
            last_attempt=layout.iso(now),
            last_error=error[:500],
            failures=failures,
            next_try=layout.iso(nxt),
            reachable=reachable,
        )

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def _file(vault: Vault):
    return vault.state_dir("sync") / "peers.json"


def load(vault: Vault) -> dict[str, PeerState]:
    """Every peer's state (an unreadable file counts as empty: it is derived state)."""
    p = _file(vault)
    if not p.exists():
        return {}
    try:
        raw = json.loads(p.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    fields = set(PeerState.__dataclass_fields__)
    out = {}
    for name, d in raw.items() if isinstance(raw, dict) else []:
        if isinstance(d, dict):
            out[name] = PeerState(**{k: v for k, v in d.items() if k in fields})
    return out


def save(vault: Vault, states: dict[str, PeerState]) -> None:
    """Write every peer's state atomically."""
    atomic_write_text(
        _file(vault),
        json.dumps({k: v.as_dict() for k, v in sorted(states.items())}, indent=2) + "\n",
    )


def update(vault: Vault, name: str, state: PeerState) -> None:
    """Replace one peer's state (read-modify-write under the sync lock)."""
    states = load(vault)
    states[name] = state
    save(vault, states)


def forget(vault: Vault, name: str) -> None:
    """Drop a removed peer's state."""
    states = load(vault)
    if states.pop(name, None) is not None:
        save(vault, states)


def now_utc() -> datetime:
    """The current UTC time (seconds precision)."""
    return datetime.now(UTC).replace(microsecond=0)


def flags_file(vault: Vault):
    """``.vault/sync/flags.jsonl``: merged records whose HLC stamps were not adopted."""
    return vault.state_dir("sync") / "flags.jsonl"


def record_flags(vault: Vault, peer: str, flags: list[dict]) -> None:
    """Append one JSON line per flagged stamp: ``{"time", "peer", "path", "hlc", …}``.

    Derived, local state kept for the person to inspect (the records stay in the
    vault; the log has the same lines as ``event=hlc_flagged``).
    """
    t = layout.iso(now_utc())
    lines = [json.dumps({"time": t, "peer": peer, **f}, sort_keys=True) for f in flags]
    append_lines(flags_file(vault), lines, fsync=False)
