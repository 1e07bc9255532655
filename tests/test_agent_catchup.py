"""The agent catches up the day notes and memory of the days it was down, at start."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support import rollups as R
from vault_agent.agent.catchup import catchup_limit, last_day_note, missing_days
from vault_agent.agent.daemon import Agent, AgentOptions
from vault_agent.errors import RecordError
from vault_agent.observe.observer import Observer
from vault_agent.vault import Vault, layout

NODE = "alpaca-1"
PERSON_NOTE = "# My own note\n\nWritten by hand; the agent must keep it.\n"


def today() -> date:
    return datetime.now(UTC).date()


def midnight(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), UTC)


def temperature(t: datetime) -> float:
    return 21.0 + 2.0 * math.sin(2 * math.pi * (t.hour * 60 + t.minute) / 1440)


def morning(t: datetime) -> int:
    return 2 if 7 <= t.hour < 9 else 0


def make_vault(root, days_back: list[int], note_back: int | None = 4) -> Vault:
    """A vault whose rollups cover the days ``today - k`` (k in days_back), with a
    hand-written day note ``note_back`` days ago, everything committed."""
    v, _ = Vault.init(root, NODE)
    cfg = v.node_config()
    cfg["llm"] = {"backend": "none"}
    v.write_node_config(cfg)
    for k in sorted(days_back, reverse=True):
        t0 = midnight(today() - timedelta(days=k))
        t1 = t0 + timedelta(days=1)
        v.append_rollups(
            R.numeric(NODE, "hall-temp", t0, t1, temperature)
            + R.binary(NODE, "hall-motion", t0, t1, morning)
        )
    if note_back is not None:
        v.write_file(layout.daily_path(NODE, today() - timedelta(days=note_back)), PERSON_NOTE)
    v.commit("set up", "config")
    return v


def run_agent(v: Vault, **kw) -> int:
    return Agent(v, AgentOptions(once=True, sync=False, index=False, log_stderr=False, **kw)).run()


def notes(v: Vault) -> set[date]:
    return {
        today() - timedelta(days=k)
        for k in range(30)
        if v.path(layout.daily_path(NODE, today() - timedelta(days=k))).exists()
    }


def ago(*ks: int) -> set[date]:
    return {today() - timedelta(days=k) for k in ks}


def files(v: Vault) -> dict[str, bytes]:
    base = v.path(layout.node_dir(NODE))
    return {
        str(p.relative_to(base)): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and "local-cache" not in p.parts
    }


def without_hlc(text: bytes) -> list[bytes]:
    return [line for line in text.split(b"\n") if not line.startswith(b"hlc: ")]


def test_restart_after_days_catches_up_notes_and_memory_and_commits(tmp_path):
    v = make_vault(tmp_path / "v", [6, 5, 4, 3, 2, 1])
    person = v.path(layout.daily_path(NODE, today() - timedelta(days=4)))
    assert run_agent(v) == 0
    # the 3 days after the last note; not the days before it, not today (still open)
    assert notes(v) == ago(4, 3, 2, 1)
    assert person.read_text() == PERSON_NOTE
    memories = v.observation_files(NODE, "memory")
    assert len(memories) == 3
    mem = v.read_observation(memories[-1])
    # the newest memory note describes yesterday, dated at its last second
    assert mem.created == layout.iso(midnight(today()) - timedelta(seconds=1))
    assert mem.extra["day"] == (today() - timedelta(days=1)).isoformat()
    assert "supersedes" in mem.extra
    note = v.path(layout.daily_path(NODE, today() - timedelta(days=1))).read_text()
    assert "| hall-temp |" in note and "| hall-motion |" in note and "## Memory" in note
    assert [p for p in v.pending() if p.startswith(f"agents/{NODE}/")] == []
    messages = [c.message for c in v.repo.walk(v.head())]
    assert sum("catch up 3 day(s) after downtime" in m for m in messages) == 1
    log = (v.cache_dir() / "agent.log").read_text()
    assert "event=catchup days=3 " in log

    before, head_before = files(v), v.head()
    assert run_agent(v) == 0
    assert files(v) == before
    assert v.head() == head_before
    assert "event=catchup days=0 " in (v.cache_dir() / "agent.log").read_text()


def test_catch_up_writes_what_vault_observe_writes(tmp_path):
    """Same files, same bytes, as the observer's backfill (what `vault observe` runs)."""
    caught = make_vault(tmp_path / "a", [4, 3, 2, 1])
    manual = make_vault(tmp_path / "b", [4, 3, 2, 1])
    assert run_agent(caught) == 0
    Observer(manual).backfill(midnight(today() - timedelta(days=3)), midnight(today()))
    # After 01:00 UTC the agent also observes today's closed hours (its sensors went
    # silent at midnight): that is the live observer's work, not the catch-up's.
    live = f"/{today():%Y%m%d}T"
    a = {k: x for k, x in files(caught).items() if live not in k}
    b = files(manual)
    assert sorted(a) == sorted(b)
    daily = [k for k in a if k.startswith("daily/")]
    assert len(daily) == 4
    written = daily + [k for k in a if k.startswith(("memory/", "observations/"))]
    assert len(written) > len(daily)
    for k in written:  # the HLC stamp is the time of writing: it is all that may differ
        assert without_hlc(a[k]) == without_hlc(b[k]), k


@pytest.mark.parametrize(
    ("where", "limit", "expected"),
    [
        ("options", 2, (2, 1)),
        ("node.toml", 2, (2, 1)),
        ("options", 0, (1,)),  # off: only the live observer's usual close of yesterday
    ],
)
def test_limit_respected(tmp_path, where, limit, expected):
    v = make_vault(tmp_path / "v", [6, 5, 4, 3, 2, 1], note_back=None)
    kw = {}
    if where == "options":
        kw["catchup_days"] = limit
    else:
        cfg = v.node_config()
        cfg["observer"] = {"catchup_days": limit}
        v.write_node_config(cfg)
        v.commit("limit", "config")
    assert run_agent(v, **kw) == 0
    assert notes(v) == ago(*expected)


def test_default_limit_is_fourteen_days(tmp_path):
    v = make_vault(tmp_path / "v", [16, 15, 14, 13], note_back=None)
    assert catchup_limit(v) == 14
    assert missing_days(v, today(), catchup_limit(v)) == sorted(ago(14, 13))


def test_days_without_rollups_get_nothing(tmp_path):
    v = make_vault(tmp_path / "v", [4, 3, 1])
    assert run_agent(v) == 0
    assert notes(v) == ago(4, 3, 1)  # no rollups 2 days ago: no note, as the observer does
    assert "event=catchup days=2 " in (v.cache_dir() / "agent.log").read_text()


def test_last_day_note_ignores_conflict_copies_and_other_files(tmp_path):
    v = make_vault(tmp_path / "v", [], note_back=5)
    d = v.path(layout.daily_path(NODE, today() - timedelta(days=5))).parent
    (d / "notes.md").write_text("x\n")
    (d.parent.parent / "2999-01-01.md").write_text("misplaced\n")
    assert last_day_note(v) == today() - timedelta(days=5)


@pytest.mark.parametrize("bad", [-1, "3", 1.5, True])
def test_bad_catchup_days_names_node_toml(tmp_path, bad):
    v = make_vault(tmp_path / "v", [], note_back=None)
    cfg = v.node_config()
    cfg["observer"] = {"catchup_days": bad}
    v.write_node_config(cfg)
    with pytest.raises(RecordError, match="node.toml.*catchup_days"):
        catchup_limit(v)
