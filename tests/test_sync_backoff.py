"""Backoff: only an unreachable peer waits; a deadline from a wrong clock is ignored
(issue 19.7); ``vault sync`` reports a skipped peer with exit 1 and its next try, in
text and in --json alike (issue 14.4)."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from tests.test_sync_support import make_nodes
from vault_agent.cli import main
from vault_agent.sync import state as st
from vault_agent.sync.sync import sync_all
from vault_agent.vault.layout import iso, parse_iso


def _sync(v, *extra: str):
    return CliRunner().invoke(main, ["sync", "--vault", str(v.root), *extra])


def _hub_down(tmp_path):
    hub = tmp_path / "hub.git"
    hub.rename(tmp_path / "hub.away")
    return lambda: (tmp_path / "hub.away").rename(hub)


def test_a_deadline_set_while_the_clock_was_a_year_ahead_is_due(tmp_path):
    """The issue's scenario: hub down while the clock is a year ahead; the clock is
    corrected and the hub is back: the next sync must not wait a year."""
    (a,) = make_nodes(tmp_path, ["node-a"])
    hub_back = _hub_down(tmp_path)
    first = sync_all(a)
    assert first.peers[0].status == "unreachable"
    # the failure as computed by a clock one year ahead (the real PeerState code)
    ahead = st.now_utc() + timedelta(days=365)
    state = st.load(a)["hub"]
    st.update(a, "hub", state.failed(ahead, first.peers[0].error, reachable=False))
    assert parse_iso(st.load(a)["hub"].next_try) > st.now_utc() + timedelta(days=300)
    listed = CliRunner().invoke(main, ["peer", "list", "--vault", str(a.root), "--json"])
    assert json.loads(listed.output)[0]["next_try"] is None  # due, so no date is shown
    text = CliRunner().invoke(main, ["peer", "list", "--vault", str(a.root)]).output
    assert "unreachable, retried on the next sync" in text
    hub_back()
    a.write_file("knowledge-base/a.md", "# a\n")
    res = _sync(a)
    assert res.exit_code == 0, res.output
    assert "hub: ok" in res.output and "pushed" in res.output
    assert st.load(a)["hub"].next_try is None


def test_a_skipped_peer_exits_1_with_its_next_try_in_text_and_json(tmp_path):
    (a,) = make_nodes(tmp_path, ["node-a"])
    hub_back = _hub_down(tmp_path)
    res = _sync(a)
    assert res.exit_code == 1 and "hub: unreachable" in res.output
    nxt = st.load(a)["hub"].next_try
    assert parse_iso(nxt) - st.now_utc() <= timedelta(seconds=st.BACKOFF_BASE_S)
    hub_back()  # reachable again, but the backoff has not expired
    res = _sync(a)
    assert res.exit_code == 1, res.output
    assert f"hub: skipped, in backoff, next try {nxt} (--force to try now)" in res.output
    assert "last error: " in res.output and "does not exist" in res.output
    out = json.loads(_sync(a, "--json").output)
    assert out["ok"] is False
    (p,) = out["peers"]
    assert p["status"] == "skipped" and p["next_try"] == nxt
    assert "retried at " + nxt in p["note"]
    assert _sync(a, "--force").exit_code == 0


def test_due_treats_an_impossible_deadline_as_due():
    now = st.now_utc()
    soon = st.PeerState(next_try=iso(now + timedelta(seconds=st.BACKOFF_MAX_S - 60)))
    assert not soon.due(now)  # a real backoff is kept
    far = st.PeerState(next_try=iso(now + timedelta(seconds=st.BACKOFF_MAX_S + 60)))
    assert far.due(now)
    assert st.PeerState(next_try="not a time").due(now)
    assert st.PeerState(next_try=iso(now - timedelta(days=400))).due(now)


def test_a_lost_push_race_is_recorded_without_backoff():
    now = st.now_utc()
    s = st.PeerState(failures=2, next_try=None).failed(now, "rejected", True, backoff=False)
    assert s.next_try is None and s.due(now) and s.failures == 2 and s.last_error == "rejected"


def test_a_peer_that_answers_is_never_put_in_backoff(tmp_path):
    """Only real unreachability backs off: a refused peer is tried again next round."""
    from tests.test_sync_support import git
    from vault_agent.sync.peers import add_peer

    (a,) = make_nodes(tmp_path, ["node-a"])
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q", "-b", "main")
    (plain / "README.md").write_text("not a vault\n")
    git(plain, "add", "-A")
    git(plain, "commit", "-qm", "readme")
    add_peer(a, "plain", str(plain))
    for _ in range(2):
        by = {p.peer: p for p in sync_all(a).peers}
        assert by["plain"].status == "refused" and by["plain"].next_try is None
        assert by["hub"].status in ("ok", "up-to-date")
    assert st.load(a)["plain"].next_try is None and st.load(a)["plain"].reachable is True
