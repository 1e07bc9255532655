"""An observation's window is labelled the same way (start–end, UTC) in
`vault observations` and in the day note."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.test_agent_catchup import make_vault, midnight, today
from vault_agent.cli import main
from vault_agent.observe.daynote import write_day_note
from vault_agent.vault import layout


def test_observation_window_label_is_start_end_everywhere(tmp_path):
    v = make_vault(tmp_path / "v", [1], note_back=None)
    day = today() - timedelta(days=1)
    t0 = midnight(day)
    labels = set()
    for h in (7, 12):
        s, e = t0 + timedelta(hours=h), t0 + timedelta(hours=h + 1)
        v.write_observation(
            f"Motion on hall-motion at {h:02d}:00.",
            sensors=["hall-motion"],
            window={"start": layout.iso(s), "end": layout.iso(e)},
            confidence=0.6,
            created=e,
        )
        labels.add(f"{s:%H:%M}–{e:%H:%M}")  # truth: the window we wrote
    r = CliRunner().invoke(
        main,
        [
            "observations",
            "--vault",
            str(v.root),
            "--since",
            day.isoformat(),
            "--until",
            day.isoformat(),
        ],
    )
    assert r.exit_code == 0, r.output
    assert set(re.findall(r"\d\d:\d\d–\d\d:\d\d", r.output)) == labels, r.output
    rel = write_day_note(v, day)
    note = v.path(rel).read_text()
    assert set(re.findall(r"\d\d:\d\d–\d\d:\d\d", note)) == labels, note


@pytest.mark.parametrize(
    "start,end,with_date,label",
    [
        ("2015-02-03T12:00:00Z", "2015-02-03T13:00:00Z", False, "12:00–13:00"),
        ("2015-02-03T12:00:00Z", "2015-02-03T13:00:00Z", True, "2015-02-03 12:00–13:00"),
        ("2015-02-03T23:00:00Z", "2015-02-04T00:00:00Z", False, "23:00–24:00"),
        ("2015-02-03T12:00:00Z", "2015-02-05T12:00:00Z", 0, "2015-02-03 12:00 – 2015-02-05 12:00"),
        ("2015-02-03T12:00:00Z", None, False, "12:00"),
        (None, None, False, "–"),
        ("noon", "one", False, "noon–one"),
    ],
)
def test_one_window_label_for_cli_day_notes_and_site(start, end, with_date, label):
    assert layout.window_label(start, end, with_date) == label
