"""Sync peers: ``[[peers]]`` in ``agents/<node>/node.toml`` mirrored as git remotes.

node.toml is the record (committed, so every node's sync set is visible to all);
the git remote of the same name is derived from it and recreated when missing.
A peer entry is ``{name = "nas", url = "ssh://nas/srv/homelab-ai.git"}`` with an
optional ``push = true|false`` (default: push when the peer is a bare repository).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pygit2

from ..errors import VaultError
from ..vault import Vault, layout
from ..vault.repo import BRANCH

PEER_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
URL_SCHEMES = ("file://", "ssh://", "git://", "http://", "https://")
SCP_RE = re.compile(r"^[A-Za-z0-9_.-]+@?[A-Za-z0-9_.-]*:(?!//)")
CLONE_REMOTE = "origin"


class PeerError(VaultError):
    """A bad peer name or URL, or an unknown peer."""


@dataclass(frozen=True)
class Peer:
    """One sync peer. ``push``: True/False, or None to decide (push to bare repos only)."""

    name: str
    url: str
    push: bool | None = None
    implicit: bool = False

    @property
    def remote_ref(self) -> str:
        """Where the peer's ``main`` is fetched to."""
        return f"refs/remotes/{self.name}/{BRANCH}"

    @property
    def refspec(self) -> str:
        """The fetch refspec (forced: a peer's rewritten history is judged by the merge)."""
        return f"+refs/heads/{BRANCH}:{self.remote_ref}"

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {"name": self.name, "url": self.url, "push": self.push, "implicit": self.implicit}


def validate_name(name: str) -> str:
    """Return ``name`` if it is a usable peer (git remote) name, else raise PeerError."""
    if not PEER_NAME_RE.match(name or ""):
        raise PeerError(
            f"peer name {name!r} is invalid: use 1-32 lower-case letters, digits, "
            "'-' or '_', starting with a letter or digit"
        )
    return name


def normalize_url(url: str, base: Path | None = None) -> str:
    """A peer URL as stored: URLs and ``host:path`` as given, local paths made absolute.

    Raises:
        PeerError: an empty URL or an unsupported scheme.
    """
    url = (url or "").strip()
    if not url:
        raise PeerError("peer URL is empty")
    if "://" in url:
        if not url.startswith(URL_SCHEMES):
            raise PeerError(f"unsupported peer URL {url!r}: use a path, file://, ssh:// or git://")
        return url
    if SCP_RE.match(url) and not Path(url).exists():
        return url  # scp-like user@host:path
    p = Path(url).expanduser()
    if not p.is_absolute():
        p = (base or Path.cwd()) / p
    return str(p.resolve())


def is_local(url: str) -> bool:
    """True for a plain path or ``file://`` URL."""
    return url.startswith("file://") or ("://" not in url and not SCP_RE.match(url))


def local_path(url: str) -> Path:
    """The folder of a local peer URL."""
    return Path(url[len("file://") :] if url.startswith("file://") else url)


def configured(vault: Vault) -> list[Peer]:
    """Peers in this node's node.toml, in file order.

    Raises:
        RecordError: a malformed ``[[peers]]`` entry, naming node.toml.
    """
    from ..errors import RecordError

    rel = layout.node_toml(vault.node)
    out = []
    for i, entry in enumerate(vault.node_config().get("peers", []), 1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("url"), str)
        ):
            raise RecordError(rel, 0, f"[[peers]] entry {i} needs string 'name' and 'url'")
        if not PEER_NAME_RE.match(entry["name"]):
            raise RecordError(
                rel,
                0,
                f"[[peers]] entry {i}: name {entry['name']!r} is not "
                "1-32 lower-case letters, digits, '-' or '_'",
            )
        push = entry.get("push")
        if push is not None and not isinstance(push, bool):
            raise RecordError(
                rel, 0, f"[[peers]] entry {i} ({entry['name']}): push must be true/false"
            )
        out.append(Peer(entry["name"], entry["url"], push))
    return out


def list_peers(vault: Vault) -> list[Peer]:
    """Configured peers, plus the ``origin`` remote of a cloned node if not configured.

    A node that joined with ``vault init --from URL`` syncs with that URL until it
    configures peers of its own; it shows as an implicit peer named ``origin``.
    """
    peers = configured(vault)
    names = {p.name for p in peers}
    urls = {p.url for p in peers}
    if CLONE_REMOTE not in names:
        try:
            remote = vault.repo.remotes[CLONE_REMOTE]
        except (KeyError, ValueError):
            remote = None
        if remote is not None and remote.url and remote.url not in urls:
            peers.append(Peer(CLONE_REMOTE, remote.url, None, implicit=True))
    return peers


def get_peer(vault: Vault, name: str) -> Peer:
    """The peer called ``name``.

    Raises:
        PeerError: no such peer.
    """
    for p in list_peers(vault):
        if p.name == name:
            return p
    known = ", ".join(p.name for p in list_peers(vault)) or "none"
    raise PeerError(f"no peer named {name!r} (known: {known}); add it with 'vault peer add'")


def ensure_remote(repo: pygit2.Repository, peer: Peer) -> pygit2.Remote:
    """The git remote for ``peer``, created or corrected to match node.toml."""
    try:
        remote = repo.remotes[peer.name]
    except (KeyError, ValueError):
        remote = None
    if remote is None:
        repo.remotes.create(peer.name, peer.url, peer.refspec)
        return repo.remotes[peer.name]
    if remote.url != peer.url:
        repo.remotes.set_url(peer.name, peer.url)
    if peer.refspec not in remote.fetch_refspecs:
        repo.remotes.add_fetch(peer.name, peer.refspec)
    return repo.remotes[peer.name]


def add_peer(vault: Vault, name: str, url: str, push: bool | None = None) -> Peer:
    """Add a peer to node.toml and as a git remote, and commit node.toml.

    Raises:
        PeerError: a bad name or URL, or a name already used by another URL.
    """
    validate_name(name)
    url = normalize_url(url)
    cfg = vault.node_config()
    peers = [dict(p) for p in cfg.get("peers", [])]
    for p in peers:
        if p.get("name") == name:
            if p.get("url") == url and p.get("push") == push:
                ensure_remote(vault.repo, Peer(name, url, push))
                return Peer(name, url, push)
            raise PeerError(f"peer {name!r} already exists ({p.get('url')}); remove it first")
    entry: dict = {"name": name, "url": url}
    if push is not None:
        entry["push"] = push
    peers.append(entry)
    cfg["peers"] = peers
    rel = vault.write_node_config(cfg)
    peer = Peer(name, url, push)
    ensure_remote(vault.repo, peer)
    vault.commit(
        f"Add sync peer {name}", "config", paths=[rel], trailers=[("Vault-Peer", f"{name} {url}")]
    )
    return peer


def remove_peer(vault: Vault, name: str) -> Peer:
    """Remove a peer from node.toml and its git remote (and fetched refs); commit.

    Raises:
        PeerError: no such peer.
    """
    cfg = vault.node_config()
    peers = [dict(p) for p in cfg.get("peers", [])]
    keep = [p for p in peers if p.get("name") != name]
    gone = get_peer(vault, name)
    if len(keep) != len(peers):
        cfg["peers"] = keep
        rel = vault.write_node_config(cfg)
        vault.commit(
            f"Remove sync peer {name}",
            "config",
            paths=[rel],
            trailers=[("Vault-Peer", f"{name} {gone.url}")],
        )
    try:
        vault.repo.remotes.delete(name)
    except (KeyError, ValueError, pygit2.GitError):
        pass  # no remote (never synced)
    return gone
