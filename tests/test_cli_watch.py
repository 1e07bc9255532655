"""`vault watch` reports a file failing `vault check` once per change of it, not once
per batch (real watchdog observer, real index, real git)."""

from __future__ import annotations

import threading
import time

from vault_agent.index.watch import watch
from vault_agent.vault import Vault

BROKEN = "---\ntitle: [unclosed\n---\nThe boiler.\n"


def test_a_failing_file_is_reported_once_per_change(tmp_path):
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    note = v.root / "knowledge-base" / "boiler.md"
    note.write_text(BROKEN)
    batches = []
    stop = threading.Event()
    th = threading.Thread(
        target=watch,
        kwargs={"vault": v, "debounce_s": 0.3, "stop": stop, "on_batch": batches.append},
        daemon=True,
    )
    th.start()
    try:
        deadline = time.monotonic() + 120
        while not batches and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(4)  # ten debounce periods: a watcher woken by its own reads would loop
        reports = [p for b in batches for p in b.new_problems]
        assert len(reports) == 1 and "boiler.md:2: malformed YAML" in reports[0], reports
        assert len(batches) <= 2, f"{len(batches)} batches without a change"
        n = len(batches)
        note.write_text(BROKEN + "More.\n")  # changed, still broken: news again, once
        deadline = time.monotonic() + 60
        while len(batches) == n and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)
        reports = [p for b in batches for p in b.new_problems]
        assert len(reports) == 2, reports
        note.write_text("# Boiler\n\nServiced in May.\n")  # fixed: committed
        deadline = time.monotonic() + 60
        while not any(b.commit for b in batches) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("knowledge-base/boiler.md" in b.committed for b in batches)
    finally:
        stop.set()
        th.join(10)
