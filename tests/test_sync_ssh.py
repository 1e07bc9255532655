"""The SSH transport against a real OpenSSH server (a private sshd on 127.0.0.1).

The server runs as the current user with its own host key, authorized_keys and pid
file in a temp folder. Each test points HOME at a temp folder whose ``.ssh`` holds the
client key and ``known_hosts``, so the product's normal credential path (ssh-agent,
then ``~/.ssh`` keys; the host must be in ``known_hosts``) runs without touching the
real ``~/.ssh``. libgit2 reads HOME once at start-up, so ``pygit2.settings.homedir``
(where it looks for ``known_hosts``) is pointed there too.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest
from click.testing import CliRunner

from tests.test_sync_support import head_and_status, make_hub, rollup, snapshot
from vault_agent.cli import main
from vault_agent.sync.peers import add_peer
from vault_agent.sync.sync import sync_all
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree

SSHD = "/usr/sbin/sshd"
START_TIMEOUT_S = 10.0
# The authorized_keys restriction docs/sync.md recommends for a node's key.
GIT_ONLY = 'command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",no-port-forwarding,no-pty'


def _skip_reason() -> str | None:
    if not (os.path.isfile(SSHD) and os.access(SSHD, os.X_OK)):
        return f"{SSHD} is missing (apt-get install openssh-server)"
    if not shutil.which("ssh-keygen"):
        return "ssh-keygen is missing (apt-get install openssh-client)"
    if not shutil.which("git"):
        return "git is missing (the server side runs git-upload-pack/git-receive-pack)"
    if not pygit2.features & pygit2.enums.Feature.SSH:
        return "libgit2 in this pygit2 was built without SSH support"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@dataclass(frozen=True)
class SshServer:
    """A running private sshd: its port, host public key line and client key pair."""

    port: int
    host_key: str  # "ssh-ed25519 AAAA..." (no comment)
    client_key: Path  # private key; the public key is next to it (.pub)
    git_only_key: Path  # authorised only for git-shell (the docs' restriction)
    log: Path
    alias_key: Path  # authorised too; installed as ~/.ssh/nas_key (IdentityFile)

    def url(self, path: Path, user: str | None = "") -> str:
        """``ssh://user@127.0.0.1:PORT/abs/path`` (user None: no user in the URL)."""
        who = "" if user is None else f"{user or getpass.getuser()}@"
        return f"ssh://{who}127.0.0.1:{self.port}{path}"

    def known_hosts_line(self) -> str:
        """This server's known_hosts entry (non-standard port: ``[host]:port``)."""
        return f"[127.0.0.1]:{self.port} {self.host_key}\n"


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_banner(port: int, proc: subprocess.Popen, deadline: float) -> bool:
    """True once the port answers with an SSH banner; False if sshd died or time ran out."""
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-2.0-"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> Iterator[SshServer]:
    """A private ``sshd -D -e`` on 127.0.0.1 as the current user (CI runs as root)."""
    d = tmp_path_factory.mktemp("sshd")
    _keygen(d / "host_ed25519")
    _keygen(d / "client_ed25519")
    _keygen(d / "gitonly_ed25519")
    _keygen(d / "nas_ed25519")
    (d / "authorized_keys").write_text(
        (d / "client_ed25519.pub").read_text()
        + GIT_ONLY
        + " "
        + (d / "gitonly_ed25519.pub").read_text()
        + (d / "nas_ed25519.pub").read_text()
    )
    if os.geteuid() == 0:
        # sshd run as root needs its privilege-separation folder, which the (not
        # started) system service would create.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = _free_port()
    cfg = d / "sshd_config"
    cfg.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {d / 'host_ed25519'}",
                f"AuthorizedKeysFile {d / 'authorized_keys'}",
                f"PidFile {d / 'sshd.pid'}",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    log = d / "sshd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(cfg)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        if not _wait_for_banner(port, proc, time.monotonic() + START_TIMEOUT_S):
            pytest.fail(
                f"private sshd did not answer on 127.0.0.1:{port} within "
                f"{START_TIMEOUT_S:g} s:\n{log.read_text()}"
            )
        pub = (d / "host_ed25519.pub").read_text().split()
        yield SshServer(
            port,
            f"{pub[0]} {pub[1]}",
            d / "client_ed25519",
            d / "gitonly_ed25519",
            log,
            d / "nas_ed25519",
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


HomeFactory = Callable[..., Path]


@pytest.fixture
def ssh_home(sshd, tmp_path, monkeypatch) -> HomeFactory:
    """Make a temp HOME: ``ssh_home(key=True, known_hosts=None)`` (None: this server's line).

    ``key`` may also be the path of another private key to install as id_ed25519.

    No ssh-agent (SSH_AUTH_SOCK unset) unless a test starts one.
    """

    def make(key: bool | Path = True, known_hosts: str | None = None) -> Path:
        home = tmp_path / "home"
        ssh = home / ".ssh"
        ssh.mkdir(parents=True, mode=0o700)
        if key:
            src = sshd.client_key if key is True else key
            shutil.copyfile(src, ssh / "id_ed25519")
            (ssh / "id_ed25519").chmod(0o600)
            shutil.copyfile(src.with_suffix(".pub"), ssh / "id_ed25519.pub")
        (ssh / "known_hosts").write_text(
            sshd.known_hosts_line() if known_hosts is None else known_hosts
        )
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        monkeypatch.setattr(pygit2.settings, "homedir", str(home))
        return home

    return make


def run(*args: str, code: int = 0):
    """``vault ARGS`` through CliRunner, asserting the exit code."""
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def _hub_refs(hub: Path) -> list[str]:
    return list(pygit2.Repository(str(hub)).references)


def node_on_ssh_hub(tmp_path, sshd, rollups: int = 0) -> tuple[Path, str, Vault]:
    """A bare hub reached over SSH and node-a with ``rollups`` rollup lines and the hub
    as its peer "nas": (hub path, its ssh:// URL, node-a's vault). Call ``ssh_home``
    first."""
    hub = make_hub(tmp_path)
    url = sshd.url(hub)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", url)
    a.append_rollups([rollup("node-a", i) for i in range(rollups)])
    return hub, url, a


def test_two_nodes_sync_through_ssh_hub(tmp_path, sshd, ssh_home):
    ssh_home()
    hub, url, a = node_on_ssh_hub(tmp_path, sshd, rollups=5)
    ra = sync_all(a, timeout_s=20)
    assert ra.ok and ra.peers[0].status == "ok" and ra.peers[0].pushed, ra.as_dict()
    assert pygit2.Repository(str(hub)).references["refs/heads/main"].target == a.repo.head.target

    b, _ = Vault.init(tmp_path / "node-b", "node-b", from_url=str(hub))
    b.repo.remotes.delete("origin")  # B reaches the hub only over SSH
    add_peer(b, "nas", url)
    rep = json.loads(run("sync", "--json", "--vault", str(b.root)).output)
    assert rep["ok"] and rep["peers"][0]["peer"] == "nas", rep
    assert rep["peers"][0]["pushed"]
    assert len(list(b.iter_rollups("node-a"))) == 5  # A's file arrived over SSH

    b.write_file("knowledge-base/nas.md", "# NAS\nreached over ssh\n")
    out = run("sync", "--vault", str(b.root)).output
    assert "nas" in out
    assert sync_all(a, timeout_s=20).ok
    assert (a.root / "knowledge-base/nas.md").read_text() == "# NAS\nreached over ssh\n"
    assert a.repo.head.peel(pygit2.Commit).tree.id == b.repo.head.peel(pygit2.Commit).tree.id
    assert sync_all(b, timeout_s=20).ok
    assert a.repo.head.target == b.repo.head.target
    assert snapshot(a) == snapshot(b)
    assert check_tree(b.root) == []
    assert "Accepted publickey for" in sshd.log.read_text()  # it really went through sshd


def test_join_over_ssh(tmp_path, sshd, ssh_home):
    """``vault init --from ssh://…`` (the documented way to join) and its first sync."""
    ssh_home()
    hub, url, a = node_on_ssh_hub(tmp_path, sshd, rollups=1)
    assert sync_all(a, timeout_s=20).ok
    run("init", str(tmp_path / "node-b"), "--node", "node-b", "--from", url)
    b = Vault.open(tmp_path / "node-b")
    assert len(list(b.iter_rollups("node-a"))) == 1
    rb = sync_all(b, timeout_s=20)  # the clone's origin is an implicit peer
    assert rb.ok and rb.peers[0].peer == "origin" and rb.peers[0].pushed, rb.as_dict()
    hub_tree = pygit2.Repository(str(hub)).head.peel(pygit2.Commit).tree
    assert "agents/node-b/node.toml" in hub_tree
    assert sync_all(a, timeout_s=20).ok
    assert (a.root / "agents/node-b/node.toml").is_file()


@pytest.mark.parametrize("known", ["empty", "other key"])
def test_unknown_host_key_is_refused(tmp_path, sshd, ssh_home, known):
    other = sshd.client_key.with_suffix(".pub").read_text().split()
    ssh_home(
        known_hosts="" if known == "empty" else f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n"
    )
    hub, _, a = node_on_ssh_hub(tmp_path, sshd)
    before = head_and_status(a)
    r = sync_all(a, timeout_s=20)
    (p,) = r.peers
    assert not r.ok and p.status == "unreachable", r.as_dict()
    assert "host key of 127.0.0.1 is not in ~/.ssh/known_hosts" in p.error
    assert len(p.error.splitlines()) == 1
    assert head_and_status(a) == before
    assert "refs/remotes/nas/main" not in a.repo.references
    assert _hub_refs(hub) == []  # nothing was pushed to the unverified host
    res = run("sync", "--force", "--vault", str(a.root), code=1)
    assert "nas: unreachable" in res.output and "known_hosts" in res.output
    assert head_and_status(a) == before


def test_join_refuses_an_unknown_host(tmp_path, sshd, ssh_home):
    """``vault init --from`` checks known_hosts too, and leaves no folder behind."""
    ssh_home()
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", sshd.url(hub))
    assert sync_all(a, timeout_s=20).ok
    ssh_home_dir = Path(os.environ["HOME"])
    (ssh_home_dir / ".ssh/known_hosts").write_text("")
    res = run("init", str(tmp_path / "node-b"), "--node", "node-b", "--from", sshd.url(hub), code=1)
    assert "host key of 127.0.0.1 is not in ~/.ssh/known_hosts" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "node-b").exists()


