"""An observation's window is labelled the same way (start–end, UTC) in
`vault observations` and in the day note."""

from __future__ import annotations

import re
from datetime import timedelta

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
