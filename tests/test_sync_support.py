"""Helpers shared by the sync tests (real repositories in tmp_path; no tests here)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vault_agent.sync.peers import add_peer
from vault_agent.vault import Rollup, Vault
from vault_agent.vault.hub import init_bare

T0 = datetime(2025, 10, 14, tzinfo=UTC)


def make_hub(tmp: Path, name: str = "hub.git") -> Path:
    """A bare hub repository."""
    p = tmp / name
    init_bare(p)
    return p


def make_nodes(tmp: Path, names: list[str], hub: Path | None = None) -> list[Vault]:
    """The first node creates the vault and pushes it to ``hub``; the others join from it."""
    hub = hub or make_hub(tmp)
    from vault_agent.sync.sync import sync_all

    first, _ = Vault.init(tmp / names[0], names[0])
    add_peer(first, "hub", str(hub))
    assert sync_all(first).ok
    out = [first]
    for n in names[1:]:
        v, _ = Vault.init(tmp / n, n, from_url=str(hub))
        add_peer(v, "hub", str(hub))
        out.append(v)
    return out


def rollup(node: str, i: int, sensor: str = "kitchen-temp", value: float = 21.0) -> Rollup:
    """The ``i``-th 5-minute rollup of a sensor, from T0."""
    start = T0 + timedelta(seconds=300 * i)
    return Rollup(
        node=node,
        sensor=sensor,
        quantity="temperature",
        unit="°C",
        start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=(start + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        count=300,
        mean=value,
        min=value,
        max=value,
        last=value,
        stddev=0.0,
    )


def snapshot(v: Vault) -> dict[str, bytes]:
    """Every synced file of the working tree: vault path -> bytes."""
    from vault_agent.vault.files import walk

    return {p: (v.root / p).read_bytes() for p in walk(v.root)}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run plain git (for setting up hostile peers) and return stdout."""
    env = {
        "GIT_AUTHOR_NAME": "mallory",
        "GIT_AUTHOR_EMAIL": "m@x",
        "GIT_COMMITTER_NAME": "mallory",
        "GIT_COMMITTER_EMAIL": "m@x",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and r.returncode:
        raise AssertionError(f"git {' '.join(args)}: {r.stderr}")
    return r.stdout


def head_and_status(v: Vault) -> tuple[str | None, list[str]]:
    """HEAD and pending changes (to show a vault was left untouched)."""
    return v.head(), v.pending()
