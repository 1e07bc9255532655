"""Memory notes are dated by the day they describe (issue 18 point 8).

A vault built from the bundled office data (occupancy-detection, datatraining.txt):
replay, then the observer's backfill closes each recorded day with a day note and a
memory note. The truth (which days the recording has) is read from the CSV with the
csv module, not from the vault.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.support.replayed import observed_training_vault
from vault_agent.cli import main
from vault_agent.observe.memory import PATTERNS_SLUG, write_memory
from vault_agent.query.notes import note_day as query_note_day
from vault_agent.site.catalog import note_day as site_note_day
from vault_agent.vault import Vault, layout

OFFICE = Path(__file__).resolve().parent.parent / "datasets/occupancy-detection/datatraining.txt"


def csv_days(path: Path) -> list[date]:
    """The recorded days of the office file (its ``date`` column), in order."""
    with path.open(newline="") as f:
        rows = csv.reader(f)
        next(rows)
        return sorted({date.fromisoformat(r[1][:10]) for r in rows if r})


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Vault:
    # OFFICE replayed as node office, then the observer's backfill over its span
    return observed_training_vault(tmp_path_factory.mktemp("mem") / "v")


def test_each_closed_day_has_one_memory_note_dated_by_it(office: Vault) -> None:
    days = csv_days(OFFICE)
    closed = days[:-1]  # the recording stops mid-morning of its last day: not closed
    notes = [(rel, o) for rel, o in office.iter_observations("office", sub="memory")]
    assert [o.extra["day"] for _, o in notes] == [d.isoformat() for d in closed]
    for (rel, o), d in zip(notes, closed, strict=True):
        name = rel.rsplit("/", 1)[-1]
        assert name.startswith(f"{d:%Y%m%d}T"), name  # the name carries the day
        assert o.created[:10] == d.isoformat()
        assert o.window["start"][:10] == d.isoformat()
        assert o.title == f"Typical patterns up to {d}"
        assert f"on {d}, learned over the 14 days up to it" in o.body
        # replayed as recorded: the times are the office's clock, and the notes say so
        clock = "Times are local time in Europe/Brussels, as the recording wrote them."
        assert clock in o.body
        base = o.extra["baseline"]
        assert base["start"][:10] == (d - timedelta(days=13)).isoformat()
        assert base["end"][:10] == (d + timedelta(days=1)).isoformat()
        assert base["days_with_data"] == sum(1 for x in days if x <= d)
        assert len(o.sensors) == len(set(o.sensors))
        # every reader dates it the same way: query layer, site, day note
        assert query_note_day(o, ZoneInfo("UTC")) == d
        assert site_note_day(o) == d.isoformat()
        note = office.path(layout.daily_path("office", d)).read_text()
        assert f"../../../memory/{name}" in note
        assert f"\n{clock} " in note and "Times are UTC" not in note


def test_observations_cli_lists_memory_on_its_day(office: Vault) -> None:
    d = csv_days(OFFICE)[2]
    res = CliRunner().invoke(
        main,
        ["observations", "--vault", str(office.root), "--kind", "memory", "--json"]
        + ["--since", d.isoformat(), "--until", d.isoformat()],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["window"]["start"][:10] for r in rows] == [d.isoformat()]
    res = CliRunner().invoke(
        main, ["observations", "--vault", str(office.root), "--kind", "memory", "-n", "1"]
    )
    assert res.stdout.startswith(f"{csv_days(OFFICE)[-2]} 00:00")


def test_an_older_note_for_the_day_is_kept_and_not_written_again(office: Vault) -> None:
    """A note written before the rule (created at the next midnight, window = the
    baseline) counts as that day's note: nothing is rewritten or duplicated."""
    last = csv_days(OFFICE)[-1]  # never closed by the backfill above
    created = layout.parse_iso(f"{last + timedelta(days=1)}T00:00:00Z")
    rel, _ = office.write_observation(
        "Typical patterns of node office over the 14 days up to it (times UTC):\n\n- x",
        kind="memory",
        created=created,
        slug=PATTERNS_SLUG,
        window={
            "start": f"{last - timedelta(days=13)}T00:00:00Z",
            "end": f"{last + timedelta(days=1)}T00:00:00Z",
        },
    )
    before = office.path(rel).read_text()
    count = len(office.observation_files("office", "memory"))
    assert write_memory(office, last) is None
    assert office.path(rel).read_text() == before
    assert len(office.observation_files("office", "memory")) == count
