"""Lines another process appends to a log file while this one commits it.

Two ``vault mcp`` servers of one node append to the same session log, and each commits
it: git reads a file's size and then its bytes, so an append in between fails the
staging ("failed to read file into stream") or commits half a line. Appends through
:meth:`Vault.append_line` and staging in :meth:`Vault.commit` share one lock."""

from __future__ import annotations

import subprocess
import sys

import pygit2

from vault_agent.vault import Vault

REL = "agents/alpaca-1/sessions/2026/11/2026-11-30.jsonl"
LINE = '{"tool": "read", "args": "' + "x" * 16_000 + '"}'
APPENDER = """
import sys
from vault_agent.vault import Vault
v = Vault.open(sys.argv[1])
print("ready", flush=True)
for _ in range(int(sys.argv[2])):
    v.append_line(sys.argv[3], sys.argv[4], fsync=False)
"""


def test_commits_during_appends_of_another_process_stage_whole_lines(tmp_path):
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    v.append_line(REL, LINE)
    proc = subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(v.root), "100", REL, LINE],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    commits = 0
    while proc.poll() is None:
        v.commit("session log", "agent", paths=[REL])  # raised GitError without the lock
        commits += 1
    assert proc.returncode == 0
    v.commit("session log", "agent", paths=[REL])
    assert commits >= 3, commits  # the commits really ran while the other process appended
    repo = pygit2.Repository(str(v.root))
    sizes = set()
    for c in repo.walk(repo.head.target):
        if REL in c.tree:
            blob = c.tree[REL].data
            assert blob.endswith(b"\n") and blob.count(b"\n") * (len(LINE) + 1) == len(blob)
            sizes.add(len(blob))
    assert len(sizes) >= 2 and max(sizes) == 101 * (len(LINE) + 1)
