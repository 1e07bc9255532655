"""Fetch from and push to a peer with pygit2 (paths, file://, git://, ssh://), with a timeout.

libgit2 has connect/read timeouts for network transports (set through
``pygit2.settings``); a transfer that keeps trickling is cut by the progress
callbacks once ``timeout_s`` seconds have passed. SSH URLs are first resolved through
``~/.ssh/config`` with ``ssh -G`` (Host aliases, HostName, User, Port, IdentityFile; see
:mod:`.ssh_config`). SSH uses the ssh-agent, then the IdentityFile keys, then
``~/.ssh/id_ed25519`` / ``id_ecdsa`` / ``id_rsa``; the host must already be in
``~/.ssh/known_hosts`` under its resolved name and port (checked by libgit2; an
unknown or changed host key is refused, see docs/sync.md).
"""

from __future__ import annotations

import fcntl
import getpass
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygit2

from ..errors import VaultError
from ..vault.repo import BRANCH
from . import ssh_config
from .peers import Peer, ensure_remote, is_local, local_path
from .ssh_config import SshTarget

log = logging.getLogger("vault_agent.sync")

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


BROKEN_MARKERS = (
    "hash mismatch",
    "corrupt",
    "object not found",
    "missing object",
    "failed to decompress",
    "invalid object",
    "bad packfile",
    "incomplete pack",
)


class PushRejected(VaultError):
    """The peer refused the update of ``main`` (it moved on: not a fast-forward)."""


# What libgit2 and git servers say when another node's push got there first: the
# remote main moved after our fetch ("not present locally", non-fast-forward), or its
# ref was locked or changed under us by a concurrent push. All mean: fetch, merge, retry.
RACE_MARKERS = (
    "non-fast-forward",
    "fast forward",
    "fetch first",
    "rejected",
    "not present locally",
    "failed to lock",
    "cannot lock ref",
    "failed to update ref",
    "does not match",
    "stale info",
    "has been modified",
)


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process at the named point when ``VAULT_SYNC_CRASH_AT=name``.

    Used by the interrupted-sync tests (a real kill of a real ``vault sync`` process).
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class _Callbacks(pygit2.RemoteCallbacks):
    """Deadline, credentials, crash points and push status for one transfer."""

    def __init__(self, timeout_s: float, phase: str, target: SshTarget | None = None) -> None:
        super().__init__()
        self.deadline = time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self.phase = phase
        self.target = target
        self.clone_remote: Callable | None = None  # set by clone_callbacks
        self.rejected: dict[str, str] = {}
        self._keys = self._key_candidates(target.identity_files if target else ())
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

    def push_transfer_progress(
        self, objects_pushed: int, total_objects: int, bytes_pushed: int
    ) -> None:  # noqa: D102
        self._check()
        crash_point("push")

    def push_update_reference(self, refname: str, message: str | None) -> None:  # noqa: D102
        if message:
            self.rejected[refname] = message

    @staticmethod
    def _key_candidates(first: tuple[Path, ...] = ()) -> list[tuple[str | None, str]]:
        """(public, private) key files to offer: IdentityFile keys, then the defaults.

        An IdentityFile without a ``.pub`` next to it is offered with None (libssh2
        derives the public key); a default key needs its ``.pub``.
        """
        home = ssh_config.ssh_home() / ".ssh"
        out: list[tuple[str | None, str]] = []
        for priv in first:
            pub = priv.with_name(priv.name + ".pub")
            out.append((str(pub) if pub.is_file() else None, str(priv)))
        for name in SSH_KEYS:
            priv = home / name
            if (
                priv.is_file()
                and (home / f"{name}.pub").is_file()
                and str(priv) not in {k for _, k in out}
            ):
                out.append((str(home / f"{name}.pub"), str(priv)))
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
        t = self.target
        if t is None:
            raise TransportError(
                f"{self.phase}: host key of {name} is not in ~/.ssh/known_hosts or does not "
                f"match it; check it and accept it once with 'ssh [-p PORT] USER@{name} true'"
            )
        entry = t.host if t.port == ssh_config.DEFAULT_PORT else f"[{t.host}]:{t.port}"
        if t.host_key_alias:
            # HostKeyAlias: ssh files the key under the alias, but libgit2 looks the
            # resolved host up; say so instead of suggesting a command that won't help.
            fix = (
                f"HostKeyAlias {t.host_key_alias} is not supported: add a known_hosts "
                f"line for {entry}"
            )
        else:
            fix = f"check it and accept it once with '{_ssh_command(t)}'"
        raise TransportError(
            f"{self.phase} ({t.describe()}): host key of {entry} is not in "
            f"~/.ssh/known_hosts or does not match it; {fix}"
        )

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
        where = f"{self.target.written} (→ {url})" if self.target else url
        raise TransportError(
            f"no SSH credentials accepted for {where} (tried the ssh-agent "
            f"and {len(self._keys)} key file(s) in ~/.ssh)"
        )


