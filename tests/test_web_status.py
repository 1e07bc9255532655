"""Node status (vault_agent.query.status) over real vaults synced through a real bare hub.

Truth comes from the files themselves (JSON lines parsed here, os.walk sizes, the pid of
this test process), never from the code under test.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.support.core_fixtures import commit_times
from tests.test_sync_support import T0, make_nodes, rollup
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
    # node-a committed at the real time, later than this 2025 "now": up, clock ahead
    assert not na.local and na.agent == "up" and "ahead of this clock" in na.agent_text
    assert na.peers == ()
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


def newest_commit_of(v, node: str) -> datetime:
    """Commit time of the newest commit whose ``Vault-Node`` trailer is ``node`` (plain git)."""
    return next(t for t, n in commit_times(v.root) if n == node)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_other_nodes_agent_state_from_synced_evidence(tmp_path):
    """Issue 17: another node's agent is judged from what it wrote that reached this copy
    (its newest commit, the HLC stamps of its newest rollup lines), never just "unknown"."""
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    old_stamp = "20251014T100500.000Z-0000"  # a line stamped long ago: the commit is newer
    a.append_rollups([replace(rollup("node-a", i), hlc=old_stamp) for i in range(3)])
    a.commit("readings", "rollup")
    assert sync_all(a).ok and sync_all(b).ok

    committed = newest_commit_of(b, "node-a")
    real_now = datetime.now(UTC)
    na = {n.node: n for n in vault_status(b, now=real_now).nodes}["node-a"]
    assert na.last_write == iso(committed)
    assert na.agent == "up" and na.agent_text.startswith("up (last write ")
    assert na.agent_text.endswith(" s ago)") or na.agent_text.endswith(" min ago)")

    # a later line stamped two hours from now (its clock ahead of its commit): the stamp wins
    stamp_t = (real_now + timedelta(hours=2)).replace(microsecond=0)
    stamp = stamp_t.strftime("%Y%m%dT%H%M%S") + ".000Z-0003"
    a.append_rollups([replace(rollup("node-a", 3), hlc=stamp)])
    a.commit("more readings", "rollup")
    assert sync_all(a).ok and sync_all(b).ok
    by = {n.node: n for n in vault_status(b, now=stamp_t + timedelta(minutes=10)).nodes}
    assert by["node-a"].last_write == iso(stamp_t)
    assert by["node-a"].agent_text == "up (last write 10 min ago)"

    # three hours on: stale, since the minute of that last write
    late = {n.node: n for n in vault_status(b, now=stamp_t + timedelta(hours=3)).nodes}
    assert late["node-a"].agent == "stale"
    assert late["node-a"].agent_text == f"stale since {stamp_t:%Y-%m-%d %H:%M} UTC"
    # the threshold is a parameter: with a four-hour window the same write is "up"
    wide = vault_status(b, now=stamp_t + timedelta(hours=3), up_within_s=4 * 3600)
    assert {n.node: n.agent for n in wide.nodes}["node-a"] == "up"

    # this node: its own lock file decides (no agent here), with its last write in words
    nb = by["node-b"]
    assert nb.local and nb.agent == "stopped" and nb.agent_text.startswith("not running")
    assert nb.last_write == iso(newest_commit_of(b, "node-b"))

    # a node folder nothing has been written to (not committed, no rollups): unknown
    (b.root / "agents" / "node-c").mkdir()
    nc = {n.node: n for n in vault_status(b).nodes}["node-c"]
    assert nc.agent == "unknown" and nc.last_write is None and nc.stale


def test_last_sync_and_last_seen(tmp_path):
    """Last sync: this node's from sync state (a fast-forward sync makes no merge commit),
    another node's from its newest merge commit; last seen: reading or observation."""
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    a.append_rollups([rollup("node-a", i) for i in range(4)])
    a.commit("readings", "rollup")
    assert sync_all(a).ok
    b.append_rollups([rollup("node-b", i) for i in range(2)])
    b.commit("readings b", "rollup")
    assert sync_all(b).ok  # b merges a's commit: a merge commit by node-b
    assert sync_all(a).ok  # a fast-forwards to b's merge: no merge commit by node-a

    peers = json.loads((a.root / ".vault" / "sync" / "peers.json").read_text())
    by = {n.node: n for n in vault_status(a).nodes}
    assert by["node-a"].last_sync == max(p["last_success"] for p in peers.values())
    merge_t = next(t for t, n in commit_times(a.root, "--merges") if n == "node-b")
    assert by["node-b"].last_sync == iso(merge_t)
    ends = [(T0 + timedelta(seconds=300 * (i + 1))) for i in range(4)]
    assert by["node-a"].last_seen == iso(max(ends)) == by["node-a"].last_reading
