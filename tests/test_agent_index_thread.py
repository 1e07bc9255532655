"""The agent's index runs on its own thread: embedding never holds up a commit (issue 19.4).

The embedder is the real Ollama client against the fake Ollama server, whose embedding
answers wait on an event the test holds: the index pass is provably still embedding
while the agent commits.
"""

from __future__ import annotations

import threading
import time

from tests.support import FakeOllama
from tests.test_sync_support import rollup
from vault_agent.agent.daemon import Agent, AgentOptions
from vault_agent.index.indexer import Indexer
from vault_agent.vault import Vault


def test_a_blocked_index_pass_does_not_hold_up_commits(tmp_path):
    gate = threading.Event()
    with FakeOllama(embed_gate=gate) as srv:
        v, _ = Vault.init(tmp_path / "v", "node-a")
        cfg = v.node_config()
        cfg["index"] = {"embedder": "ollama:nomic-embed-text", "ollama_host": srv.url}
        v.write_node_config(cfg)
        v.commit("index with ollama", "config")
        (v.root / "knowledge-base/big.md").write_text("# Big\n\nThe boiler note.\n" * 50)
        agent = Agent(v, AgentOptions(once=True, sync=False, observe=False, log_stderr=False))
        try:
            agent.housekeeping()  # commit (nothing of ours yet), then start the index pass
            assert agent._index_thread is not None and agent._index_thread.is_alive()
            deadline = time.monotonic() + 120
            while not any(r["path"] == "/api/embed" for r in srv.requests):
                assert time.monotonic() < deadline, "the index pass never asked for embeddings"
                time.sleep(0.1)
            v.append_rollups([rollup("node-a", i) for i in range(3)])
            assert agent.commit() is not None  # committed while the index waits on embeddings
            agent.housekeeping()  # a second pass does not start a second index run
            assert sum(t.name == "index" for t in threading.enumerate()) == 1
        finally:
            gate.set()
            agent._join_index(timeout=60)
        assert not agent._index_thread.is_alive()
    meta = Indexer(v).read_meta()
    assert meta is not None and "knowledge-base/big.md" in meta["hashes"]