def test_no_usable_key_fails_clearly(tmp_path, sshd, ssh_home):
    ssh_home(key=False)
    hub, _, a = node_on_ssh_hub(tmp_path, sshd)
    before = head_and_status(a)
    r = sync_all(a, timeout_s=20)
    (p,) = r.peers
    assert p.status == "unreachable"
    assert p.error.startswith(f"no SSH credentials accepted for {sshd.url(hub)}"), p.error
    assert "0 key file(s)" in p.error and len(p.error.splitlines()) == 1
    assert head_and_status(a) == before and _hub_refs(hub) == []


@pytest.fixture
def ssh_agent(tmp_path, monkeypatch) -> Iterator[Callable[[Path], None]]:
    """A private ssh-agent in the foreground; yields ``add(key_path)``."""
    agent = shutil.which("ssh-agent")
    add = shutil.which("ssh-add")
    if not (agent and add):
        pytest.skip("ssh-agent/ssh-add are missing (apt-get install openssh-client)")
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(
        [agent, "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not sock.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    try:
        if not sock.exists():
            pytest.fail("ssh-agent did not create its socket")

        def add_key(key: Path) -> None:
            subprocess.run(
                [add, "-q", str(key)],
                check=True,
                capture_output=True,
                env={**os.environ, "SSH_AUTH_SOCK": str(sock)},
            )
            monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))

        yield add_key
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_agent_key_and_user_from_the_account(tmp_path, sshd, ssh_home, ssh_agent, monkeypatch):
    """Key only in the ssh-agent, no user in the URL: the login name is used."""
    ssh_home(key=False)
    ssh_agent(sshd.client_key)
    monkeypatch.delenv("USER", raising=False)
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", sshd.url(hub, user=None))
    r = sync_all(a, timeout_s=20)
    assert r.ok and r.peers[0].pushed, r.as_dict()
    assert _hub_refs(hub) == ["refs/heads/main"]


