"""A peer's clock cannot poison sync (issue 14.3): HLC stamps planted through a real hub.

The attacker is a plain ``git`` clone of the hub appending a crafted rollup line to the
rollup file of its own node (node-m), exactly as a peer with a broken clock would write
it. The victim (node-b) must keep syncing, keep the record, flag it, and keep its own
clock within a day of its wall clock.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from tests.test_sync_support import T0, git, make_nodes, rollup, snapshot
from vault_agent.cli import main
from vault_agent.sync import state as st
from vault_agent.sync.sync import sync_all
from vault_agent.vault import Vault
from vault_agent.vault.hlc import Timestamp
from vault_agent.vault.layout import rollup_path

NINE = "99991231T235959.999Z-0000"
Y2099 = "20990101T000000.000Z-0000"
GARBAGE = "yesterday-ish;rm -rf /"
DAY_MS = 86_400_000


def _setup(tmp_path):
    a, b = make_nodes(tmp_path, ["node-a", "node-b"])
    m, _ = Vault.init(tmp_path / "node-m", "node-m", from_url=str(tmp_path / "hub.git"))
    m.append_rollups([rollup("node-m", 0)])
    assert sync_all(m).ok and sync_all(a).ok and sync_all(b).ok
    clone = tmp_path / "mallory"
    git(tmp_path, "clone", "-q", str(tmp_path / "hub.git"), str(clone))
    return a, b, clone


def _plant(clone, hlc_json: str) -> tuple[str, bytes]:
    """Append one node-m rollup line whose ``hlc`` is ``hlc_json`` (raw JSON text)."""
    rel = rollup_path("node-m", T0.date())
    d = json.loads(rollup("node-m", 1).to_json())
    line = json.dumps(d, separators=(",", ":"))[:-1] + f',"hlc":{hlc_json}}}\n'
    with open(clone / rel, "a") as fh:
        fh.write(line)
    git(clone, "commit", "-qam", "append\n\nVault-Node: node-m\nVault-Kind: rollup")
    git(clone, "push", "-q", "origin", "main")
    return rel, line.encode()


def _year(stamp: str) -> int:
    return Timestamp.parse(stamp).wall().year


@pytest.mark.parametrize(
    ("stamp", "flag"),
    [(NINE, "ahead"), (Y2099, "ahead"), (GARBAGE, "unparsable"), ("", None)],
    ids=["year-9999", "year-2099", "garbage", "empty"],
)
def test_a_peers_stamp_never_moves_the_clock_and_sync_goes_on(tmp_path, stamp, flag):
    a, b, clone = _setup(tmp_path)
    rel, line = _plant(clone, json.dumps(stamp))
    wall_before = int(time.time() * 1000)

    report = sync_all(b)
    assert report.ok, report.as_dict()
    assert line in (b.root / rel).read_bytes()  # the record is kept
    flags = [f for p in report.peers for f in p.flagged]
    if flag is None:  # no stamp claimed: nothing to adopt, nothing to flag
        assert flags == []
    else:
        assert [(f.path, f.hlc, f.reason) for f in flags] == [(rel, stamp, flag)]
        recorded = [json.loads(x) for x in st.flags_file(b).read_text().splitlines()]
        assert [(r["peer"], r["path"], r["hlc"]) for r in recorded] == [("hub", rel, stamp)]
    # the clock was not dragged: the next stamp is within a day of the wall clock
    nxt = Timestamp.parse(b.hlc.now())
    assert wall_before <= nxt.physical < wall_before + DAY_MS
    # and every later round of every node still works
    b.append_rollups([rollup("node-b", 1)])
    assert sync_all(b).ok
    first_a = sync_all(a)  # a receives the line now: flagged the same way
    assert first_a.ok and len(first_a.flagged) == (0 if flag is None else 1)
    for v in (a, b):  # a stamp is flagged once, when it arrives
        again = sync_all(v)
        assert again.ok and again.flagged == (), again.as_dict()
    assert snapshot(a) == snapshot(b)
    own = list(b.iter_rollups("node-b"))
    assert own and all(_year(r.hlc) == datetime.now(UTC).year for r in own)


def test_a_stamp_within_max_skew_is_adopted_and_the_limit_is_configurable(tmp_path):
    a, b, clone = _setup(tmp_path)
    soon = str(Timestamp(int(time.time() * 1000) + 2 * 3_600_000, 5))  # 2 h ahead
    _plant(clone, json.dumps(soon))
    report = sync_all(b)
    assert report.ok and report.flagged == ()
    assert b.hlc.now() > soon  # adopted: b's next stamp is after it

    # a node that allows only 60 s of skew flags both stamps when they reach it
    a.write_node_config({**a.node_config(), "sync": {"max_skew_s": 60}})
    a.commit("tight skew", "config")
    later = str(Timestamp(int(time.time() * 1000) + 2 * 3_600_000, 9))
    rel, _ = _plant(clone, json.dumps(later))
    report = sync_all(a)
    assert report.ok
    assert sorted((f.hlc, f.reason) for f in report.flagged) == [
        (soon, "ahead"),
        (later, "ahead"),
    ]
    assert a.hlc.now() < soon  # neither adopted


def test_vault_sync_json_and_text_show_the_flag(tmp_path):
    _, b, clone = _setup(tmp_path)
    rel, _ = _plant(clone, json.dumps(NINE))
    res = CliRunner().invoke(main, ["sync", "--vault", str(b.root), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["ok"] is True
    assert [(f["path"], f["hlc"], f["reason"]) for f in out["flagged"]] == [(rel, NINE, "ahead")]
    assert out["flagged"][0]["ahead_s"] > 365 * 86400
    _plant(clone, json.dumps(Y2099))
    res = CliRunner().invoke(main, ["sync", "--vault", str(b.root)])
    assert res.exit_code == 0, res.output
    assert "1 stamp(s) flagged" in res.output
    assert f"flagged: {rel}: hlc '{Y2099}' is" in res.output
    assert "record kept, clock not moved" in res.output
