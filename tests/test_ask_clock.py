"""What an answer says about its times is true, and a when-question gets times.

- The bundled office data holds Belgian wall-clock times. Replayed as recorded (the
  default), the vault stores them unconverted and an answer says so; replayed with
  ``--tz Europe/Brussels`` they become real UTC and the answer says UTC, one hour
  earlier in February (CET = UTC+1). Truth: the CSV read with the csv module.
- "When was there motion…" is answered with the periods, "Was there motion…" with a
  yes/no verdict first.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from vault_agent.cli import main
from vault_agent.sensors.replay import configure_node, replay
from vault_agent.vault import Vault

DATA = Path(__file__).resolve().parent.parent / "datasets"
OFFICE_TEST = DATA / "occupancy-detection" / "datatest.txt"
ROOM = DATA / "room-occupancy-estimation" / "Occupancy_Estimation.csv"
Q_MAX = "What was the highest CO2 in the office on 2015-02-03?"


def office_max_co2(day: str) -> tuple[float, list[datetime]]:
    """Highest CO2 of ``day`` in datatest.txt and the wall-clock times it was read."""
    with OFFICE_TEST.open(newline="") as f:
        rows = csv.reader(f)
        next(rows)  # one field short of the rows (a leading row id)
        got = [(datetime.fromisoformat(r[1]), float(r[5])) for r in rows if r[1].startswith(day)]
    top = max(v for _, v in got)
    return top, [t for t, v in got if v == top]


def ask_json(root: Path, q: str) -> dict:
    res = CliRunner().invoke(main, ["ask", q, "--vault", str(root), "--json", "--no-log"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def office_vault(tmp_path: Path, tz: str | None) -> Vault:
    v, _ = Vault.init(tmp_path / (tz or "local").replace("/", "-"), "office")
    replay(v, OFFICE_TEST, configure_node(v, OFFICE_TEST, "office", tz), tz=tz)
    return v


def test_replayed_local_times_are_named_as_the_recordings_clock(tmp_path):
    v = office_vault(tmp_path, None)
    assert v.node_config()["replay"] == {"times": "local", "zone": "Europe/Brussels"}
    top, times = office_max_co2("2015-02-03")
    d = ask_json(v.root, Q_MAX)
    assert d["facts"][0]["value"] == pytest.approx(top, abs=0.01)
    assert any(f"at {t:%H:%M}" in d["answer"] for t in times)  # the CSV's own clock
    assert d["answer"].endswith(
        "(Times are local time in Europe/Brussels, as the recording wrote them.)"
    )
    assert "Times in UTC" not in d["answer"]


def test_replay_converted_with_tz_answers_in_utc(tmp_path):
    v = office_vault(tmp_path, "Europe/Brussels")
    assert v.node_config()["replay"] == {"times": "utc", "zone": "Europe/Brussels"}
    top, times = office_max_co2("2015-02-03")
    d = ask_json(v.root, Q_MAX)
    assert d["facts"][0]["value"] == pytest.approx(top, abs=0.01)
    # CET is UTC+1 in February: the same reading, one hour earlier in UTC
    assert any(f"at {t - timedelta(hours=1):%H:%M}" in d["answer"] for t in times)
    assert d["answer"].endswith("(Times in UTC.)")


def test_the_replay_cli_records_the_clock(tmp_path):
    v, _ = Vault.init(tmp_path / "v", "office")
    res = CliRunner().invoke(
        main, ["replay", str(OFFICE_TEST), "--vault", str(v.root), "--tz", "Europe/Brussels"]
    )
    assert res.exit_code == 0, res.output
    assert v.node_config()["replay"] == {"times": "utc", "zone": "Europe/Brussels"}
    assert "times:" not in res.stdout  # real UTC: nothing to say
    w, _ = Vault.init(tmp_path / "w", "office")
    res = CliRunner().invoke(main, ["replay", str(OFFICE_TEST), "--vault", str(w.root)])
    assert res.exit_code == 0, res.output
    assert (
        "times: local time in Europe/Brussels, as the recording wrote them "
        "(stored as if UTC; --tz Europe/Brussels converts them to UTC)"
    ) in res.stdout


@pytest.fixture(scope="module")
def room(tmp_path_factory) -> Vault:
    v, _ = Vault.init(tmp_path_factory.mktemp("room") / "v", "room-s6")
    replay(v, ROOM, configure_node(v, ROOM, "S6"))
    return v


def motion_windows(day: str) -> list[datetime]:
    """5-minute window starts with an S6_PIR = 1 reading on ``day`` (the CSV's clock)."""
    out = set()
    with ROOM.open(newline="") as f:
        for r in csv.DictReader(f):
            t = datetime.strptime(f"{r['Date']} {r['Time']}", "%d-%m-%Y %H:%M:%S")
            if t.date().isoformat() == day and r["S6_PIR"] == "1":
                out.add(t.replace(minute=t.minute // 5 * 5, second=0))
    return sorted(out)


def test_a_when_question_gets_times_not_a_verdict(room):
    d = ask_json(room.root, "When was there motion in the room on 2017-12-22?")
    assert d["verdict"] is None
    assert d["answer"].startswith("s6-motion saw motion on 2017-12-22 in "), d["answer"]
    first = motion_windows("2017-12-22")[0]
    assert f": {first:%H:%M}–" in d["answer"]
    assert d["answer"].endswith(
        "(Times are local time in Asia/Kolkata, as the recording wrote them.)"
    )


def test_a_yes_no_question_gets_its_verdict_first(room):
    d = ask_json(room.root, "Was there motion in the room on 2017-12-22?")
    assert d["verdict"] is True and d["answer"].startswith("Yes: s6-motion saw motion")


def test_an_llm_may_not_negate_the_periods_of_a_when_question(room):
    from vault_agent.ask.answer import meaning_lost
    from vault_agent.ask.ask import ask

    c = ask(room, "When was there motion in the room on 2017-12-22?", log=False).computed
    assert c is not None and c.verdict is None
    assert meaning_lost("There was no motion in the room that day.", c)
    assert meaning_lost("The room saw motion from 10:50 to 12:45.", c) == ""


def test_the_note_names_each_clock_when_they_differ(tmp_path):
    """A live node (real UTC) and a replayed one in one vault; then a vault zone."""
    from vault_agent.ask.facts import times_note

    v = office_vault(tmp_path, None)
    assert times_note(v.root, ["office"], "UTC") == (
        "Times are local time in Europe/Brussels, as the recording wrote them."
    )
    assert times_note(v.root, ["live", "office"], "UTC") == (
        "Times in UTC; office's are local time in Europe/Brussels, as the recording wrote them."
    )
    assert times_note(v.root, ["office"], "Asia/Tokyo") == (
        "Times in Asia/Tokyo, converted from the stored times; office's are local time in "
        "Europe/Brussels, as the recording wrote them, stored as if UTC."
    )
    assert times_note(v.root, ["live"], "UTC") == "Times in UTC."
