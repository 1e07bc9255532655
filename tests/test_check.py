"""`vault check` and the pre-commit hook: every bad input of issue 3 is reported with file
and line, and nothing is deleted or rewritten."""

from __future__ import annotations

import json
import os
import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from tests.support.core_fixtures import NODE, cli, git, make_vault, rollup, snapshot
from vault_agent.vault import Vault
from vault_agent.vault.check import check_staged, check_tree
from vault_agent.vault.repo import MAX_FILE_BYTES

ROLLUP = f"agents/{NODE}/sensors/2025/10/2025-10-14.jsonl"


def _yaml(v: Vault) -> None:
    v.path("knowledge-base/boiler.md").write_text("---\ntitle: Boiler\ntags: [a, b\n---\nText\n")


def _utf8(v: Vault) -> None:
    v.path("knowledge-base/latin1.md").write_bytes("# Caf\n\nna\xefve caf\xe9\n".encode("latin-1"))


def _not_object(v: Vault) -> None:
    v.append_rollups([rollup(i=0)])
    with open(v.path(ROLLUP), "ab") as fh:
        fh.write(b'["kitchen-temp", 21.3]\n')
    v.append_rollups([rollup(i=1)])


def _utf8_rollup(v: Vault) -> None:
    v.append_rollups([rollup(i=0)])
    with open(v.path(ROLLUP), "ab") as fh:
        fh.write(b'{"v":1,"sensor":"caf\xe9"}\n')
    v.append_rollups([rollup(i=1)])


def _big(v: Vault) -> None:
    with open(v.path("knowledge-base/dump.md"), "wb") as fh:
        fh.truncate(200 * 1000 * 1000)  # sparse: instant, no disk used


