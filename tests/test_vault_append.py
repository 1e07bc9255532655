"""Lines another process appends to a log file while this one commits it.

Two ``vault mcp`` servers of one node append to the same session log, and each commits
it: git reads a file's size and then its bytes, so an append in between fails the
staging ("failed to read file into stream") or commits half a line. Appends through
:meth:`Vault.append_line` and staging in :meth:`Vault.commit` share one lock."""

from __future__ import annotations

import subprocess
import sys
import time

import pygit2

from vault_agent.vault import Vault

REL = "agents/alpaca-1/sessions/2026/11/2026-11-30.jsonl"
LINE = '{"tool": "read", "args": "' + "x" * 8_000 + '"}'
APPENDER = """
import os, sys, time
from vault_agent.vault import Vault
v = Vault.open(sys.argv[1])
print("ready", flush=True)
for _ in range(1000):  # 8 MB at most: under the 10 MB a commit takes
    if os.path.exists(sys.argv[4]):
        break
    v.append_line(sys.argv[2], sys.argv[3], fsync=False)
    time.sleep(0.002)
"""


def test_commits_during_appends_of_another_process_stage_whole_lines(tmp_path):
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    v.append_line(REL, LINE)
    stop = tmp_path / "stop"
    proc = subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(v.root), REL, LINE, str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        commits: set[str] = set()
        deadline = time.monotonic() + 120
        while len(commits) < 12 and proc.poll() is None and time.monotonic() < deadline:
            c = v.commit("session log", "agent", paths=[REL])  # raised GitError without the lock
            if c:
                commits.add(c)
    finally:
        stop.touch()
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert len(commits) >= 3  # commits of the file as the appends went on (12 unless starved)
    repo = pygit2.Repository(str(v.root))
    for c in commits:
        blob = repo[c].tree[REL].data
        assert blob.endswith(b"\n") and blob.count(b"\n") * (len(LINE) + 1) == len(blob)
