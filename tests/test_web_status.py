"""Node status (vault_agent.query.status) over real vaults synced through a real bare hub.

Truth comes from the files themselves (JSON lines parsed here, os.walk sizes, the pid of
this test process), never from the code under test.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from tests.test_sync_support import make_nodes, rollup
from vault_agent.query.status import node_status, vault_status
from vault_agent.sync.sync import sync_all


def newest_end(v, node: str) -> str:
    """Max ``end`` over the node's newest day file(s), parsed here."""
    files = sorted((v.root / "agents" / node / "sensors").rglob("*.jsonl"))
    day = max(f.name for f in files)
    ends = [
        json.loads(line)["end"]
        for f in files
        if f.name == day
        for line in f.read_text().splitlines()
        if line.strip()
    ]
    return max(ends)


def test_status_of_two_synced_nodes(tmp_path):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    a.append_rollups([rollup("node-a", i) for i in range(30)])
    a.append_rollups([rollup("node-a", i, sensor="hall-temp", value=19.0) for i in range(12)])
    a.commit("readings", "rollup")
    assert sync_all(a).ok
    b.append_rollups([rollup("node-b", i) for i in range(3)])
    assert sync_all(b).ok

    end_a = newest_end(b, "node-a")
    t_end = datetime.fromisoformat(end_a.replace("Z", "+00:00"))
    now = t_end + timedelta(minutes=10)
    st = vault_status(b, now=now, stale_after_s=3600)
    by = {n.node: n for n in st.nodes}
    assert set(by) == {"node-a", "node-b"}
    na, nb = by["node-a"], by["node-b"]
    assert na.last_reading == end_a and na.sensors == 2
    assert na.age_s == 600 and not na.stale
    assert not na.local and na.agent == "unknown" and na.peers == ()
    assert na.last_commit is not None
    assert nb.local and nb.last_reading == newest_end(b, "node-b")
    assert [p.name for p in nb.peers] == ["hub"]
    hub = nb.peers[0]
    assert hub.last_success is not None and hub.last_error is None
    assert (hub.ahead, hub.behind) == (0, 0)  # b pushed everything it had

    later = vault_status(b, now=t_end + timedelta(hours=2), stale_after_s=3600)
    assert {n.node: n.stale for n in later.nodes} == {"node-a": True, "node-b": True}

    walked = sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(b.root) for f in fs)
    assert st.disk["total"] == walked and 0 < st.disk["git"] < walked
    assert st.as_dict()["nodes"][0]["node"] == "node-a"  # JSON-ready


def test_local_agent_errors_and_conflicts(tmp_path):
    (a,) = make_nodes(tmp_path, ["node-a"])
    cache = a.cache_dir()
    (cache / "agent.lock").write_text(f"{os.getpid()}\n")
    (cache / "agent-state.json").write_text(
        json.dumps(
            {
                "started": "2025-10-14T10:00:00Z",
                "last": {"sample": "2025-10-14T10:05:00Z"},
                "errors": {"sync": 2},
            }
        )
    )
    (cache / "agent.log").write_text(
        "2025-10-14 10:00:01 level=INFO logger=x event=start\n"
        "2025-10-14 10:01:00 level=WARNING logger=x event=sync_failed error='no route'\n"
    )
    a.write_file("knowledge-base/n.sync-conflict-20251014-100000-node-z.md", "theirs\n")
    a.write_file("knowledge-base/m.sync-conflict-20251014-100000-node-a.md", "ours\n")
    s = node_status(a, "node-a", now=datetime(2025, 10, 14, 11, tzinfo=UTC))
    assert s.agent == "running" and s.agent_pid == os.getpid()
    assert s.agent_started == "2025-10-14T10:00:00Z"
    assert s.agent_last == {"sample": "2025-10-14T10:05:00Z"}
    assert s.agent_errors == {"sync": 2}
    assert len(s.errors) == 1 and "event=sync_failed" in s.errors[0]
    assert s.conflicts == 1  # the copy node-a wrote; node-z's is node-z's
    assert s.last_reading is None and s.stale

    (cache / "agent.lock").write_text("999999999\n")  # a pid that cannot exist
    assert node_status(a, "node-a").agent == "stopped"


def test_unknown_node_names_the_known_ones(tmp_path):
    (a,) = make_nodes(tmp_path, ["node-a"])
    try:
        node_status(a, "nope")
    except KeyError as e:
        assert "node-a" in str(e)
    else:
        raise AssertionError("no KeyError")
