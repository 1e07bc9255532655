"""`vault init`: new vault from the template, re-init no-op, refusals, --from join, --bare."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib

import pygit2
import pytest

from tests.support.core_fixtures import NODE, cli, git, make_vault, snapshot
from vault_agent.errors import InvalidNodeNameError, SchemaVersionError, VaultError
from vault_agent.vault import Vault
from vault_agent.vault import repo as gitrepo


def test_init_creates_layout_from_template(tmp_path):
    v = make_vault(tmp_path)
    root = v.root
    for name in ("user-profile.json", "global-state.json", "project-registry.json"):
        assert json.loads((root / "shared-memory" / name).read_text()) == {}
    for folder in (
        "",
        "shared-memory/",
        "agents/",
        "knowledge-base/",
        "interactions/",
        f"agents/{NODE}/",
    ):
        assert (root / f"{folder}README.md").read_text().startswith("# ")
    ignore = (root / ".gitignore").read_text()
    assert ".vault/" in ignore and "local-cache" in ignore
    cfg = tomllib.loads((root / "vault.toml").read_text())
    assert cfg["name"] == "v" and cfg["schema"] == 1 and cfg["created"].endswith("Z")
    node_cfg = tomllib.loads((root / f"agents/{NODE}/node.toml").read_text())
    assert node_cfg["node"] == NODE and node_cfg["rollup"]["window_s"] == 300
    # files are readable like any file a person makes (not mkstemp's 0600)
    assert stat.S_IMODE((root / "vault.toml").stat().st_mode) & 0o044 == 0o044


def test_init_commits_on_main_with_trailers(tmp_path):
    v = make_vault(tmp_path)
    repo = pygit2.Repository(str(v.root))
    assert repo.head.shorthand == "main"
    c = repo.head.peel(pygit2.Commit)
    assert dict(gitrepo.parse_trailers(c.message)) == {"Vault-Node": NODE, "Vault-Kind": "init"}
    assert c.author.name == NODE
    assert v.pending() == []  # everything committed, local-cache ignored
    v.cache_dir("x")
    (v.cache_dir() / "raw.jsonl").write_text("{}\n")
    assert v.pending() == []


def test_init_installs_hook_with_this_python(tmp_path):
    v = make_vault(tmp_path)
    hook = v.root / ".git/hooks/pre-commit"
    assert os.access(hook, os.X_OK)
    text = hook.read_text()
    assert sys.executable in text and "vault_agent.cli check --staged" in text


def test_reinit_is_noop_with_message(tmp_path):
    v = make_vault(tmp_path)
    before, head = snapshot(v.root), v.head()
    r = cli("init", str(v.root), "--node", NODE)
    assert r.exit_code == 0 and "already a vault" in r.output
    v2, created = Vault.init(v.root, "other-node")
    assert not created and v2.node == NODE  # the working copy keeps its node
    assert snapshot(v.root) == before and v.head() == head


def test_refuses_non_empty_folder_that_is_not_a_vault(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "cat.jpg").write_bytes(b"\xff\xd8 not really")
    r = cli("init", str(d), "--node", NODE)
    assert r.exit_code == 1
    assert "not empty and is not a vault" in r.output and "Traceback" not in r.output
    assert sorted(p.name for p in d.iterdir()) == ["cat.jpg"]
    assert (d / "cat.jpg").read_bytes() == b"\xff\xd8 not really"


def test_refuses_a_file(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    with pytest.raises(VaultError, match="is a file"):
        Vault.init(f, NODE)
    assert f.read_text() == "keep me"


def test_init_in_existing_empty_folder(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    v, created = Vault.init(d, NODE)
    assert created and (d / "vault.toml").is_file()


@pytest.mark.parametrize("bad", ["../x", "A B", "a/b", "", "a" * 64, "-lead", "dot.ted"])
def test_bad_node_names_refused(tmp_path, bad):
    with pytest.raises(InvalidNodeNameError):
        Vault.init(tmp_path / "v", bad)
    r = cli("init", str(tmp_path / "w"), "--node", bad)
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: node name")
    assert not (tmp_path / "v").exists() and not (tmp_path / "w").exists()
    assert not (tmp_path / "x").exists()


def test_node_name_64_chars_message_says_length():
    from vault_agent.vault.layout import validate_node

    with pytest.raises(InvalidNodeNameError, match="64 characters"):
        validate_node("a" * 64)
    assert validate_node("a" * 32) == "a" * 32


def test_join_with_from_clones_adds_node_and_commits(tmp_path):
    a = make_vault(tmp_path, "alpaca-1", "a")
    r = cli("init", str(tmp_path / "b"), "--node", "llama", "--from", str(a.root))
    assert r.exit_code == 0, r.output
    assert "Joined" in r.output
    b = Vault.open(tmp_path / "b")
    assert b.node == "llama" and b.nodes() == ["alpaca-1", "llama"]
    assert (b.root / "agents/llama/node.toml").is_file()
    head = b.repo.head.peel(pygit2.Commit)
    assert dict(gitrepo.parse_trailers(head.message))["Vault-Node"] == "llama"
    assert head.parents[0].id == a.repo.head.target  # built on the cloned history
    assert b.pending() == []
    assert (b.root / ".git/hooks/pre-commit").is_file()
    assert b.repo.remotes["origin"].url == str(a.root)


def test_join_refuses_node_name_already_in_vault(tmp_path):
    a = make_vault(tmp_path, "alpaca-1", "a")
    with pytest.raises(VaultError, match="already has a folder"):
        Vault.init(tmp_path / "b", "alpaca-1", from_url=str(a.root))
    assert not (tmp_path / "b").exists()  # the refused clone is undone


def test_join_bad_url_is_one_line_error(tmp_path):
    r = cli("init", str(tmp_path / "b"), "--node", "llama", "--from", str(tmp_path / "nope"))
    assert r.exit_code == 1
    assert r.output.startswith(f"Error: --from {tmp_path / 'nope'}: no such folder")
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_join_a_git_repo_that_is_not_a_vault(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.txt").write_text("x")
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "x.txt")
    git(src, "commit", "-q", "-m", "x")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(VaultError, match="is not a vault"):
        Vault.init(dest, "llama", from_url=str(src))
    assert dest.is_dir() and list(dest.iterdir()) == []  # emptied again, folder kept


def test_plain_git_clone_is_adopted(tmp_path):
    a = make_vault(tmp_path, "alpaca-1", "a")
    git(tmp_path, "clone", "-q", str(a.root), "c")
    v, created = Vault.init(tmp_path / "c", "llama")
    assert created and v.node == "llama"
    assert "llama" in v.nodes() and v.pending() == []


def test_init_bare_hub(tmp_path):
    hub = tmp_path / "homelab-ai.git"
    r = cli("init", "--bare", str(hub))
    assert r.exit_code == 0 and "Created bare hub" in r.output
    repo = pygit2.Repository(str(hub))
    assert repo.is_bare and (hub / "HEAD").read_text().strip() == "ref: refs/heads/main"
    r = cli("init", "--bare", str(hub))
    assert r.exit_code == 0 and "Already a bare hub" in r.output
    # plain git can push to it
    a = make_vault(tmp_path, "alpaca-1", "a")
    git(a.root, "push", "-q", str(hub), "main")
    assert pygit2.Repository(str(hub)).head.target == a.repo.head.target


def test_init_bare_refuses_non_empty_non_repo(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "f").write_text("data")
    r = cli("init", "--bare", str(d))
    assert r.exit_code == 1 and "not a bare git repository" in r.output
    assert (d / "f").read_text() == "data"


def test_init_on_vault_of_newer_schema_refuses(tmp_path):
    v = make_vault(tmp_path)
    p = v.root / "vault.toml"
    p.write_text('name = "v"\nschema = 99\ncreated = "2025-01-01T00:00:00Z"\n')
    before = p.read_bytes()
    with pytest.raises(SchemaVersionError, match="newer"):
        Vault.open(v.root)
    r = cli("status", "--vault", str(v.root))
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "Error: vault.toml: vault schema 99 is newer than this vault-agent supports (1); "
        "upgrade vault-agent"
    ]
    assert p.read_bytes() == before


def test_refuses_a_folder_inside_a_vault(tmp_path):
    v = make_vault(tmp_path)
    inner = v.root / "knowledge-base" / "sub"
    with pytest.raises(VaultError, match="inside the vault"):
        Vault.init(inner, "llama")
    assert not inner.exists() and v.pending() == []


def test_join_from_relative_path_stores_absolute_remote(tmp_path, monkeypatch):
    make_vault(tmp_path, "alpaca-1", "a")
    monkeypatch.chdir(tmp_path)
    b, created = Vault.init("b", "llama", from_url="a")
    assert created and b.repo.remotes["origin"].url == str(tmp_path / "a")
