"""Child process for the crash test: appends rollups through the Vault API forever.

Usage: python crash_child.py VAULT_ROOT ROUND SEED

Prints ``ready`` once the vault is open, then after every ``append_rollups`` that
returned, one ack line per rollup: ``ack <sensor> <start>``, and the size of each file
appended to: ``size <vault path> <bytes>`` (flushed, so the parent reads it even after
a SIGKILL). Batches vary from 1 to 400 lines so that a kill can
land inside a large write().
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta

from vault_agent.vault import Rollup, Vault

T0 = datetime(2025, 10, 14, tzinfo=UTC)


def main() -> None:
    root, rnd, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    v = Vault.open(root)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    sensor = f"r{rnd:03d}"
    i = 0
    while True:
        n = rng.choice((1, 1, 2, 5, 50, 400))
        batch = []
        for _ in range(n):
            s = T0 + timedelta(seconds=300 * i)
            mean = round(20 + rng.random() * 5, 3)
            batch.append(
                Rollup(
                    node=v.node,
                    sensor=sensor,
                    quantity="temperature",
                    unit="°C",
                    start=s.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    end=(s + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    count=300,
                    mean=mean,
                    min=mean - 1,
                    max=mean + 1,
                    last=mean,
                    stddev=0.5,
                )
            )
            i += 1
        paths = v.append_rollups(batch)
        sizes = "".join(f"size {p} {v.path(p).stat().st_size}\n" for p in paths)
        out.write("".join(f"ack {r.sensor} {r.start}\n" for r in batch) + sizes)
        out.flush()


if __name__ == "__main__":
    main()