def test_hashed_known_hosts_entry(tmp_path, sshd, ssh_home):
    """``HashKnownHosts yes`` (Debian's default) writes hashed entries; they match too."""
    home = ssh_home()
    subprocess.run(
        ["ssh-keygen", "-H", "-f", str(home / ".ssh/known_hosts")], check=True, capture_output=True
    )
    assert (home / ".ssh/known_hosts").read_text().startswith("|1|")
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", sshd.url(hub))
    assert sync_all(a, timeout_s=20).ok
    assert _hub_refs(hub) == ["refs/heads/main"]


def test_key_restricted_to_git_shell(tmp_path, sshd, ssh_home):
    """A key limited to git-shell in authorized_keys (as docs/sync.md advises) syncs."""
    if not shutil.which("git-shell"):
        pytest.skip("git-shell is missing")
    ssh_home(key=sshd.git_only_key)
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", sshd.url(hub))
    a.write_file("knowledge-base/x.md", "x\n")
    r = sync_all(a, timeout_s=20)
    assert r.ok and r.peers[0].pushed, r.as_dict()
    assert sync_all(a, timeout_s=20).peers[0].status in ("ok", "up-to-date")
    assert pygit2.Repository(str(hub)).references["refs/heads/main"].target == a.repo.head.target
    assert "forced-command (key-option) 'git-shell" in sshd.log.read_text()