def _ssh_command(target: SshTarget) -> str:
    """``ssh [-p PORT] USER@ALIAS true``: the host as the user wrote it (the alias)."""
    parts = ssh_config.split_url(target.written)
    if parts is None:
        return f"ssh -p {target.port} {target.user}@{target.host} true"
    port = f"-p {parts.port} " if parts.port else ""
    return f"ssh {port}{target.user}@{parts.host} true"


def resolve_ssh(url: str) -> SshTarget | None:
    """``url`` resolved through ``~/.ssh/config`` (None: connect to it as given)."""
    if is_local(url):
        return None
    return ssh_config.resolve(url, ssh_config.ssh_home(), _login_name())


def _open_remote(repo: pygit2.Repository, peer: Peer, target: SshTarget | None) -> pygit2.Remote:
    """The peer's named remote, or (for a resolved SSH alias) an in-memory remote at the
    resolved URL: the stored remote keeps the URL as the user wrote it."""
    remote = ensure_remote(repo, peer)
    return repo.remotes.create_anonymous(target.url) if target else remote


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
    target = resolve_ssh(peer.url)
    remote = _open_remote(repo, peer, target)
    cb = _Callbacks(timeout_s, f"fetch from {peer.name}", target)
    try:
        stats = remote.fetch([peer.refspec], callbacks=cb, message=f"vault sync: fetch {peer.name}")
    except TransportError:
        raise
    except (pygit2.GitError, OSError, KeyError, ValueError) as e:
        msg = _clean(e)
        broken = any(m in msg.lower() for m in BROKEN_MARKERS)
        what = "sent a broken object" if broken else _failed_or_timed_out(msg, timeout_s)
        where = target.describe() if target else peer.url
        raise TransportError(
            f"fetch from {peer.name} ({where}) {what}: {msg}", reachable=broken
        ) from None
    try:
        head = repo.references[peer.remote_ref].target
    except KeyError:
        head = None
    return FetchResult(head, stats.received_objects, stats.received_bytes)  # type: ignore[arg-type]  # a remote ref is direct: an Oid


def push(repo: pygit2.Repository, peer: Peer, timeout_s: float) -> None:
    """Push our ``main`` to the peer's ``main`` (never forced).

    Raises:
        PushRejected: the peer moved on (fetch and merge again) or refused the update.
        TransportError: unreachable, timed out, or failed.
    """
    _check_local(peer)
    _configure_timeouts(timeout_s)
    target = resolve_ssh(peer.url)
    remote = _open_remote(repo, peer, target)
    cb = _Callbacks(timeout_s, f"push to {peer.name}", target)
    spec = f"refs/heads/{BRANCH}:refs/heads/{BRANCH}"
    with _local_push_lock(peer):
        _push(remote, spec, cb, peer, target, timeout_s)
        _check_local_push_kept(repo, peer)


def _push(
    remote: pygit2.Remote,
    spec: str,
    cb: _Callbacks,
    peer: Peer,
    target: SshTarget | None,
    timeout_s: float,
) -> None:
    try:
        remote.push([spec], callbacks=cb, threads=0)  # 0: one pack thread per CPU
    except TransportError:
        raise
    except (pygit2.GitError, OSError, KeyError, ValueError) as e:
        msg = _clean(e)
        if any(w in msg.lower() for w in RACE_MARKERS):
            raise PushRejected(f"push to {peer.name} rejected: {msg}") from None
        where = target.describe() if target else peer.url
        raise TransportError(
            f"push to {peer.name} ({where}) {_failed_or_timed_out(msg, timeout_s)}: {msg}"
        ) from None
    if cb.rejected:
        raise PushRejected(
            f"push to {peer.name} rejected: "
            + "; ".join(f"{k}: {v}" for k, v in cb.rejected.items())
        )


