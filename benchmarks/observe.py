"""Observer cost: backfill throughput, one live window with a warm vs cold rollup cache,
and the cost of LLM phrasing (FakeOllama on 127.0.0.1) against rule-based text.

Data: occupancy-detection (datatest + datatraining: 8 days, 5 sensors, 1-minute
readings) replayed into a fresh vault. Baselines are measured in the same run:

- backfill: windows/s with rules only;
- live window: what the agent does every hour (a new Observer, run_window on the
  last window) with the append-only tail cache warm vs cleared (cold = reading all
  15 baseline days' files again); the ratio is cold / warm;
- phrasing: the same backfill with the ollama backend against FakeOllama answering
  at once (so the figure is our overhead: prompt, HTTP, grounding check), ratio to rules.

    python benchmarks/observe.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import FakeOllama  # noqa: E402
from vault_agent.cli.observe import _data_span  # noqa: E402
from vault_agent.llm import NoLLM  # noqa: E402
from vault_agent.llm.grounding import check  # noqa: E402
from vault_agent.observe import store as store_mod  # noqa: E402
from vault_agent.observe.observer import Observer  # noqa: E402
from vault_agent.sensors.replay import configure_node, replay  # noqa: E402
from vault_agent.vault import Vault  # noqa: E402

DATA = ROOT / "datasets" / "occupancy-detection"


def fresh(tmp: Path, name: str) -> Vault:
    v, _ = Vault.init(tmp / name, "office")
    for f in ("datatest.txt", "datatraining.txt"):
        replay(v, DATA / f, configure_node(v, DATA / f, "office"))
    return v


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        v = fresh(tmp, "rules")
        since, until = _data_span(v)
        obs = Observer(v, llm=NoLLM())
        n_windows = len(obs.windows(since, until))
        store_mod._CACHE.clear()
        t_rules, written = timed(lambda: obs.backfill(since, until))
        n_obs = sum(1 for p in written if "/observations/" in p)
        print(
            f"backfill, rules only: {n_windows} windows in {t_rules:.2f} s "
            f"= {n_windows / t_rules:.0f} windows/s; {n_obs} observations, "
            f"{len(written) - n_obs} day notes + memory files"
        )

        end = until.replace(minute=0, second=0)
        start = end - timedelta(hours=1)

        def live() -> None:
            o = Observer(v, llm=NoLLM())
            o.plan_window(start, end)

        live()  # warm
        warm = min(timed(live)[0] for _ in range(5))
        cold_runs = []
        for _ in range(3):
            store_mod._CACHE.clear()
            cold_runs.append(timed(live)[0])
        cold = min(cold_runs)
        print(
            f"live window (new Observer + plan): warm cache {warm * 1000:.0f} ms, "
            f"cold {cold * 1000:.0f} ms; cold/warm = {cold / warm:.1f}x"
        )

        v2 = fresh(tmp, "llm")
        with FakeOllama(
            replies=lambda req: req["json"]["messages"][-1]["content"].split("\n")[1][2:]
        ) as srv:  # echo the first fact's sentence
            cfg = v2.node_config()
            cfg["llm"].update(host=srv.url, timeout_s=5)
            v2.write_node_config(cfg)
            o2 = Observer(v2)
            store_mod._CACHE.clear()
            t_llm, written2 = timed(lambda: o2.backfill(since, until))
            calls = len(srv.chat_requests())
        models = {v2.read_observation(p).model for p in written2 if "/observations/" in p}
        print(
            f"backfill, ollama backend vs FakeOllama: {t_llm:.2f} s for {calls} LLM calls "
            f"({(t_llm - t_rules) / max(calls, 1) * 1000:.1f} ms overhead per call); "
            f"llm/rules = {t_llm / t_rules:.2f}x; models written: {sorted(models)}"
        )

        facts = [f for p in written if "/observations/" in p for f in [v.read_observation(p)]]
        bodies = [o.body for o in facts]
        from vault_agent.observe.facts import Fact

        sample = [
            Fact(
                d["kind"],
                d["sensor"],
                "",
                "",
                1,
                0.5,
                values={
                    k: str(x) for k, x in d.items() if k not in ("kind", "sensor", "unit", "also")
                },
            )
            for o in facts
            for d in o.extra["facts"][:1]
        ]
        t_check, _ = timed(
            lambda: [check(b, [f]) for _ in range(20) for b, f in zip(bodies, sample, strict=False)]
        )
        n = 20 * len(bodies)
        print(f"grounding check: {n / t_check:.0f} checks/s ({t_check / n * 1e6:.0f} µs each)")


if __name__ == "__main__":
    main()
