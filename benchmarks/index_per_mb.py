"""Index time per MB of one knowledge-base note (issue 19.4: size limits, index cost).

    python benchmarks/index_per_mb.py [--sizes 0.25,0.5,1] [--embedder minilm|hash]

For each size, a fresh vault holds one Markdown note of that many MB (prose built from
a fixed vocabulary, a heading every 200 words); the script times ``Indexer.update()``
(chunking, Whoosh, Chroma, embedding) and prints seconds and seconds per MB, plus the
chunk count. ``minilm`` is the real default embedder (the cost that matters on a
node); ``hash`` is the model-free feature-hashing embedder of ``index_scale.py``, to
separate the index machinery from the model. A note at the default 10 MiB limit costs
about ten times the 1 MB figure; the agent indexes on its own thread, so commits and
syncs never wait for it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from index_scale import HashEmbedder, vocabulary  # noqa: E402

from vault_agent.index.embedders import MiniLMEmbedder  # noqa: E402
from vault_agent.index.indexer import Indexer  # noqa: E402
from vault_agent.vault import Vault  # noqa: E402


def note_text(mb: float, rng: random.Random) -> str:
    """Markdown of about ``mb`` MB: a heading and 200 words per section."""
    words = vocabulary(2000, rng)
    out: list[str] = []
    size, section = 0, 0
    target = int(mb * 1e6)
    while size < target:
        section += 1
        body = " ".join(rng.choice(words) for _ in range(200)) + ".\n\n"
        head = f"## Section {section}\n\n"
        out += [head, body]
        size += len(head) + len(body)
    return "# Big note\n\n" + "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="0.25,0.5,1", help="note sizes in MB, comma-separated")
    ap.add_argument("--embedder", choices=["minilm", "hash"], default="minilm")
    args = ap.parse_args(argv)
    emb = MiniLMEmbedder() if args.embedder == "minilm" else HashEmbedder()
    rng = random.Random(7)
    print(f"embedder={args.embedder}")
    print(f"{'MB':>6} {'chunks':>7} {'seconds':>9} {'s/MB':>8}")
    for mb in (float(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            v, _ = Vault.init(Path(tmp) / "v", "bench")
            text = note_text(mb, rng)
            (v.root / "knowledge-base/big.md").write_text(text, "utf-8")
            real_mb = len(text.encode()) / 1e6
            t0 = time.perf_counter()
            rep = Indexer(v, embedder=emb).update()
            dt = time.perf_counter() - t0
            print(f"{real_mb:6.2f} {rep.total_chunks:7d} {dt:9.1f} {dt / real_mb:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
