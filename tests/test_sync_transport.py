"""Transport over a real server: ``git daemon`` on 127.0.0.1 serving the hub; backoff."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pygit2
import pytest

from tests.test_sync_support import make_hub, rollup, snapshot
from vault_agent.sync import state as st
from vault_agent.sync.peers import add_peer
from vault_agent.sync.sync import sync_all
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree
from vault_agent.vault.layout import parse_iso


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def git_daemon(tmp_path):
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    base = tmp_path / "srv"
    base.mkdir()
    make_hub(base, "homelab-ai.git")
    port = _free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={base}",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.skip("git daemon did not start")
            time.sleep(0.05)
    yield f"git://127.0.0.1:{port}/homelab-ai.git", base / "homelab-ai.git"
    proc.terminate()
    proc.wait(timeout=10)


def test_sync_through_git_daemon(tmp_path, git_daemon):
    url, hub_path = git_daemon
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "nas", url)
    a.append_rollups([rollup("node-a", i) for i in range(5)])
    r = sync_all(a, timeout_s=20)
    assert r.ok and r.peers[0].pushed, r.as_dict()
    hub = pygit2.Repository(str(hub_path))
    assert hub.references["refs/heads/main"].target == a.repo.head.target

    b, _ = Vault.init(tmp_path / "node-b", "node-b", from_url=url)  # join over git://
    b.write_file("knowledge-base/nas.md", "# NAS\n")
    rb = sync_all(b, timeout_s=20)  # the clone's origin is an implicit peer
    assert rb.ok and rb.peers[0].peer == "origin" and rb.peers[0].pushed
    a.write_shared("global-state.json", {"mode": "away"})
    assert sync_all(a, timeout_s=20).ok
    assert sync_all(b, timeout_s=20).ok
    assert snapshot(a) == snapshot(b)
    assert len(list(b.iter_rollups("node-a"))) == 5
    assert check_tree(b.root) == []


def test_unreachable_peer_backs_off_and_is_retried(tmp_path):
    hub = make_hub(tmp_path)
    a, _ = Vault.init(tmp_path / "node-a", "node-a")
    add_peer(a, "hub", str(hub))
    port = _free_port()  # nothing listens there
    add_peer(a, "away", f"git://127.0.0.1:{port}/vault.git")
    r1 = sync_all(a, timeout_s=5)
    by = {p.peer: p for p in r1.peers}
    assert by["hub"].status == "ok"
    assert by["away"].status == "unreachable" and by["away"].next_try
    s1 = st.load(a)["away"]
    assert s1.failures == 1 and s1.reachable is False
    assert st.backoff_delay(1) == st.BACKOFF_BASE_S
    wait = parse_iso(s1.next_try) - parse_iso(s1.last_attempt)
    assert wait == timedelta(seconds=st.BACKOFF_BASE_S)
    r2 = sync_all(a, timeout_s=5)  # backoff not expired: skipped, no failure counted
    assert {p.peer: p.status for p in r2.peers}["away"] == "skipped"
    assert st.load(a)["away"].failures == 1
    r3 = sync_all(a, timeout_s=5, force=True)
    assert {p.peer: p.status for p in r3.peers}["away"] == "unreachable"
    s3 = st.load(a)["away"]
    assert s3.failures == 2
    assert st.backoff_delay(2) == 2 * st.BACKOFF_BASE_S
    assert st.backoff_delay(100) == st.BACKOFF_MAX_S
    assert r3.peers[0].status in ("ok", "up-to-date")


def test_fetch_timeout_is_enforced(tmp_path):
    """A server that accepts and never answers: the fetch gives up after the timeout."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        a, _ = Vault.init(tmp_path / "node-a", "node-a")
        add_peer(a, "mute", f"git://127.0.0.1:{port}/vault.git")
        t0 = time.monotonic()
        r = sync_all(a, timeout_s=1.5)
        elapsed = time.monotonic() - t0
        assert r.peers[0].status == "unreachable"
        assert elapsed < 15
    finally:
        srv.close()