class MuteServer:
    """A TCP listener on 127.0.0.1 that accepts and then never speaks (optionally
    after sending an SSH banner): a hung NAS."""

    def __init__(self, banner: bytes = b"") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.banner = banner
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            if self.banner:
                conn.sendall(self.banner)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for c in self.held:
            c.close()
        self.thread.join(timeout=5)


@pytest.mark.slow  # each waits out a connect timeout
@pytest.mark.parametrize("banner", [b"", b"SSH-2.0-OpenSSH_9.2\r\n"], ids=["silent", "banner"])
def test_silent_server_times_out(tmp_path, ssh_home, banner):
    ssh_home()
    srv = MuteServer(banner)
    try:
        a, _ = Vault.init(tmp_path / "node-a", "node-a")
        add_peer(a, "nas", f"ssh://{getpass.getuser()}@127.0.0.1:{srv.port}/srv/hub.git")
        before = head_and_status(a)
        t0 = time.monotonic()
        r = sync_all(a, timeout_s=1.5)
        elapsed = time.monotonic() - t0
    finally:
        srv.close()
    (p,) = r.peers
    assert p.status == "unreachable"
    assert "timed out after 1.5 s" in p.error, p.error
    assert 1.4 < elapsed < 10, elapsed
    assert head_and_status(a) == before


# --- ~/.ssh/config Host aliases (resolved with ``ssh -G``) ---------------------------


def alias_home(
    ssh_home: HomeFactory,
    sshd: SshServer,
    port: int | None = None,
    extra: str = "",
    known_hosts: str | None = None,
    pub: bool = True,
) -> Path:
    """A HOME without id_* keys whose ``~/.ssh/config`` makes ``nas`` an alias of this
    sshd (or of ``port``), with the key as ``~/.ssh/nas_key`` (IdentityFile)."""
    home = ssh_home(key=False, known_hosts=known_hosts)
    ssh = home / ".ssh"
    shutil.copyfile(sshd.alias_key, ssh / "nas_key")
    (ssh / "nas_key").chmod(0o600)
    if pub:
        shutil.copyfile(sshd.alias_key.with_suffix(".pub"), ssh / "nas_key.pub")
    (ssh / "config").write_text(
        f"Host nas\n  HostName 127.0.0.1\n  Port {port or sshd.port}\n"
        f"  User {getpass.getuser()}\n  IdentityFile ~/.ssh/nas_key\n{extra}"
        "Host *\n  ServerAliveInterval 30\n"
    )
    return home


def _fingerprint(key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(key)], check=True, capture_output=True, text=True
    ).stdout
    return out.split()[1]  # "256 SHA256:… comment (ED25519)"


needs_ssh = pytest.mark.skipif(
    not shutil.which("ssh"), reason="ssh is missing (apt-get install openssh-client)"
)


