"""Replayed real data (datasets/) with known events yields observations about them.

- occupancy-detection (one office, 2015-02-02 … 02-10): the office is empty on the
  weekend of 7–8 February (lights off, CO2 at outdoor level), a recording gap on
  4 February 10:43–17:51, and a crowded Monday afternoon (CO2 near 2000 ppm on 9 Feb).
- room-occupancy-estimation (2017-12-22 … 26): people on 22–23 December, an almost
  empty room on Christmas Day.
Nights and routine days give no observations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.replayed import office_vault
from vault_agent.cli.observe import _data_span
from vault_agent.llm import NoLLM
from vault_agent.observe.observer import Observer
from vault_agent.sensors.replay import configure_node, replay
from vault_agent.vault import Vault, layout

DATA = Path(__file__).resolve().parent.parent / "datasets"
OFFICE = [
    DATA / "occupancy-detection" / "datatest.txt",
    DATA / "occupancy-detection" / "datatraining.txt",
]
ROOM = DATA / "room-occupancy-estimation" / "Occupancy_Estimation.csv"


def observe_all(v: Vault) -> list[tuple[str, dict]]:
    """Backfill over everything replayed; (window start, observation) pairs."""
    Observer(v, llm=NoLLM()).backfill(*_data_span(v))
    return [(o.window["start"], o) for _, o in v.iter_observations(v.node)]


def facts_of(obs) -> list[tuple[str, str]]:
    return [(f["sensor"], f["kind"]) for f in obs.extra["facts"]]


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> tuple[Vault, list]:
    v = office_vault(tmp_path_factory.mktemp("office") / "v")  # the files of OFFICE replayed
    return v, observe_all(v)


def at(observations, start: str):
    return [o for s, o in observations if s == start]


def test_weekend_absence_is_noticed(office) -> None:
    _, obs = office
    (sat7,) = at(obs, "2015-02-07T07:00:00Z")
    assert ("office-light", "level_low") in facts_of(sat7)
    assert "office-light averaged 0 lx between 07:00 and 08:00, lower than usual" in sat7.body
    (sat8,) = at(obs, "2015-02-07T08:00:00Z")
    assert ("office-co2", "level_low") in facts_of(sat8)
    # reported when it starts, not every hour of the weekend
    weekend = [o for s, o in obs if s.startswith(("2015-02-07", "2015-02-08"))]
    assert len(weekend) <= 10


def test_recording_gap_is_one_silent_note(office) -> None:
    _, obs = office
    (gap,) = at(obs, "2015-02-04T11:00:00Z")
    assert facts_of(gap) == [("office-co2", "silent")]
    assert len(gap.sensors) == 5 and gap.confidence == 0.9
    assert "last reading was at 10:45" in gap.body
    assert not [o for s, o in obs if "2015-02-04T12:00" <= s < "2015-02-04T17:00"]


def test_crowded_monday_afternoon(office) -> None:
    _, obs = office
    (mon,) = at(obs, "2015-02-09T16:00:00Z")
    assert ("office-co2", "level_high") in facts_of(mon)
    co2 = next(
        f for f in mon.extra["facts"] if f["kind"] == "level_high" and f["sensor"] == "office-co2"
    )
    assert int(co2["value"]) > 1900 and int(co2["usual"]) < 1000


def test_nights_are_quiet(office) -> None:
    _, obs = office
    nights = [s for s, _ in obs if "T00:00" <= s[10:] < "T06:00" and s[:10] != "2015-02-08"]
    assert nights == []
    # and the whole record is far from an observation per hour
    assert len(obs) < 60


def test_observations_are_well_formed(office) -> None:
    v, obs = office
    for _, o in obs:
        assert o.model == "rules/v1" and 0 < o.confidence < 1
        assert o.sources and all(v.path(s).is_file() for s in o.sources)
        assert o.sources[0].endswith(o.window["start"][:10] + ".jsonl")
        assert 1 <= len(o.body.split(". ")) <= 4


def test_day_notes_and_memory(office) -> None:
    v, obs = office
    text = v.path(layout.daily_path("office", layout.parse_iso("2015-02-07").date())).read_text()
    assert "| office-light | 0 lx | 00:00 |" in text
    assert text.count("../../../observations/2015/02/") == len(
        [s for s, _ in obs if s.startswith("2015-02-07")]
    )
    mems = list(v.iter_observations("office", sub="memory"))
    assert len(mems) >= 7
    last = mems[-1][1]
    assert last.extra["supersedes"] == mems[-2][1].id
    assert any("office-temperature: usually" in line for line in last.body.splitlines())
    light = [ln for ln in last.body.splitlines() if ln.startswith("- office-light: high")]
    assert light and "on weekdays" in light[0] and "no usual hour on weekends" in light[0]
    co2 = next(
        p
        for p in last.extra["patterns"]
        if p["sensor"] == "office-co2" and p["kind"] == "high-hours"
    )
    assert co2["weekends"]["active_days"] == 0 and co2["weekdays"]["usual_hours"]


def test_backfill_again_writes_nothing(office) -> None:
    v, obs = office
    assert Observer(v, llm=NoLLM()).backfill(*_data_span(v)) == []


def test_christmas_in_the_room_is_quiet(tmp_path) -> None:
    v, _ = Vault.init(tmp_path / "v", "s6")
    replay(v, ROOM, configure_node(v, ROOM, "S6"))
    obs = observe_all(v)
    xmas = [o for s, o in obs if s.startswith("2017-12-25")]
    kinds = [k for o in xmas for _, k in facts_of(o)]
    assert kinds.count("quieter") >= 2
    (noon,) = [o for s, o in obs if s == "2017-12-25T12:00:00Z"]
    assert (
        "No motion on s6-motion between 12:00 and 13:00, although 2 of the last 2 days" in noon.body
    )
    assert noon.confidence < 0.5  # only two baseline days
    # the busy days themselves (no baseline yet) and the nights give nothing but gaps
    early = [k for s, o in obs if s < "2017-12-24" for _, k in facts_of(o)]
    assert set(early) <= {"silent"}
