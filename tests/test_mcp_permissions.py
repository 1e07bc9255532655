"""The `[mcp]` rules and path resolution, on real folders (no server needed)."""

from __future__ import annotations

import os

import pytest

from vault_agent.errors import RecordError
from vault_agent.mcp.audit import client_label, session_log_path
from vault_agent.mcp.permissions import (
    PathError,
    PermissionDenied,
    Policy,
    decide,
    policy_from_config,
    resolve_path,
)

NODE = "office"


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "v"
    (r / "knowledge-base").mkdir(parents=True)
    (r / "knowledge-base" / "a.md").write_text("a")
    (r / ".git").mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    os.symlink(outside, r / "knowledge-base" / "out.md")
    os.symlink(r / "knowledge-base" / "a.md", r / "knowledge-base" / "in.md")
    os.symlink(tmp_path, r / "escape")
    return r.resolve()


@pytest.mark.parametrize(
    "given, want",
    [
        ("knowledge-base/a.md", "knowledge-base/a.md"),
        ("./knowledge-base//a.md", "knowledge-base/a.md"),
        ("vault://knowledge-base/a.md", "knowledge-base/a.md"),
        ("knowledge-base/in.md", "knowledge-base/in.md"),
        ("", ""),
        ("knowledge-base/new/note.md", "knowledge-base/new/note.md"),
    ],
)
def test_resolve_accepts(root, given, want):
    assert resolve_path(root, given) == want


@pytest.mark.parametrize(
    "given, reason",
    [
        ("../secret.txt", "'..' is not allowed"),
        ("knowledge-base/../../secret.txt", "'..' is not allowed"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("~/x", "absolute paths are not allowed"),
        ("C:/x", "absolute paths are not allowed"),
        (".git/config", ".git/ is not part of the shared memory"),
        ("./.vault/index", ".vault/ is not part of the shared memory"),
        ("knowledge-base/out.md", "a symlink leads outside the vault"),
        ("escape/secret.txt", "a symlink leads outside the vault"),
        ("a\\..\\b", "NUL or backslash"),
        ("a\x00b", "NUL or backslash"),
    ],
)
def test_resolve_refuses(root, given, reason):
    with pytest.raises(PathError) as e:
        resolve_path(root, given)
    assert reason in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "rules, path, allowed, rule",
    [
        (("**",), "a/b/c.md", True, "**"),
        (("**", "!agents/*/local-cache/**"), "agents/x/local-cache/hlc", False,
         "!agents/*/local-cache/**"),
        (("**", "!agents/*/local-cache/**"), "agents/x/local-cache", False,
         "!agents/*/local-cache/**"),
        (("**", "!agents/*/local-cache/**"), "agents/x/local-cachex/y", True, "**"),
        (("knowledge-base/",), "knowledge-base/deep/n.md", True, "knowledge-base/"),
        (("knowledge-base/*.md",), "knowledge-base/deep/n.md", False, None),
        (("knowledge-base/*.md",), "knowledge-base/n.md", True, "knowledge-base/*.md"),
        (("**/*.md",), "n.md", True, "**/*.md"),
        (("!secret/**", "secret/ok.md"), "secret/ok.md", True, "secret/ok.md"),
        (("secret/ok.md", "!secret/**"), "secret/ok.md", False, "!secret/**"),
        (("a?c",), "abc", True, "a?c"),
        (("a?c",), "a/c", False, None),
        ((), "x", False, None),
    ],
)  # fmt: skip
def test_last_matching_rule_decides(rules, path, allowed, rule):
    d = decide(rules, path)
    assert (d.allowed, d.rule) == (allowed, rule)


def test_default_policy():
    p = Policy(NODE)
    assert p.can("read", "knowledge-base/x.md") and p.can("read", "agents/kitchen/memory/f.md")
    assert not p.can("read", "agents/office/local-cache/hlc")
    assert p.can("write", "knowledge-base/x.md")
    assert p.can("write", "agents/office/memory/f.md")
    assert p.can("write", "agents/office/sessions/2026/11/n.md")
    for denied in ("README.md", "vault.toml", "agents/office/node.toml",
                   "agents/office/sensors/2015/02/2015-02-05.jsonl", "agents/kitchen/memory/f.md",
                   "shared-memory/user-profile.json", "interactions/2026-11/x.md"):  # fmt: skip
        assert not p.can("write", denied), denied


