"""Hostile peers and the vault's layout (issues 14.1, 14.2, 19.1, 19.2, 19.4, 19.6).

Every attack is planted the way an attacker would: a plain ``git`` clone of the real
hub pushing crafted commits. The victim is a real vault syncing through that hub.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
import tracemalloc
from pathlib import Path

import pygit2
from click.testing import CliRunner

from tests.test_sync_support import git, make_nodes, rollup
from vault_agent.agent.service import install_unit
from vault_agent.cli import main
from vault_agent.sync.peers import list_peers
from vault_agent.sync.sync import sync_all
from vault_agent.vault.check import check_tree
from vault_agent.vault.repo import parse_trailers

SHADOW = "import pathlib\npathlib.Path({marker!r}).write_text('peer code ran')\n"


def _setup(tmp_path):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    a.append_rollups([rollup("node-a", i, value=20.0 + i) for i in range(3)])
    b.append_rollups([rollup("node-b", i, value=10.0 + i) for i in range(3)])
    assert sync_all(a).ok and sync_all(b).ok and sync_all(a).ok
    return a, b


def _mallory(tmp_path) -> Path:
    m = tmp_path / "mallory"
    git(tmp_path, "clone", "-q", str(tmp_path / "hub.git"), str(m))
    return m


def _push(m: Path, message: str = "crafted", *extra: str) -> None:
    git(m, "add", "-A")
    git(m, "commit", "-qm", message, *extra)
    git(m, "push", "-q", "origin", "main")


def _refused(report) -> dict[str, str]:
    return {r.path: r.reason for r in report.refused}


def test_shadowing_package_from_a_peer_is_refused_and_never_runs(tmp_path):
    a, b = _setup(tmp_path)
    marker = tmp_path / "pwned"
    m = _mallory(tmp_path)
    (m / "vault_agent").mkdir()
    (m / "vault_agent/__init__.py").write_text(SHADOW.format(marker=str(marker)))
    (m / "knowledge-base/fine.md").write_text("# fine\n")
    _push(m)

    refused = _refused(sync_all(b))
    assert "outside the vault layout" in refused["vault_agent/__init__.py"]
    assert not (b.root / "vault_agent").exists()
    assert (b.root / "knowledge-base/fine.md").exists()  # the rest merged

    # Even with the package in the vault (say an older node accepted it), nothing runs it.
    (b.root / "vault_agent").mkdir()
    (b.root / "vault_agent/__init__.py").write_text(SHADOW.format(marker=str(marker)))
    env = {**os.environ, "PYTHONPATH": str(b.root)}
    # control: a plain `python -m vault_agent.cli` in the vault does import the plant
    cmd = [sys.executable, "-m", "vault_agent.cli", "--help"]
    plain = subprocess.run(cmd, cwd=b.root, env=env, capture_output=True)
    assert marker.exists(), plain.stderr
    marker.unlink()

    (b.root / "knowledge-base/mine.md").write_text("# mine\n")
    subprocess.run(["git", "add", "knowledge-base/mine.md"], cwd=b.root, check=True)
    r = subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "note"],
        cwd=b.root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    hook = (b.root / ".git/hooks/pre-commit").read_text()
    assert f"{sys.executable} -I -m vault_agent.cli check --staged" in hook

    unit = install_unit(b.root, b.node, dest=tmp_path / "units").read_text()
    exec_start = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv[:3] == [sys.executable, "-I", "-m"]
    prefix = argv[: argv.index("agent")]
    r = subprocess.run([*prefix, "--help"], cwd=b.root, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "Usage" in r.stdout, r.stderr
    assert not marker.exists()

    problems = [str(p) for p in check_tree(b.root)]
    assert any(p.startswith("vault_agent/__init__.py: top-level entry") for p in problems)


def test_peer_ignore_rules_are_refused_and_ignored_files_reported(tmp_path):
    a, b = _setup(tmp_path)
    ours = (b.root / ".gitignore").read_bytes()
    m = _mallory(tmp_path)
    with open(m / ".gitignore", "a") as fh:
        fh.write("knowledge-base/\n")
    (m / "knowledge-base/sub").mkdir()
    (m / "knowledge-base/sub/.gitignore").write_text("secret.md\n")
    (m / "agents/.gitattributes").write_text("*.jsonl filter=evil\n")
    (m / ".gitmodules").write_text('[submodule "x"]\n\tpath = x\n\turl = /tmp/x\n')
    git(m, "add", "-f", "knowledge-base/sub/.gitignore")  # its own root rule hides it
    _push(m)

    refused = _refused(sync_all(b))
    assert "only its generated content" in refused[".gitignore"]
    for rel in ("knowledge-base/sub/.gitignore", "agents/.gitattributes", ".gitmodules"):
        assert "the vault's own" in refused[rel], rel
        assert not (b.root / rel).exists()
    assert (b.root / ".gitignore").read_bytes() == ours

    # b's new note is seen, committed and synced
    (b.root / "knowledge-base/new.md").write_text("# new\n")
    res = CliRunner().invoke(main, ["status", "--vault", str(b.root)])
    assert "uncommitted: 1 file(s)" in res.output
    assert sync_all(b).ok and sync_all(a).ok
    assert (a.root / "knowledge-base/new.md").exists()

    # a rule that does hide a file (a local exclude) is reported by status and check
    (b.root / ".git/info/exclude").write_text("knowledge-base/secret.md\n")
    (b.root / "knowledge-base/secret.md").write_text("# hidden\n")
    msgs = {p.path: p.message for p in check_tree(b.root)}
    assert "git ignores this file" in msgs["knowledge-base/secret.md"]
    res = CliRunner().invoke(main, ["status", "--vault", str(b.root)])
    assert "knowledge-base/secret.md: git ignores this file" in res.output

    # a local edit of the root .gitignore is refused by commit like a peer's
    with open(b.root / ".gitignore", "a") as fh:
        fh.write("knowledge-base/\n")
    res = CliRunner().invoke(main, ["commit", "--vault", str(b.root), "-m", "hide"])
    assert res.exit_code == 1 and ".gitignore: the vault's .gitignore is its own" in res.output


def test_forged_commits_in_a_nodes_own_folder_are_refused(tmp_path):
    a, b = _setup(tmp_path)
    toml_rel = "agents/node-b/node.toml"
    original = (b.root / toml_rel).read_bytes()
    m = _mallory(tmp_path)
    with open(m / toml_rel, "a") as fh:
        fh.write('\n[[peers]]\nname = "exfil"\nurl = "/tmp/exfil.git"\npush = true\n')
    text = (m / toml_rel).read_text().replace("http://127.0.0.1:11434", "http://evil.example:80")
    (m / toml_rel).write_text(text)
    obs = "agents/node-b/observations/2025/10/20251014T000000Z-node-b-000099-fake.md"
    (m / obs).parent.mkdir(parents=True, exist_ok=True)
    (m / obs).write_text(
        "---\nid: 20251014T000000Z-node-b-000099\nnode: node-b\n"
        "created: '2025-10-14T00:00:00Z'\nkind: observation\n---\nFake.\n"
    )
    roll = b.rollup_files("node-b")[0]
    with open(m / roll, "a") as fh:
        fh.write(rollup("node-b", 40, value=99.0).to_json() + "\n")
    # the trailer claims node-b wrote it, author too
    forged = "forged\n\nVault-Node: node-b\nVault-Kind: config"
    _push(m, forged, "--author=node-b <node-b@vault.local>")

    report = sync_all(b)
    refused = _refused(report)
    for rel in (toml_rel, obs, roll):
        assert "this node's own folder agents/node-b/" in refused[rel], rel
    assert (b.root / toml_rel).read_bytes() == original
    assert not (b.root / obs).exists()
    assert b"99.0" not in (b.root / roll).read_bytes()
    assert [p.name for p in list_peers(b)] == ["hub"]
    cfg = tomllib.loads((b.root / toml_rel).read_text())
    assert cfg["llm"]["host"] == "http://127.0.0.1:11434"
    head = b.repo.head.peel(pygit2.Commit)
    trailers = parse_trailers(head.message)
    assert any(k == "Vault-Refused" and v.startswith(toml_rel) for k, v in trailers)
    # the trees converge on the owner's version
    for _ in range(2):
        sync_all(a)
        sync_all(b)
    assert (a.root / toml_rel).read_bytes() == original
    assert a.repo.head.peel(pygit2.Commit).tree.id == b.repo.head.peel(pygit2.Commit).tree.id


def test_bad_names_from_a_peer_are_refused(tmp_path):
    a, b = _setup(tmp_path)
    m = _mallory(tmp_path)
    names = [b"knowledge-base/caf\xe9.md", b"knowledge-base/CON.md", b"knowledge-base/a:b.md"]
    names += [b"knowledge-base/trailing.", b"knowledge-base/tab\there.md"]
    for raw in names:
        with open(os.path.join(os.fsencode(m), raw), "wb") as fh:
            fh.write(b"# x\n")
    (m / "knowledge-base/fine.md").write_text("# fine\n")
    _push(m)
    refused = _refused(sync_all(b))
    assert "not valid UTF-8" in refused["knowledge-base/caf\\xe9.md"]
    assert "reserved on Windows" in refused["knowledge-base/CON.md"]
    assert "reserved on common file systems" in refused["knowledge-base/a:b.md"]
    assert "ends with a dot or space" in refused["knowledge-base/trailing."]
    assert "reserved on common file systems" in refused["knowledge-base/tab\there.md"]
    listed = set(os.listdir(os.fsencode(b.root / "knowledge-base")))
    assert listed.isdisjoint({raw.rsplit(b"/", 1)[1] for raw in names})
    assert (b.root / "knowledge-base/fine.md").exists()


def test_bad_names_are_refused_by_check_and_commit(tmp_path):
    a, b = _setup(tmp_path)
    with open(os.path.join(os.fsencode(b.root), b"knowledge-base/caf\xe9.md"), "wb") as fh:
        fh.write(b"# x\n")
    (b.root / "knowledge-base/aux.txt").write_text("x\n")
    msgs = [str(p) for p in check_tree(b.root)]
    assert any("is not valid UTF-8; rename it" in p for p in msgs)
    assert any(p.startswith("knowledge-base/aux.txt: name 'aux.txt' is reserved") for p in msgs)
    res = CliRunner().invoke(main, ["commit", "--vault", str(b.root), "-m", "x"])
    assert res.exit_code == 1 and "not valid UTF-8" in res.output
    git(b.root, "add", "knowledge-base")
    r = subprocess.run(["git", "commit", "-qm", "x"], cwd=b.root, capture_output=True, text=True)
    assert r.returncode != 0 and "reserved" in r.stderr


def test_oversized_blob_from_a_peer_is_refused_unread(tmp_path):
    a, b = _setup(tmp_path)
    m = _mallory(tmp_path)
    big = 20 * 2**20  # over the default 10 MiB limit
    with open(m / "knowledge-base/huge.md", "wb") as fh:
        fh.write(b"0" * big)
    (m / "knowledge-base/fine.md").write_text("# fine\n")
    _push(m)
    tracemalloc.start()
    try:
        report = sync_all(b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    reason = _refused(report)["knowledge-base/huge.md"]
    assert "file is 21 MB, over the 10 MiB limit" in reason
    assert not (b.root / "knowledge-base/huge.md").exists()
    assert (b.root / "knowledge-base/fine.md").exists()
    assert peak < big / 2  # the blob was never loaded into Python

    # the limit is vault.toml's [limits] max_file_mb
    with open(b.root / "vault.toml", "a") as fh:
        fh.write("\n[limits]\nmax_file_mb = 1\n")
    assert sync_all(b).ok
    with open(m / "knowledge-base/mid.md", "wb") as fh:
        fh.write(b"1" * (2 * 2**20))
    git(m, "pull", "-q", "--no-rebase", "origin", "main")
    _push(m)
    assert "over the 1 MiB limit" in _refused(sync_all(b))["knowledge-base/mid.md"]


def test_local_symlinked_folder_never_redirects_a_merge(tmp_path):
    a, b = _setup(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (b.root / "knowledge-base/ext").symlink_to(outside)  # uncommitted, b's own
    (a.root / "knowledge-base/ext/x").mkdir(parents=True)
    (a.root / "knowledge-base/ext/x/note.md").write_text("# a's note\n")
    assert sync_all(a).ok
    for _ in range(2):  # the second round would commit a deletion if one were staged
        assert sync_all(b).ok
    assert list(outside.iterdir()) == []  # no folder created outside the vault
    assert sync_all(a).ok
    assert (a.root / "knowledge-base/ext/x/note.md").read_text() == "# a's note\n"
    hub = pygit2.Repository(str(tmp_path / "hub.git"))
    assert "knowledge-base/ext/x/note.md" in hub.revparse_single("main").peel(pygit2.Tree)
    msgs = {p.path: p.message for p in check_tree(b.root)}
    assert "symlink points outside the vault" in msgs["knowledge-base/ext"]
