"""Per-peer sync state in ``.vault/sync/peers.json``: last success, failures, backoff.

Derived, git-ignored state (deleting it only forgets when peers were last seen).
While a peer is unreachable, retries back off exponentially:
``delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (failures - 1))`` seconds
(the capped doubling Syncthing and most network clients use), reset on success.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta

from ..vault import Vault, layout
from ..vault.atomic import atomic_write_text

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
        """True when the backoff has expired (or there is none)."""
        return self.next_try is None or layout.parse_iso(self.next_try) <= now

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

    def failed(self, now: datetime, error: str, reachable: bool) -> PeerState:
        """The state after a failure at ``now``: one more failure, backoff from now."""
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
