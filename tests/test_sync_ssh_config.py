"""Resolving SSH peer URLs through ``ssh -G`` (vault_agent.sync.ssh_config), no server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vault_agent.sync import ssh_config
from vault_agent.sync.ssh_config import expand_identity, parse_ssh_g, resolve, split_url

SAMPLE = """\
user vault
hostname 192.168.1.20
port 2222
addressfamily any
hostkeyalias nasbox
identityfile ~/.ssh/nas_key
identityfile %d/.ssh/second_%r
proxyjump none
userknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2
"""


def test_parse_ssh_g_sample():
    o = parse_ssh_g(SAMPLE)
    assert (o.hostname, o.user, o.port) == ("192.168.1.20", "vault", 2222)
    assert o.identity_files == ("~/.ssh/nas_key", "%d/.ssh/second_%r")
    assert o.host_key_alias == "nasbox" and not o.proxy


def test_parse_ssh_g_defaults_and_errors():
    o = parse_ssh_g("hostname nas.local\nproxycommand ssh -W %h:%p jump\n")
    assert o.port == 22 and o.user is None and o.identity_files == () and o.proxy
    with pytest.raises(ValueError, match="no hostname"):
        parse_ssh_g("user x\nport 22\n")
    with pytest.raises(ValueError):
        parse_ssh_g("hostname h\nport twenty\n")


def test_expand_identity(tmp_path):
    assert expand_identity("~/.ssh/k", tmp_path, "me", "h", "r") == tmp_path / ".ssh/k"
    assert expand_identity("%d/k_%u_%h_%r%%", tmp_path, "me", "h", "r") == tmp_path / "k_me_h_r%"
    assert (
        expand_identity("relative_key", tmp_path, "me", "h", "r") == tmp_path / ".ssh/relative_key"
    )
    assert expand_identity("~/.ssh/%C", tmp_path, "me", "h", "r") is None


@pytest.mark.parametrize(
    "url,want",
    [
        ("ssh://nas/srv/hub.git", (None, "nas", None, "/srv/hub.git")),
        ("ssh://bob@nas:2200/srv/hub.git", ("bob", "nas", 2200, "/srv/hub.git")),
        ("nas:/srv/hub.git", (None, "nas", None, "/srv/hub.git")),
        ("bob@nas:hub.git", ("bob", "nas", None, "/~/hub.git")),
        ("git://nas/hub.git", None),
        ("/srv/hub.git", None),
    ],
)
def test_split_url(url, want):
    p = split_url(url)
    assert (p and (p.user, p.host, p.port, p.path)) == want


needs_ssh = pytest.mark.skipif(not shutil.which("ssh"), reason="ssh is missing")


def _home(tmp_path: Path, config: str | None) -> Path:
    ssh = tmp_path / "home/.ssh"
    ssh.mkdir(parents=True)
    (ssh / "nas_key").write_text("not read here\n")
    if config is not None:
        (ssh / "config").write_text(config)
    return tmp_path / "home"


@needs_ssh
def test_resolve_through_real_ssh_g(tmp_path):
    home = _home(
        tmp_path,
        "Host nas\n  HostName 10.0.0.5\n  Port 2222\n  User vault\n"
        "  IdentityFile ~/.ssh/nas_key\n  IdentityFile ~/.ssh/missing\n"
        "Host *.lan\n  User lanuser\n",
    )
    t = resolve("ssh://nas/srv/hub.git", home, "me")
    assert t is not None
    assert t.url == "ssh://vault@10.0.0.5:2222/srv/hub.git"
    assert (t.host, t.port, t.user) == ("10.0.0.5", 2222, "vault")
    assert t.identity_files == (home / ".ssh/nas_key",)  # missing ones skipped
    assert t.describe() == "ssh://nas/srv/hub.git → 10.0.0.5:2222"
    # The URL's user and port win over the config, as with ssh itself.
    t2 = resolve("ssh://bob@nas:2200/srv/hub.git", home, "me")
    assert t2 is not None and t2.url == "ssh://bob@10.0.0.5:2200/srv/hub.git"
    # A wildcard Host block counts (ssh -G applies it), ssh's default identities do not.
    t3 = resolve("ssh://other.lan/x.git", home, "me")
    assert t3 is not None and t3.url == "ssh://lanuser@other.lan:22/x.git"
    assert t3.identity_files == ()
    # A host the config changes nothing for: the URL is used as given.
    login = parse_ssh_g(
        ssh_config.run_ssh_g("plain.example", home / ".ssh/config", None, None)
    ).user
    assert login and resolve("ssh://plain.example/x.git", home, login) is None


def test_no_config_or_no_ssh_uses_the_url_as_given(tmp_path, monkeypatch):
    assert resolve("ssh://nas/srv/hub.git", _home(tmp_path, None), "me") is None
    home = tmp_path / "home"
    (home / ".ssh/config").write_text("Host nas\n  HostName 10.0.0.5\n")
    assert resolve("/srv/hub.git", home, "me") is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert resolve("ssh://nas/srv/hub.git", home, "me") is None


@needs_ssh
def test_bad_config_falls_back(tmp_path, caplog):
    home = _home(tmp_path, "Host nas\n  NoSuchOption yes\n")
    with caplog.at_level("DEBUG", logger=ssh_config.__name__):
        assert resolve("ssh://nas/srv/hub.git", home, "me") is None
    assert "ssh -G for ssh://nas/srv/hub.git failed" in caplog.text