def _binary(v: Vault) -> None:
    v.path("knowledge-base/notes.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def _binary_rollup(v: Vault) -> None:
    v.path(ROLLUP).parent.mkdir(parents=True)
    v.path(ROLLUP).write_bytes(os.urandom(64) + b"\x00")


def _symlink(v: Vault) -> None:
    os.symlink("/etc/passwd", v.path("knowledge-base/passwd.md"))


def _symlink_dir(v: Vault) -> None:
    os.symlink("/etc", v.path("knowledge-base/etc"))


def _newer_schema(v: Vault) -> None:
    v.path("vault.toml").write_text('name = "v"\nschema = 2\ncreated = "2025-01-01T00:00:00Z"\n')


def _bad_node_folder(v: Vault) -> None:
    d = v.path("agents/A B")
    d.mkdir()
    (d / "node.toml").write_text('node = "A B"\n')


def _shared_json(v: Vault) -> None:
    v.path("shared-memory/global-state.json").write_text('{\n  "away": tru\n}\n')


def _node_toml(v: Vault) -> None:
    with open(v.path(f"agents/{NODE}/node.toml"), "a") as fh:
        fh.write("\n[rollup\nwindow_s = 60\n")


def _foreign_rollup(v: Vault) -> None:
    v.append_rollups([rollup(i=0)])
    with open(v.path(ROLLUP), "ab") as fh:
        fh.write((rollup(node="llama", i=1).to_json() + "\n").encode())


def _bad_names(v: Vault) -> None:
    v.path(f"agents/{NODE}/sensors/2025/10").mkdir(parents=True)
    v.path(f"agents/{NODE}/sensors/2025/10/today.jsonl").write_text("")
    v.path(f"agents/{NODE}/observations/2025/10").mkdir(parents=True)
    v.path(f"agents/{NODE}/observations/2025/10/my note.md").write_text(
        "---\nid: x\nnode: alpaca-1\ncreated: 2025-10-14T00:00:00Z\nkind: observation\n---\nx\n"
    )


BAD_INPUTS: list[tuple[str, Callable[[Vault], None], str]] = [
    ("yaml", _yaml, "knowledge-base/boiler.md:3: malformed YAML frontmatter"),
    ("utf8", _utf8, "knowledge-base/latin1.md:3: not valid UTF-8 (byte 9)"),
    ("utf8-rollup", _utf8_rollup, f"{ROLLUP}:2: not valid UTF-8"),
    ("not-object", _not_object, f"{ROLLUP}:2: rollup line is a JSON list, not an object"),
    ("200MB", _big, "knowledge-base/dump.md: file is 200 MB, over the 10 MiB limit"),
    ("binary", _binary, "knowledge-base/notes.md: binary file where text is expected"),
    ("binary-rollup", _binary_rollup, f"{ROLLUP}: binary file where text is expected"),
    (
        "symlink",
        _symlink,
        "knowledge-base/passwd.md: symlink points outside the vault (/etc/passwd)",
    ),
    ("symlink-dir", _symlink_dir, "knowledge-base/etc: symlink points outside the vault (/etc)"),
    (
        "newer-schema",
        _newer_schema,
        "vault.toml: vault schema 2 is newer than this vault-agent supports (1)",
    ),
    ("node-folder", _bad_node_folder, "agents/A B/node.toml: folder agents/A B: node name 'A B'"),
    ("shared-json", _shared_json, "shared-memory/global-state.json:2: invalid JSON"),
    ("node-toml", _node_toml, f"agents/{NODE}/node.toml:"),
    (
        "foreign-rollup",
        _foreign_rollup,
        f"{ROLLUP}:2: rollup of node 'llama' in the folder of node '{NODE}'",
    ),
    ("names", _bad_names, f"agents/{NODE}/sensors/2025/10/today.jsonl: rollup file name"),
]


@pytest.mark.parametrize(
    "make_bad, expected", [(f, e) for _, f, e in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS]
)
def test_bad_input_reported_and_left_alone(tmp_path, make_bad, expected):
    v = make_vault(tmp_path)
    make_bad(v)
    before = snapshot(v.root)
    head = v.head()

    r = cli("check", "--vault", str(v.root))
    assert r.exit_code == 1, r.output
    assert expected in r.output
    assert "Traceback" not in r.output

    r = cli("check", "--vault", str(v.root), "--json")
    data = json.loads(r.output)
    assert r.exit_code == 1 and data["ok"] is False
    assert any(expected.split(": ", 1)[0].split(":")[0] == p["path"] for p in data["problems"])

    for args in (["status"], ["commit", "-m", "try"], ["status", "--json"]):
        r = cli(*args, "--vault", str(v.root))
        assert "Traceback" not in r.output
        if args[0] == "commit":
            assert r.exit_code == 1  # problems stop the commit (or the vault cannot open)
    try:
        Vault.open(v.root)
    except Exception as e:  # noqa: BLE001 - only newer-schema refuses to open
        assert "newer" in str(e)
    assert snapshot(v.root) == before
    assert Vault.find_root(v.root) == v.root and pygit2.Repository(str(v.root)).head.target
    assert v.head() == head


def test_status_lists_problems(tmp_path):
    v = make_vault(tmp_path)
    _yaml(v)
    r = cli("status", "--vault", str(v.root), "--json")
    data = json.loads(r.output)
    assert r.exit_code == 0
    assert data["problems"][0]["path"] == "knowledge-base/boiler.md"
    assert data["problems"][0]["line"] == 3
    assert data["uncommitted"] == ["knowledge-base/boiler.md"]
    # the second status reads the cache; fixing the file clears the problem
    v.path("knowledge-base/boiler.md").write_text("---\ntitle: Boiler\n---\nText\n")
    data = json.loads(cli("status", "--vault", str(v.root), "--json").output)
    assert data["problems"] == []


def test_big_file_is_never_read_whole(tmp_path):
    v = make_vault(tmp_path)
    _big(v)
    tracemalloc.start()
    try:
        problems = check_tree(v.root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.path for p in problems] == ["knowledge-base/dump.md"]
    assert peak < 20 * 1000 * 1000  # reading it would allocate 200 MB


def test_commit_no_verify_skips_big_files_and_outside_symlinks(tmp_path):
    v = make_vault(tmp_path)
    _big(v)
    _symlink(v)
    v.path("knowledge-base/ok.md").write_text("# fine\n")
    r = cli("commit", "--vault", str(v.root), "-m", "add notes", "--no-verify")
    assert r.exit_code == 0, r.output
    tree = v.repo.head.peel(pygit2.Commit).tree
    names = {e.name for e in tree["knowledge-base"]}
    assert "ok.md" in names and "dump.md" not in names and "passwd.md" not in names
    assert v.path("knowledge-base/dump.md").stat().st_size == 200 * 1000 * 1000


def test_check_paths_subset_and_outside(tmp_path):
    v = make_vault(tmp_path)
    _yaml(v)
    _utf8(v)
    r = cli("check", "knowledge-base/boiler.md", cwd=v.root)
    assert r.exit_code == 1 and "boiler.md" in r.output and "latin1" not in r.output
    r = cli("check", "knowledge-base", cwd=v.root)
    assert "boiler.md" in r.output and "latin1.md" in r.output
    r = cli("check", "shared-memory", cwd=v.root)
    assert r.exit_code == 0 and "ok: no problems found" in r.output
    outside = tmp_path / "elsewhere.md"
    outside.write_text("x")
    r = cli("check", str(outside), "knowledge-base/missing.md", cwd=v.root)
    assert r.exit_code == 1
    assert f"{outside}: not inside the vault" in r.output
    assert "knowledge-base/missing.md: no such file" in r.output
    # from outside the vault, paths are taken relative to the vault root
    r = cli("check", "--vault", str(v.root), "knowledge-base/boiler.md", cwd=tmp_path)
    assert r.exit_code == 1 and "knowledge-base/boiler.md:" in r.output
    r = cli("check", "--vault", str(v.root), "shared-memory", cwd=tmp_path)
    assert r.exit_code == 0, r.output


def test_fresh_vault_checks_clean(tmp_path):
    v = make_vault(tmp_path)
    v.append_rollups([rollup(i=i) for i in range(3)])
    v.write_observation("ok", confidence=0.5)
    v.write_shared("global-state.json", {"away": True})
    v.path("knowledge-base/pic.png").write_bytes(b"\x89PNG\x00\x00")  # binaries are fine here
    r = cli("check", "--vault", str(v.root))
    assert r.exit_code == 0 and r.output.strip() == "ok: no problems found"


# -- the pre-commit hook, run by plain git -------------------------------------------
def test_hook_rejects_bad_staged_file(tmp_path):
    v = make_vault(tmp_path)
    head = v.head()
    _yaml(v)
    git(v.root, "add", "knowledge-base/boiler.md")
    r = git(v.root, "commit", "-m", "add boiler notes", check=False)
    assert r.returncode != 0
    assert "knowledge-base/boiler.md:3: malformed YAML frontmatter" in r.stdout + r.stderr
    assert v.head() == head
    assert v.path("knowledge-base/boiler.md").read_text().startswith("---\ntitle: Boiler")


def test_hook_accepts_good_file_and_checks_commit_a(tmp_path):
    v = make_vault(tmp_path)
    v.path("knowledge-base/boiler.md").write_text("---\ntitle: Boiler\n---\nService in May.\n")
    git(v.root, "add", "knowledge-base/boiler.md")
    r = git(v.root, "commit", "-m", "add boiler notes", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    head = v.head()
    # `git commit -a` stages into a temporary index ($GIT_INDEX_FILE): still checked
    v.path("shared-memory/global-state.json").write_text("{oops\n")
    r = git(v.root, "commit", "-a", "-m", "state", check=False)
    assert r.returncode != 0
    assert "shared-memory/global-state.json:1: invalid JSON" in r.stdout + r.stderr
    assert v.head() == head
    # `git commit <path>` uses yet another temporary index
    r = git(v.root, "commit", "-m", "state", "shared-memory/global-state.json", check=False)
    assert r.returncode != 0 and v.head() == head


def test_hook_checks_only_changes_against_head(tmp_path):
    v = make_vault(tmp_path)
    _yaml(v)
    git(v.root, "add", "knowledge-base/boiler.md")
    git(v.root, "commit", "-q", "--no-verify", "-m", "bad note slipped in")
    assert [p.path for p in check_staged(v.repo)] == []
    v.path("knowledge-base/ok.md").write_text("# ok\n")
    git(v.root, "add", "knowledge-base/ok.md")
    r = git(v.root, "commit", "-m", "unrelated", check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_hook_refuses_staged_big_file_and_outside_symlink(tmp_path):
    v = make_vault(tmp_path)
    with open(v.path("knowledge-base/huge.md"), "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    os.symlink("../../../../etc/passwd", v.path("knowledge-base/up.md"))
    git(v.root, "add", "knowledge-base/huge.md", "knowledge-base/up.md")
    problems = {p.path: p.message for p in check_staged(v.repo)}
    assert "over the 10 MiB limit" in problems["knowledge-base/huge.md"]
    assert "outside the vault" in problems["knowledge-base/up.md"]
    r = git(v.root, "commit", "-m", "big", check=False)
    assert r.returncode != 0


def test_hook_refuses_deleting_a_committed_rollup(tmp_path):
    v = make_vault(tmp_path)
    v.append_rollups([rollup(i=0), rollup(i=1)])
    v.commit("Rollups", "rollup")
    rel = v.rollup_files(NODE)[0]
    head = v.head()
    git(v.root, "rm", "-q", rel)
    r = git(v.root, "commit", "-m", "drop a day", check=False)
    assert r.returncode != 0
    assert f"{rel}: rollup files are append-only" in r.stdout + r.stderr
    assert v.head() == head


def test_hooks_install_keeps_a_persons_own_hook(tmp_path):
    v = make_vault(tmp_path)
    hook = v.root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    r = cli("hooks", "install", "--vault", str(v.root))
    assert r.exit_code == 0 and "your own pre-commit hook was kept" in r.output
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert "check --staged" in (v.root / ".git/hooks/pre-commit.vault-agent").read_text()


def test_hook_runs_check_from_package_not_vault(tmp_path):
    """The hook calls the installed package; a script planted in the vault is never run."""
    v = make_vault(tmp_path)
    planted = v.root / "knowledge-base" / "hooks" / "pre-commit"
    planted.parent.mkdir()
    planted.write_text("#!/bin/sh\ntouch /tmp/planted-ran\nexit 1\n")
    planted.chmod(0o755)
    git(v.root, "add", "knowledge-base/hooks/pre-commit")
    r = git(v.root, "commit", "-m", "x", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    hook_text = (v.root / ".git/hooks/pre-commit").read_text()
    assert "vault_agent.cli" in hook_text and str(v.root) not in hook_text
    assert (
        subprocess.run(
            ["git", "config", "core.hooksPath"], cwd=v.root, capture_output=True
        ).returncode
        != 0
    )
    assert not Path("/tmp/planted-ran").exists()


def test_committed_rollups_are_append_only_and_observations_immutable(tmp_path):
    v = make_vault(tmp_path)
    v.append_rollups([rollup(i=0), rollup(i=1)])
    obs, _ = v.write_observation("Kitchen warm at noon.")
    v.commit("records", "rollup")
    head = v.head()
    # appending is fine
    v.append_rollups([rollup(i=2)])
    git(v.root, "add", ROLLUP)
    assert check_staged(v.repo) == []
    # rewriting line 2 by hand is not (peers would refuse the commit when merging)
    p = v.path(ROLLUP)
    lines = p.read_bytes().splitlines(keepends=True)
    p.write_bytes(lines[0] + lines[1].replace(b"21.3", b"99.9") + lines[2])
    git(v.root, "add", ROLLUP)
    r = git(v.root, "commit", "-m", "fix a reading", check=False)
    assert r.returncode != 0
    assert f"{ROLLUP}:2: rollup files are append-only" in r.stdout + r.stderr
    git(v.root, "reset", "-q")
    git(v.root, "checkout", "--", ".")
    assert v.pending() == []
    # editing a committed observation is refused by `vault commit` too
    v.path(obs).write_text(v.path(obs).read_text().replace("warm", "hot"))
    r = cli("commit", "--vault", str(v.root), "-m", "edit note")
    assert r.exit_code == 1 and f"{obs}: observations are immutable" in r.output
    assert "append-only" not in r.output
    assert v.head() == head
