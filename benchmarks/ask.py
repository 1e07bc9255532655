"""Benchmark of ``vault ask`` on the bundled data: accuracy per question type with and
without an LLM, invented numbers, latency (cold CLI and warm in-process).

The question set and its truth (computed from the raw CSVs with csv/numpy, never through
the query layer) are in ``tests/support/ask_questions.py``. The LLM run uses the real
GGUF model when it is present (``$VAULT_TEST_GGUF`` or ``python -m tests.support.gguf``)
and ``xllamacpp`` is installed; otherwise it says so and skips.

Goals (issue 13): ≥ 95 % right without LLM, ≥ 90 % with, 0 invented numbers, cold
``vault ask`` without LLM ≤ 1 s p50.

Usage::

    python benchmarks/ask.py                 # builds a vault in a temporary folder
    python benchmarks/ask.py --vault /tmp/v  # reuse (or build once into) /tmp/v
    python benchmarks/ask.py --cold 20 --no-llm
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import ask_questions as AQ  # noqa: E402
from vault_agent.ask.ask import ask  # noqa: E402
from vault_agent.query import Store  # noqa: E402
from vault_agent.vault import Vault  # noqa: E402

LLM_TIMEOUT_S = 60  # [llm] timeout_s for the LLM run (a busy 2-core machine is slow)


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``xs``."""
    ys = sorted(xs)
    return ys[min(len(ys) - 1, max(0, round(p / 100 * len(ys) + 0.5) - 1))]


def find_gguf() -> Path | None:
    """The GGUF of the real-LLM tests, if present."""
    from tests.support.gguf import DEFAULT_PATH

    p = Path(os.environ.get("VAULT_TEST_GGUF") or DEFAULT_PATH)
    return p if p.is_file() else None


def run(root: Path, qs: list[AQ.Question], model: str | None) -> dict:
    """Ask every question in-process (one warm Store); per-type results and latencies."""
    v = Vault(root, "office")
    store = Store(root)
    per: dict[str, list[bool]] = defaultdict(list)
    lat: list[float] = []
    invented: list[tuple[str, list[float]]] = []
    wrong: list[str] = []
    rejected = 0
    for n, q in enumerate(qs, 1):
        t = time.perf_counter()
        res = ask(v, q.text, log=False, use_llm=model is not None, model=model, store=store)
        lat.append(time.perf_counter() - t)
        d = res.as_dict()
        ok, why = AQ.judge(q, d)
        if model:
            print(f"  {n}/{len(qs)} {lat[-1]:.1f} s ok={ok} llm={d['llm']}", file=sys.stderr)
        per[q.type].append(ok)
        if not ok:
            wrong.append(f"  [{q.type}] {q.text} → {d['answer'][:160]!r} ({why})")
        bad = AQ.invented(d, q.text)
        if bad:
            invented.append((q.text, bad))
        if model and d["route"] == "sensor" and not d["llm"] and not d["no_data"]:
            rejected += 1
    return {"per": per, "lat": lat, "invented": invented, "wrong": wrong, "rejected": rejected}


def cold(root: Path, qs: list[AQ.Question], n: int) -> list[float]:
    """Wall seconds of ``vault ask --no-llm --no-log --json`` in a new process, n questions."""
    out = []
    for q in qs[:n]:
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "vault_agent.cli",
                "ask",
                q.text,
                "--vault",
                str(root),
                "--no-llm",
                "--no-log",
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        out.append(time.perf_counter() - t)
    return out


def help_times(n: int) -> list[float]:
    """Wall seconds of ``vault --help`` (the CLI's own start-up), n times."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "vault_agent.cli", "--help"], check=True, capture_output=True
        )
        out.append(time.perf_counter() - t)
    return out


def report(name: str, r: dict) -> None:
    print(f"\n== {name} ==")
    total = [x for v in r["per"].values() for x in v]
    for t in AQ.TYPES:
        xs = r["per"].get(t, [])
        if xs:
            print(f"  {t:<12} {sum(xs):>3}/{len(xs):<3} {100 * sum(xs) / len(xs):5.1f} %")
    print(f"  {'all':<12} {sum(total):>3}/{len(total):<3} {100 * sum(total) / len(total):5.1f} %")
    n_inv = sum(len(b) for _, b in r["invented"])
    print(f"  invented numbers: {n_inv}")
    for text, bad in r["invented"]:
        print(f"    {text}: {bad}")
    if r["rejected"]:
        print(f"  LLM phrasings rejected (computed sentence kept): {r['rejected']}")
    lat = r["lat"]
    print(f"  warm latency: p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms")
    for w in r["wrong"]:
        print(w)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vault", type=Path, help="vault folder to reuse or build into")
    ap.add_argument("--cold", type=int, default=10, help="questions timed as a new process")
    ap.add_argument("--no-llm", action="store_true", help="skip the run with the LLM")
    ap.add_argument("--llm-only", action="store_true", help="only the run with the LLM")
    ap.add_argument(
        "--llm-questions", type=int, default=0, help="LLM run on every n-th question only"
    )
    args = ap.parse_args()
    tmp = None
    root = args.vault
    if root is None:
        tmp = tempfile.TemporaryDirectory()
        root = Path(tmp.name) / "vault"
    if not (root / "vault.toml").is_file():
        t = time.perf_counter()
        AQ.build_vault(root)
        print(f"built the vault in {time.perf_counter() - t:.1f} s at {root}")
    qs = AQ.questions(root)
    counts = {t: sum(q.type == t for q in qs) for t in AQ.TYPES}
    print(f"{len(qs)} questions: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if not args.llm_only:
        report("without LLM", run(root, qs, None))
        c = cold(root, qs, args.cold)
        h = help_times(len(c))
        print(
            f"\ncold CLI (vault ask --no-llm, new process, {len(c)} questions): "
            f"p50 {pct(c, 50) * 1000:.0f} ms, p95 {pct(c, 95) * 1000:.0f} ms"
            f"\n  baseline on this machine now, vault --help: p50 {pct(h, 50) * 1000:.0f} ms"
        )
    if args.no_llm:
        return
    gguf = find_gguf()
    if gguf is None or importlib.util.find_spec("xllamacpp") is None:
        print(
            "\n== with LLM == skipped: no GGUF model or no xllamacpp "
            "(pip install 'vault-agent[llamacpp]'; python -m tests.support.gguf)"
        )
        return
    model = f"llamacpp:{gguf}"
    v = Vault(root, "office")
    cfg = v.node_config()
    cfg["llm"] = {**cfg.get("llm", {}), "timeout_s": LLM_TIMEOUT_S}
    v.write_node_config(cfg)
    t = time.perf_counter()
    for _ in range(3):  # the first call starts loading the model; wait until it answers
        if ask(v, qs[0].text, log=False, model=model).llm_ok:
            break
    print(f"\nmodel loaded and first answer in {time.perf_counter() - t:.1f} s")
    sub = qs[:: args.llm_questions] if args.llm_questions > 1 else qs
    report(f"with LLM (llamacpp/{gguf.name}, {len(sub)} questions)", run(root, sub, model))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