@contextmanager
def _local_push_lock(peer: Peer) -> Iterator[None]:
    """An exclusive ``flock`` on ``vault-push.lock`` in a local hub's folder around a push.

    libgit2's local push reads the hub's ``main`` when it connects and writes it at the
    end without comparing (see :func:`_check_local_push_kept`); pushes taken one at a
    time see each other's result, so a stale one is refused as non-fast-forward. A
    file system without locks (some NAS mounts) pushes unlocked; the check after the
    push still catches an overwrite. SSH hubs lock in git's receive-pack.
    """
    if not is_local(peer.url):
        yield
        return
    fd = None
    try:
        fd = os.open(local_path(peer.url) / "vault-push.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError as e:
        log.debug("event=push_unlocked peer=%s reason=%r", peer.name, str(e))
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _check_local_push_kept(repo: pygit2.Repository, peer: Peer) -> None:
    """After a push to a local hub, check that the hub's ``main`` still holds what we pushed.

    Trigger: two nodes push to one hub folder (a NAS mount) at the same moment. Why:
    libgit2's local transport writes the hub's ref without comparing it to the value it
    read before (``local_push_update_remote_ref`` forces the update), so the later push
    silently replaces the earlier one: a push reported as done whose commits are not on
    the hub. What: a lost push is a push race (:class:`PushRejected`): the caller
    fetches, merges and pushes again. SSH hubs run git's receive-pack, which locks.

    Raises:
        PushRejected: the hub's ``main`` no longer contains our ``main``.
    """
    if not is_local(peer.url):
        return
    ours = repo.references[f"refs/heads/{BRANCH}"].target
    try:
        hub = pygit2.Repository(str(local_path(peer.url)))
        theirs = hub.references[f"refs/heads/{BRANCH}"].target
        kept = theirs == ours or hub.descendant_of(theirs, ours)
    except (pygit2.GitError, KeyError, ValueError) as e:
        raise PushRejected(f"push to {peer.name} rejected: cannot read its main ({e})") from None
    if not kept:
        raise PushRejected(
            f"push to {peer.name} rejected: its main was overwritten by a concurrent push"
        )


def peer_is_bare(peer: Peer) -> bool | None:
    """True/False for a local peer (bare or a working copy); None when it cannot be told."""
    if not is_local(peer.url):
        return None
    try:
        return pygit2.Repository(str(local_path(peer.url))).is_bare
    except pygit2.GitError:
        return None


def clone_callbacks(url: str, timeout_s: float = CLONE_TIMEOUT_S) -> _Callbacks:
    """Callbacks for ``pygit2.clone_repository`` (``vault init --from URL``).

    The same SSH resolution (``~/.ssh/config``), credentials and known_hosts check as
    sync, and a ``timeout_s`` (seconds) connect/read timeout and overall deadline. Pass
    ``remote=cb.clone_remote`` too: for a resolved alias it makes libgit2 connect to
    the resolved URL while ``origin`` keeps ``url`` as written (None otherwise).
    """
    _configure_timeouts(timeout_s)
    target = resolve_ssh(url)
    cb = _Callbacks(timeout_s, f"clone of {url}", target)
    cb.clone_remote = _clone_remote(target) if target else None
    return cb


def clone(url: str, root: Path, timeout_s: float = CLONE_TIMEOUT_S) -> None:
    """Clone ``url``'s ``main`` into the folder ``root`` with sync's credentials and
    known_hosts check (:func:`clone_callbacks`); what ``Vault.init(clone=…)`` calls.

    Raises:
        pygit2.GitError: unreachable, refused host key, no such repository.
    """
    cb = clone_callbacks(url, timeout_s)
    pygit2.clone_repository(
        url, str(root), checkout_branch=BRANCH, callbacks=cb, remote=cb.clone_remote
    )


def _clone_remote(target: SshTarget) -> Callable[[pygit2.Repository, bytes, bytes], pygit2.Remote]:
    def make(repo: pygit2.Repository, name: bytes, url: bytes) -> pygit2.Remote:
        # The in-memory remote keeps the resolved URL (libgit2 fetches with it); the
        # config gets the URL as written, so later syncs resolve the alias afresh.
        remote_name = name.decode() if isinstance(name, bytes) else name
        remote = repo.remotes.create(remote_name, target.url)
        repo.remotes.set_url(remote_name, target.written)
        return remote

    return make


def _failed_or_timed_out(msg: str, timeout_s: float) -> str:
    """Say "timed out after N s" when libgit2 reports its socket timeout, else "failed"."""
    return f"timed out after {timeout_s:g} s" if "timed out" in msg.lower() else "failed"


def _clean(e: Exception) -> str:
    return " ".join(str(e).split()) or type(e).__name__
