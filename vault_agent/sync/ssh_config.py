"""Resolve an SSH peer URL through OpenSSH's own config parser (``ssh -G``).

libgit2 (libssh2) ignores ``~/.ssh/config``, so ``ssh://nas/srv/hub.git`` with ``nas``
a ``Host`` alias would fail although ``git`` works with it. ``ssh -G`` prints the
effective options for a host without connecting; from them we build the URL libgit2
connects to (``ssh://user@hostname:port/path``) and the key files to offer first.

Used only when ``<HOME>/.ssh/config`` exists and ``ssh`` is on PATH; any failure falls
back to the URL as given (logged at debug level). Not supported: ProxyJump,
ProxyCommand and HostKeyAlias (known_hosts is looked up under the resolved host name).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

SSH_G_TIMEOUT_S = 5.0
DEFAULT_PORT = 22
# What ``ssh -G`` lists when no IdentityFile is configured; our own defaults cover them.
SSH_DEFAULT_IDENTITIES = frozenset(
    f"~/.ssh/{n}"
    for n in (
        "id_rsa",
        "id_ecdsa",
        "id_ecdsa_sk",
        "id_ed25519",
        "id_ed25519_sk",
        "id_xmss",
        "id_dsa",
    )
)
# scp-like "[user@]host:path" (no scheme); a path like C:\x or ./a:b is not one.
SCP_RE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:]+):(?P<path>(?!//).*)$")


@dataclass(frozen=True)
class SshOptions:
    """The options of ``ssh -G`` output that matter to us."""

    hostname: str
    user: str | None
    port: int
    identity_files: tuple[str, ...]  # as printed (may hold ~ or %d)
    host_key_alias: str | None
    proxy: bool  # ProxyJump/ProxyCommand set (not supported)


@dataclass(frozen=True)
class SshTarget:
    """Where an SSH peer URL really goes.

    ``url`` is what libgit2 connects to; ``written`` the URL as the user wrote it;
    ``identity_files`` existing private keys from IdentityFile, to offer first.
    """

    written: str
    url: str
    host: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    host_key_alias: str | None = None

    def describe(self) -> str:
        """``ssh://nas/srv/hub.git → 127.0.0.1:2222`` (the URL as written, then where)."""
        return f"{self.written} → {self.host}:{self.port}"


@dataclass(frozen=True)
class _Parts:
    user: str | None
    host: str
    port: int | None
    path: str  # for an ssh:// URL: starts with "/"


def parse_ssh_g(text: str) -> SshOptions:
    """Parse ``ssh -G`` output (``keyword value`` lines, keywords in lower case).

    Raises:
        ValueError: no ``hostname`` line, or a ``port`` that is not a number.
    """
    host = user = alias = None
    port = DEFAULT_PORT
    ids: list[str] = []
    proxy = False
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        value = value.strip()
        if not value:
            continue
        key = key.lower()
        if key == "hostname":
            host = value
        elif key == "user":
            user = value
        elif key == "port":
            port = int(value)
        elif key == "identityfile":
            ids.append(value)
        elif key == "hostkeyalias":
            alias = value
        elif key in ("proxyjump", "proxycommand") and value.lower() != "none":
            proxy = True
    if not host:
        raise ValueError("ssh -G printed no hostname")
    return SshOptions(host, user, port, tuple(ids), alias, proxy)


def expand_identity(
    path: str, home: Path, local_user: str, host: str, remote_user: str
) -> Path | None:
    """Expand ``~`` and the tokens %d %u %h %r %% of an IdentityFile; None if another
    token remains (we cannot expand it the way ssh would)."""
    if path == "~" or path.startswith("~/"):
        path = str(home) + path[1:]
    tokens = {"d": str(home), "u": local_user, "h": host, "r": remote_user, "%": "%"}
    out, i = [], 0
    while i < len(path):
        c = path[i]
        if c == "%" and i + 1 < len(path):
            if path[i + 1] not in tokens:
                return None
            out.append(tokens[path[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    p = Path("".join(out))
    return p if p.is_absolute() else home / ".ssh" / p


def split_url(url: str) -> _Parts | None:
    """User, host, port and path of an ``ssh://`` or scp-like URL; None for others."""
    if url.startswith(("ssh://", "git+ssh://", "ssh+git://")):
        s = urlsplit(url)
        if not s.hostname:
            return None
        return _Parts(s.username, s.hostname, s.port, s.path or "/")
    if "://" in url:
        return None
    m = SCP_RE.match(url)
    if not m:
        return None
    path = m["path"]
    # libgit2 reads ssh://host/~/p as a path under the remote home, like scp's "host:p".
    return _Parts(m["user"], m["host"], None, path if path.startswith("/") else f"/~/{path}")


def run_ssh_g(
    host: str, config: Path, port: int | None, user: str | None, timeout_s: float = SSH_G_TIMEOUT_S
) -> str:
    """``ssh -G [-p PORT] [-l USER] -F CONFIG HOST`` output (does not connect).

    Raises:
        OSError, subprocess.SubprocessError: ssh missing, failed or timed out.
    """
    ssh = shutil.which("ssh")
    if not ssh:
        raise FileNotFoundError("ssh is not on PATH")
    cmd = [ssh, "-G"]
    if port:
        cmd += ["-p", str(port)]
    if user:
        cmd += ["-l", user]
    cmd += ["-F", str(config), "--", host]
    res = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
    )
    if res.returncode != 0:
        raise subprocess.CalledProcessError(res.returncode, cmd, res.stdout, res.stderr)
    return res.stdout


def resolve(url: str, home: Path, local_user: str) -> SshTarget | None:
    """Resolve an SSH peer URL through ``<home>/.ssh/config`` (None: use it as given).

    ``home`` is the HOME whose ``.ssh`` holds the keys; ``local_user`` the login name
    (for %u). Returns None for non-SSH URLs, without a config file or ``ssh``, when
    the config changes nothing for the host, or when ``ssh -G`` fails (logged at debug
    level).
    """
    parts = split_url(url)
    config = home / ".ssh" / "config"
    if parts is None or not config.is_file() or not shutil.which("ssh"):
        return None
    try:
        opts = parse_ssh_g(run_ssh_g(parts.host, config, parts.port, parts.user))
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        log.debug("ssh -G for %s failed, using the URL as given: %s", url, e)
        return None
    if opts.proxy:
        log.debug("%s: ProxyJump/ProxyCommand is not supported; connecting directly", url)
    user = parts.user or opts.user or local_user
    keys = []
    for raw in opts.identity_files:
        if raw in SSH_DEFAULT_IDENTITIES:
            continue  # ssh's defaults (printed when none is configured): tried anyway
        p = expand_identity(raw, home, local_user, opts.hostname, user)
        if p is not None and p.is_file() and p not in keys:
            keys.append(p)
    if (
        opts.hostname == parts.host
        and opts.port == (parts.port or DEFAULT_PORT)
        and not keys
        and user == (parts.user or local_user)
    ):
        return None  # the config changes nothing for this host: keep plain messages
    host = f"[{opts.hostname}]" if ":" in opts.hostname else opts.hostname
    return SshTarget(
        url,
        f"ssh://{user}@{host}:{opts.port}{parts.path}",
        opts.hostname,
        opts.port,
        user,
        tuple(keys),
        opts.host_key_alias,
    )


def ssh_home() -> Path:
    """The HOME whose ``.ssh`` we use ($HOME, as libgit2 and our key lookup do)."""
    return Path(os.environ.get("HOME", "~")).expanduser()
