"""Fetch from and push to a peer with pygit2 (paths, file://, git://, ssh://), with a timeout.

libgit2 has connect/read timeouts for network transports (set through
``pygit2.settings``); a transfer that keeps trickling is cut by the progress
callbacks once ``timeout_s`` seconds have passed. SSH uses the ssh-agent, then
``~/.ssh/id_ed25519`` / ``id_ecdsa`` / ``id_rsa``; the host must already be in
``~/.ssh/known_hosts`` (checked by libgit2; an unknown or changed host key is refused,
see docs/sync.md).
"""

from __future__ import annotations

import getpass
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pygit2

from ..errors import VaultError
from ..vault.repo import BRANCH
from .peers import Peer, ensure_remote, is_local, local_path

CRASH_ENV = "VAULT_SYNC_CRASH_AT"
SSH_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")
CLONE_TIMEOUT_S = 600.0


class TransportError(VaultError):
    """A peer could not be reached or the transfer failed (the peer is retried later).

    ``reachable`` is True when the peer answered but sent something broken (a
    corrupt or missing object).
    """

    def __init__(self, message: str, reachable: bool = False) -> None:
        super().__init__(message)
        self.reachable = reachable


BROKEN_MARKERS = ("hash mismatch", "corrupt", "object not found", "missing object",
                  "failed to decompress", "invalid object", "bad packfile", "incomplete pack")


class PushRejected(VaultError):
    """The peer refused the update of ``main`` (it moved on: not a fast-forward)."""


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process at the named point when ``VAULT_SYNC_CRASH_AT=name``.

    Used by the interrupted-sync tests (a real kill of a real ``vault sync`` process).
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class _Callbacks(pygit2.RemoteCallbacks):
    """Deadline, credentials, crash points and push status for one transfer."""

    def __init__(self, timeout_s: float, phase: str) -> None:
        super().__init__()
        self.deadline = time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self.phase = phase
        self.rejected: dict[str, str] = {}
        self._keys = self._key_candidates()
        self._key_calls = 0

    def _check(self) -> None:
        if time.monotonic() > self.deadline:
            raise TransportError(f"{self.phase} timed out after {self.timeout_s:g} s")

    def transfer_progress(self, stats) -> None:  # noqa: D102 - libgit2 callback
        self._check()
        if stats.received_objects:
            crash_point("fetch")

    def sideband_progress(self, string: str) -> None:  # noqa: D102
        self._check()

    def push_transfer_progress(self, objects_pushed: int, total_objects: int,
                               bytes_pushed: int) -> None:  # noqa: D102
        self._check()
        crash_point("push")

    def push_update_reference(self, refname: str, message: str | None) -> None:  # noqa: D102
        if message:
            self.rejected[refname] = message

    @staticmethod
    def _key_candidates() -> list[tuple[str, str]]:
        home = Path(os.environ.get("HOME", "~")).expanduser() / ".ssh"
        out = []
        for name in SSH_KEYS:
            if (home / name).is_file() and (home / f"{name}.pub").is_file():
                out.append((str(home / f"{name}.pub"), str(home / name)))
        return out

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        """Accept the host only when libgit2 found it valid (SSH: in ~/.ssh/known_hosts).

        pygit2's default passes every SSH host key through, whatever known_hosts says;
        libgit2's ``valid`` is its known_hosts verdict (for HTTPS: the TLS check).

        Raises:
            TransportError: the host key is unknown or differs from known_hosts.
        """
        if valid:
            return True
        name = host.decode(errors="replace") if isinstance(host, bytes) else str(host)
        raise TransportError(
            f"{self.phase}: host key of {name} is not in ~/.ssh/known_hosts or does not "
            f"match it; check it and accept it once with 'ssh [-p PORT] USER@{name} true'")

    def credentials(self, url: str, username_from_url: str | None, allowed_types):  # noqa: D102
        user = username_from_url or _login_name()
        if allowed_types & pygit2.enums.CredentialType.USERNAME:
            return pygit2.Username(user)
        if allowed_types & pygit2.enums.CredentialType.SSH_KEY:
            self._key_calls += 1  # counted apart: a URL without user asks USERNAME first
            if self._key_calls == 1:
                return pygit2.KeypairFromAgent(user)
            idx = self._key_calls - 2
            if idx < len(self._keys):
                pub, priv = self._keys[idx]
                return pygit2.Keypair(user, pub, priv, "")
        raise TransportError(f"no SSH credentials accepted for {url} (tried the ssh-agent and "
                             f"{len(self._keys)} key file(s) in ~/.ssh)")