def test_other_nodes_folder_is_never_writable_even_if_rules_say_so():
    p = Policy(NODE, write=("**",))
    assert p.can("write", "README.md")
    with pytest.raises(PermissionDenied) as e:
        p.check("write", "agents/kitchen/memory/f.md")
    assert (
        str(e.value)
        == "write denied: agents/kitchen/memory/f.md: only node kitchen writes agents/kitchen/"
    )


def test_denials_name_the_rule_and_where_it_is_set():
    p = policy_from_config(
        NODE, {"mcp": {"read": ["knowledge-base/**"]}}, "agents/office/node.toml"
    )
    with pytest.raises(PermissionDenied) as e:
        p.check("read", "agents/office/daily/2015/02/2015-02-05.md")
    assert str(e.value) == (
        "read denied: agents/office/daily/2015/02/2015-02-05.md matches none of [mcp] read = "
        "['knowledge-base/**'] (agents/office/node.toml [mcp])"
    )
    with pytest.raises(PermissionDenied) as e:
        p.check("write", "README.md")
    assert "(defaults)" in str(e.value)  # write keeps its defaults


@pytest.mark.parametrize(
    "section, problem",
    [
        ("nope", "'mcp' must be a table ([mcp])"),
        ({"read": "**"}, "[mcp] read must be a list of path globs (strings)"),
        ({"write": ["ok", 3]}, "[mcp] write must be a list of path globs (strings)"),
        ({"write": [""]}, "[mcp] write must be a list of path globs (strings)"),
        ({"max_read_bytes": 0}, "[mcp] max_read_bytes must be a positive number, got 0"),
        ({"audit_commit_s": True}, "[mcp] audit_commit_s must be a positive number, got True"),
        ({"raed": ["**"]}, "[mcp] has unknown key(s) raed"),
    ],
)
def test_bad_config_names_file_and_key(section, problem):
    with pytest.raises(RecordError) as e:
        policy_from_config(NODE, {"mcp": section}, "agents/office/node.toml")
    assert str(e.value).startswith(f"agents/office/node.toml: {problem}")


def test_node_placeholder_and_sizes():
    p = policy_from_config(
        NODE, {"mcp": {"write": ["agents/{node}/notes/**"], "max_read_bytes": 10}}, "n.toml"
    )
    assert p.write == ("agents/office/notes/**",) and p.max_read_bytes == 10


@pytest.mark.parametrize(
    "name, label",
    [("claude-ai", "claude-ai"), ("Claude Desktop", "Claude Desktop"), (None, "unknown"),
     ("", "unknown"), ("evil\nVault-Kind: init", "evil-Vault-Kind- init"), ("x" * 100, "x" * 64)],
)  # fmt: skip
def test_client_label_is_safe_for_a_trailer(name, label):
    assert client_label(name) == label


def test_session_log_path_is_the_utc_day():
    from datetime import datetime, timedelta, timezone

    t = datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 2025-12-31 22:30 UTC
    assert session_log_path(NODE, t) == "agents/office/sessions/2025/12/2025-12-31.jsonl"


def test_tools_follow_symlinks_only_into_readable_files(tmp_path):
    """A symlink inside the vault must not open what the rules deny (real vault, real files)."""
    from vault_agent.mcp.tools import ToolInputError, VaultTools
    from vault_agent.vault import Vault

    v, _ = Vault.init(tmp_path / "v", NODE)
    cache = v.cache_dir() / "secret.txt"
    cache.write_text("token=abc")
    kb = v.root / "knowledge-base"
    os.symlink(cache, kb / "cache.md")
    os.symlink(kb / "README.md", kb / "alias.md")
    tools = VaultTools(v, Policy(NODE))
    with pytest.raises(PermissionDenied, match="local-cache"):
        tools.read("knowledge-base/cache.md")
    assert tools.read("knowledge-base/alias.md").data["content"] == (kb / "README.md").read_text()
    with pytest.raises(ToolInputError, match="is a symlink"):
        tools.write_note("knowledge-base/alias.md", "x", overwrite=True)
    assert "x" != (kb / "README.md").read_text()
    listed = [e["path"] for e in tools.list("agents/office").data["entries"]]
    assert "agents/office/local-cache/" not in listed and "agents/office/node.toml" in listed
    with pytest.raises(ToolInputError, match="is 300000 bytes|would be"):
        tools.write_note("knowledge-base/big.md", "x" * 300_000)
    assert not (kb / "big.md").exists()
