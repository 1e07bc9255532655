"""Tool-call latency of ``vault mcp`` over a warm streamable HTTP server.

Builds a vault from the bundled data (UCI occupancy-detection training + test files on
node ``office``: 5 sensors, 5-minute rollups 2015-02-02 … 02-10; the observer's
backfill without LLM; one knowledge-base note; the search index), starts
``vault mcp --http`` as its own process on 127.0.0.1, connects the MCP SDK's client
and, after warm-up calls, times ``--calls`` calls of each tool:

- ``read``: a knowledge-base note, an observation, a day of rollups (cut at 64 KiB);
- ``history``: one sensor, one day at 1 h, and 7 days at 1 h;
- ``search``: a few everyday queries (hybrid BM25 + vectors, k = 5).

Baseline, same run: the same calls made directly on :class:`VaultTools` in this
process (no MCP, no HTTP, no session log), so the protocol's share is visible.
Prints n, p50, p95 (ms) per tool for both, and whether the goal is met (p50 ≤ 100 ms
for read and history, ≤ 300 ms for search). Usage::

    python benchmarks/mcp.py [--calls 60] [--vault PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Trigger: run as `python benchmarks/mcp.py`. Why: Python puts this folder first on
# sys.path, so this file would shadow the `mcp` SDK. What: drop the folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import anyio  # noqa: E402

GOALS_MS = {"read": 100.0, "history": 100.0, "search": 300.0}
NOTE = "knowledge-base/heating.md"
NOTE_TEXT = (
    "# Heating\n\nThe boiler is a Vaillant ecoTEC in the cellar. Its pressure should read "
    "1.5 bar; below 1.0 bar, refill at the grey valve.\n"
)
QUERIES = ("boiler pressure", "office light at night", "co2 high in the afternoon", "weekend")


def build_vault(root: Path) -> Path:
    """A vault replaying the bundled office data set (see the module docstring)."""
    from vault_agent.cli.observe import _data_span
    from vault_agent.index.indexer import Indexer
    from vault_agent.llm import NoLLM
    from vault_agent.observe.observer import Observer
    from vault_agent.sensors.datasets import resolve
    from vault_agent.sensors.replay import configure_node, replay
    from vault_agent.vault import Vault

    v, _ = Vault.init(root, "office")
    for name in ("occupancy-detection/datatraining.txt", "occupancy-detection/datatest.txt"):
        path = resolve(name)
        replay(v, path, configure_node(v, path), backfill=True)
    Observer(v, llm=NoLLM()).backfill(*_data_span(v))
    v.write_file(NOTE, NOTE_TEXT)
    v.commit("bundled data, observations, a note", "edit")
    Indexer(v).update()
    return v.root


def calls(root: Path) -> dict[str, list[dict]]:
    """The arguments of each timed call, by tool."""
    obs = sorted((root / "agents/office/observations").rglob("*.md"))[0]
    return {
        "read": [
            {"path": NOTE},
            {"path": obs.relative_to(root).as_posix()},
            {"path": "agents/office/sensors/2015/02/2015-02-05.jsonl"},
        ],
        "history": [
            {
                "sensor": "office-temperature",
                "since": "2015-02-05",
                "until": "2015-02-05",
                "every": "1h",
            },
            {"sensor": "office co2", "since": "2015-02-03", "until": "2015-02-09", "every": "1h"},
        ],  # fmt: skip
        "search": [{"query": q, "k": 5} for q in QUERIES],
    }


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k != "VAULT_MCP_TOKEN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault_agent.cli", "mcp", "--http", "--port", "0",
         "--vault", str(root)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", line)
        if m:
            return proc, m.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("vault mcp --http did not start")


async def over_mcp(url: str, plan: dict[str, list[dict]], n: int) -> dict[str, list[float]]:
    from mcp import Client
    from mcp.types import Implementation

    out: dict[str, list[float]] = {t: [] for t in plan}
    async with Client(url, client_info=Implementation(name="benchmark", version="1")) as c:
        for tool, args_list in plan.items():  # warm-up: index, embedder, DuckDB cache
            for args in args_list:
                r = await c.call_tool(tool, args)
                if r.is_error:
                    raise SystemExit(f"{tool} {args} failed: {r.content[0].text}")
        for i in range(n):
            for tool, args_list in plan.items():
                args = args_list[i % len(args_list)]
                t0 = time.perf_counter()
                await c.call_tool(tool, args)
                out[tool].append((time.perf_counter() - t0) * 1000)
    return out


def direct(root: Path, plan: dict[str, list[dict]], n: int) -> dict[str, list[float]]:
    from vault_agent.mcp.permissions import Policy
    from vault_agent.mcp.tools import VaultTools
    from vault_agent.vault import Vault

    v = Vault.open(root)
    tools = VaultTools(v, Policy(v.node))
    fns = {"read": tools.read, "history": tools.history, "search": tools.search}
    for tool, args_list in plan.items():
        for args in args_list:
            fns[tool](**args)
    out: dict[str, list[float]] = {t: [] for t in plan}
    for i in range(n):
        for tool, args_list in plan.items():
            args = args_list[i % len(args_list)]
            t0 = time.perf_counter()
            fns[tool](**args)
            out[tool].append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=60, help="Timed calls per tool.")
    ap.add_argument("--vault", type=Path, default=None, help="Use this built vault.")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = a.vault or Path(tmp) / "v"
        if a.vault is None:
            t0 = time.perf_counter()
            build_vault(root)
            print(f"built vault in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        plan = calls(root)
        proc, url = start_server(root)
        try:
            mcp_ms = anyio.run(over_mcp, url, plan, a.calls)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        base_ms = direct(root, plan, a.calls)
    print(f"vault mcp over streamable HTTP (127.0.0.1), warm; {a.calls} calls per tool")
    print(f"{'tool':<8} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'direct p50':>11} "
          f"{'direct p95':>11} {'goal p50':>9}  met")  # fmt: skip
    for tool in plan:
        xs, bs = mcp_ms[tool], base_ms[tool]
        p50, b50 = statistics.median(xs), statistics.median(bs)
        goal = GOALS_MS[tool]
        print(
            f"{tool:<8} {len(xs):>4} {p50:>8.1f} {pct(xs, 95):>8.1f} {b50:>11.1f} "
            f"{pct(bs, 95):>11.1f} {goal:>9.0f}  {'yes' if p50 <= goal else 'NO'}"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