def _login_name() -> str:
    """The SSH user for a URL without one: $USER/$LOGNAME, else the account's name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "git"


def _configure_timeouts(timeout_s: float) -> None:
    ms = max(1, int(timeout_s * 1000))
    try:
        pygit2.settings.server_connect_timeout = ms
        pygit2.settings.server_timeout = ms
    except (AttributeError, ValueError, pygit2.GitError):
        pass  # older libgit2: the progress callbacks still enforce the deadline


def _check_local(peer: Peer) -> None:
    if is_local(peer.url):
        p = local_path(peer.url)
        if not p.exists():
            raise TransportError(f"peer {peer.name}: {p} does not exist (not mounted?)")


@dataclass(frozen=True)
class FetchResult:
    """The peer's ``main`` after a fetch (None: the peer has no commits yet)."""

    head: pygit2.Oid | None
    received_objects: int
    received_bytes: int


def fetch(repo: pygit2.Repository, peer: Peer, timeout_s: float) -> FetchResult:
    """Fetch the peer's ``main`` into ``refs/remotes/<peer>/main``.

    Raises:
        TransportError: unreachable, timed out, or the transfer failed.
    """
    _check_local(peer)
    _configure_timeouts(timeout_s)
    remote = ensure_remote(repo, peer)
    cb = _Callbacks(timeout_s, f"fetch from {peer.name}")
    try:
        stats = remote.fetch([peer.refspec], callbacks=cb,
                             message=f"vault sync: fetch {peer.name}")
    except TransportError:
        raise
    except (pygit2.GitError, OSError, KeyError, ValueError) as e:
        msg = _clean(e)
        broken = any(m in msg.lower() for m in BROKEN_MARKERS)
        what = ("sent a broken object" if broken
                else _failed_or_timed_out(msg, timeout_s))
        raise TransportError(f"fetch from {peer.name} ({peer.url}) {what}: {msg}",
                             reachable=broken) from None
    try:
        head = repo.references[peer.remote_ref].target
    except KeyError:
        head = None
    return FetchResult(head, stats.received_objects, stats.received_bytes)


def remote_has_main(repo: pygit2.Repository, peer: Peer) -> bool:
    """True when the last fetch found a ``main`` branch at the peer."""
    return peer.remote_ref in repo.references


def push(repo: pygit2.Repository, peer: Peer, timeout_s: float) -> None:
    """Push our ``main`` to the peer's ``main`` (never forced).

    Raises:
        PushRejected: the peer moved on (fetch and merge again) or refused the update.
        TransportError: unreachable, timed out, or failed.
    """
    _check_local(peer)
    _configure_timeouts(timeout_s)
    remote = ensure_remote(repo, peer)
    cb = _Callbacks(timeout_s, f"push to {peer.name}")
    spec = f"refs/heads/{BRANCH}:refs/heads/{BRANCH}"
    try:
        remote.push([spec], callbacks=cb, threads=0)  # 0: one pack thread per CPU
    except TransportError:
        raise
    except (pygit2.GitError, OSError, KeyError, ValueError) as e:
        msg = _clean(e)
        if any(w in msg.lower() for w in ("non-fast-forward", "fast forward", "fetch first",
                                          "rejected")):
            raise PushRejected(f"push to {peer.name} rejected: {msg}") from None
        raise TransportError(f"push to {peer.name} ({peer.url}) "
                             f"{_failed_or_timed_out(msg, timeout_s)}: {msg}") from None
    if cb.rejected:
        raise PushRejected(f"push to {peer.name} rejected: "
                           + "; ".join(f"{k}: {v}" for k, v in cb.rejected.items()))


def peer_is_bare(peer: Peer) -> bool | None:
    """True/False for a local peer (bare or a working copy); None when it cannot be told."""
    if not is_local(peer.url):
        return None
    try:
        return pygit2.Repository(str(local_path(peer.url))).is_bare
    except pygit2.GitError:
        return None


def clone_callbacks(url: str, timeout_s: float = CLONE_TIMEOUT_S) -> pygit2.RemoteCallbacks:
    """Callbacks for ``pygit2.clone_repository`` (``vault init --from URL``).

    The same SSH credentials and known_hosts check as sync, and a ``timeout_s``
    (seconds) connect/read timeout and overall deadline.
    """
    _configure_timeouts(timeout_s)
    return _Callbacks(timeout_s, f"clone of {url}")


def _failed_or_timed_out(msg: str, timeout_s: float) -> str:
    """Say "timed out after N s" when libgit2 reports its socket timeout, else "failed"."""
    return f"timed out after {timeout_s:g} s" if "timed out" in msg.lower() else "failed"


def _clean(e: Exception) -> str:
    return " ".join(str(e).split()) or type(e).__name__