@needs_ssh
def test_two_nodes_sync_through_a_host_alias(tmp_path, sshd, ssh_home):
    alias_home(ssh_home, sshd)
    hub = make_hub(tmp_path)
    url = f"ssh://nas{hub}"
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "hub", url)
    a.append_rollups([rollup("node-a", i) for i in range(3)])
    ra = sync_all(a, timeout_s=20)
    assert ra.ok and ra.peers[0].pushed, ra.as_dict()
    assert pygit2.Repository(str(hub)).references["refs/heads/main"].target == a.repo.head.target
    assert a.repo.remotes["hub"].url == url  # stored as written, resolved per sync
    assert "refs/remotes/hub/main" in a.repo.references

    b, _ = Vault.init(tmp_path / "node-b", "node-b", from_url=str(hub))
    b.repo.remotes.delete("origin")  # B reaches the hub only through the alias
    add_peer(b, "hub", url)
    rep = json.loads(run("sync", "--json", "--vault", str(b.root)).output)
    assert rep["ok"] and rep["peers"][0]["pushed"], rep
    assert len(list(b.iter_rollups("node-a"))) == 3
    assert sync_all(a, timeout_s=20).ok
    assert a.repo.head.target == b.repo.head.target
    assert snapshot(a) == snapshot(b)
    # The IdentityFile key (not an id_* default, none exists) logged in.
    assert f"ED25519 {_fingerprint(sshd.alias_key)}" in sshd.log.read_text()


@needs_ssh
def test_join_through_a_host_alias(tmp_path, sshd, ssh_home):
    """``vault init --from ssh://nas/…``; origin keeps the alias. The IdentityFile has no
    .pub next to it (libssh2 derives the public key)."""
    home = alias_home(ssh_home, sshd, pub=False)
    assert not (home / ".ssh/nas_key.pub").exists()
    hub = make_hub(tmp_path)
    url = f"ssh://nas{hub}"
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", url)
    assert sync_all(a, timeout_s=20).ok
    run("init", str(tmp_path / "node-b"), "--node", "node-b", "--from", url)
    b = Vault.open(tmp_path / "node-b")
    assert b.repo.remotes["origin"].url == url
    rb = sync_all(b, timeout_s=20)
    assert rb.ok and rb.peers[0].peer == "origin" and rb.peers[0].pushed, rb.as_dict()
    assert "agents/node-b/node.toml" in pygit2.Repository(str(hub)).head.peel(pygit2.Commit).tree


@needs_ssh
def test_alias_to_a_closed_port_fails_naming_the_alias(tmp_path, sshd, ssh_home):
    port = _free_port()  # nothing listens there
    alias_home(ssh_home, sshd, port=port)
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", f"ssh://nas{hub}")
    before = head_and_status(a)
    r = sync_all(a, timeout_s=5)
    (p,) = r.peers
    assert p.status == "unreachable", r.as_dict()
    assert p.error.startswith(f"fetch from nas (ssh://nas{hub} → 127.0.0.1:{port}) failed"), p.error
    assert len(p.error.splitlines()) == 1
    assert head_and_status(a) == before
    res = run("sync", "--force", "--vault", str(a.root), code=1)
    assert f"ssh://nas{hub} → 127.0.0.1:{port}" in res.output


@needs_ssh
def test_alias_host_key_is_checked_under_the_resolved_name(tmp_path, sshd, ssh_home):
    """known_hosts is looked up as [hostname]:port; an entry only under the alias (or a
    HostKeyAlias name) does not count, and the error says what to add."""
    alias_home(
        ssh_home,
        sshd,
        known_hosts=f"nas {sshd.host_key}\nnasbox {sshd.host_key}\n",
        extra="  HostKeyAlias nasbox\n",
    )
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", f"ssh://nas{hub}")
    r = sync_all(a, timeout_s=20)
    (p,) = r.peers
    assert p.status == "unreachable"
    assert f"host key of [127.0.0.1]:{sshd.port} is not in ~/.ssh/known_hosts" in p.error
    assert "HostKeyAlias nasbox is not supported" in p.error and "ssh://nas" in p.error
    assert len(p.error.splitlines()) == 1 and _hub_refs(hub) == []


@needs_ssh
def test_scp_like_alias_url(tmp_path, sshd, ssh_home):
    """``nas:/abs/path`` (scp-like, as git accepts it) goes through the alias too."""
    alias_home(ssh_home, sshd)
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", f"nas:{hub}")
    a.write_file("knowledge-base/x.md", "x\n")
    r = sync_all(a, timeout_s=20)
    assert r.ok and r.peers[0].pushed, r.as_dict()
    assert pygit2.Repository(str(hub)).references["refs/heads/main"].target == a.repo.head.target
