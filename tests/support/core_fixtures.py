"""Helpers for the vault-core tests: real vaults in tmp_path, rollups, the real CLI.

Nothing here is a fake: vaults are real git repositories made by :meth:`Vault.init`,
the CLI runs through click's CliRunner or a real ``python -m vault_agent.cli`` process.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from vault_agent.cli import main
from vault_agent.vault import Rollup, Vault

NODE = "alpaca-1"
T0 = datetime(2025, 10, 14, 10, 0, tzinfo=UTC)


def make_vault(tmp_path: Path, node: str = NODE, name: str = "v") -> Vault:
    """A fresh vault at ``tmp_path/name`` opened as ``node``."""
    v, created = Vault.init(tmp_path / name, node)
    assert created
    return v


def rollup(
    node: str = NODE,
    sensor: str = "kitchen-temp",
    i: int = 0,
    mean: float = 21.3,
    start: datetime = T0,
    window_s: int = 300,
) -> Rollup:
    """The ``i``-th 300 s temperature rollup of ``sensor`` after ``start``."""
    s = start + timedelta(seconds=window_s * i)
    e = s + timedelta(seconds=window_s)
    return Rollup(
        node=node,
        sensor=sensor,
        quantity="temperature",
        unit="°C",
        start=s.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=e.strftime("%Y-%m-%dT%H:%M:%SZ"),
        count=window_s,
        mean=mean,
        min=round(mean - 0.2, 3),
        max=round(mean + 0.3, 3),
        last=mean,
        stddev=0.12,
    )


def cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> Result:
    """Run ``vault ARGS`` in-process through CliRunner (stderr kept apart)."""
    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(main, list(args), env=env, catch_exceptions=True)
    finally:
        os.chdir(old)


def vault_proc(
    *args: str, cwd: Path, check: bool = False, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m vault_agent.cli ARGS`` as a real process."""
    full_env = {k: v for k, v in os.environ.items() if k != "VAULT_DEBUG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "vault_agent.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        check=check,
        timeout=60,
    )


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real ``git`` with a fixed identity."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=check, timeout=60
    )


def commit_times(root: Path, *args: str) -> list[tuple[datetime, str]]:
    """(commit time UTC, ``Vault-Node`` trailer or "") of the commits from HEAD, newest
    first, read with plain git (``args``: more ``git log`` options, e.g. ``--merges``)."""
    fmt = "--format=%ct %(trailers:key=Vault-Node,valueonly)"
    out = git(root, "log", "--date-order", fmt, *args).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return [(datetime.fromtimestamp(int(r[0]), UTC), r[1] if len(r) > 1 else "") for r in rows]


def digest(path: Path) -> str:
    """sha256 of a file's bytes (symlinks are not followed: their target text is hashed)."""
    if path.is_symlink():
        return "link:" + os.readlink(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(root: Path) -> dict[str, str]:
    """Digest of every file in the working tree outside .git, .vault and local-cache."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith((".git/", ".vault/")) or "/local-cache/" in rel:
            continue
        if p.is_file() or p.is_symlink():
            out[rel] = digest(p)
    return out
