"""Agent and CLI error lines: one line naming cause and fix, no traceback at INFO."""

from __future__ import annotations

import errno
import shutil
import sqlite3

from vault_agent.agent.daemon import Agent, AgentOptions
from vault_agent.agent.explain import explain, human_bytes
from vault_agent.vault import Vault


def test_disk_full_names_the_path_and_the_free_space(tmp_path):
    e = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "a.jsonl"))
    line = explain(e)
    free = shutil.disk_usage(tmp_path).free
    assert line.startswith(f"disk full writing {tmp_path / 'a.jsonl'} (")
    assert human_bytes(free).split()[1] in line and "free some space" in line
    # sqlite's words for the same (the index's Chroma store)
    line = explain(sqlite3.OperationalError("database or disk is full"), tmp_path)
    assert line.startswith(f"disk full writing {tmp_path} (")


def test_human_bytes():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(11.7 * 1024 * 1024) == "11.7 MiB"


def test_a_failing_stage_logs_one_line_without_traceback(tmp_path):
    v, _ = Vault.init(tmp_path / "v", "office")
    bad = tmp_path / "not-a-recording.csv"
    bad.write_text("what,is,this\n1,2,3\n")
    opts = AgentOptions(
        once=True, replay=bad, backfill=True, sync=False, index=False, log_stderr=False
    )
    assert Agent(v, opts).run() == 0
    log = (v.cache_dir() / "agent.log").read_text()
    failed = [x for x in log.splitlines() if "event=source_failed" in x]
    assert len(failed) == 1 and "level=ERROR" in failed[0], log
    assert "Traceback" not in log
