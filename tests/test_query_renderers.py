"""The observer, the site, the index and the query layer show the same figures for a day.

Issue 15's case: a ``count: 0`` line of mean 30 and a window of mean 20, max 21 must
read mean 20.0 / max 21.0 everywhere (before, the site and index said 20.9 / 30.0).
Each renderer is run through its own real entry point on the same files.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.support.core_fixtures import make_vault
from vault_agent.index.chunker import chunk_file
from vault_agent.observe.daynote import render_day_note
from vault_agent.query import Store
from vault_agent.site.catalog import read_day, summarize_day
from vault_agent.vault import Vault

DAY = date(2015, 2, 5)
REL = "agents/office/sensors/2015/02/2015-02-05.jsonl"


def line(start: str, end: str, **fields) -> str:
    d = {"v": 1, "node": "office", "sensor": "office-temperature", "quantity": "temperature"}
    d.update(unit="°C", start=start, end=end, **fields)
    return json.dumps(d)


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    v = make_vault(tmp_path, node="office")
    lines = [
        # a window with only failed reads: count 0, yet a stale mean/max of 30 in it
        line("2015-02-05T08:00:00Z", "2015-02-05T08:05:00Z", count=0, mean=30.0, min=30.0,
             max=30.0, errors=2),
        line("2015-02-05T08:05:00Z", "2015-02-05T08:10:00Z", count=5, mean=20.0, min=19.0,
             max=21.0, min_at="2015-02-05T08:06:00Z", max_at="2015-02-05T08:08:00Z", last=20.0),
    ]  # fmt: skip
    p = v.path(REL)
    p.parent.mkdir(parents=True)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return v


def row_of(text: str, needle: str) -> str:
    return next(ln for ln in text.splitlines() if needle in ln)


def test_observer_site_index_and_query_agree(vault: Vault) -> None:
    # truth from the file: only the line with readings counts
    raw = [json.loads(x) for x in vault.path(REL).read_text().splitlines()]
    live = [d for d in raw if d["count"] > 0]
    mean = sum(d["mean"] * d["count"] for d in live) / sum(d["count"] for d in live)
    hi, lo = max(d["max"] for d in live), min(d["min"] for d in live)
    assert (mean, hi, lo) == (20.0, 21.0, 19.0)

    (q,) = Store(vault.root).day_summaries("office-temperature", DAY, DAY)
    assert (q.mean, q.max, q.min, q.max_at) == (mean, hi, lo, "2015-02-05T08:08:00Z")

    note, _ = render_day_note(vault, DAY)
    assert row_of(note, "office-temperature").split("|")[2:7] == [
        " 19.0°C ",
        " 08:06 ",
        " 20.0°C ",
        " 21.0°C ",
        " 08:08 ",
    ]

    rollups, errors = read_day(vault, REL)
    site = summarize_day("office", DAY.isoformat(), REL, rollups, len(errors))
    (s,) = site.sensors
    assert (s.mean, s.max, s.min, s.max_at, s.samples) == (mean, hi, lo, q.max_at, 5)

    (chunk,) = chunk_file(REL, vault.path(REL).read_text())
    assert "mean 20.0 °C, min 19.0 at 08:06, max 21.0 at 08:08" in chunk.text
    assert "30" not in chunk.text.replace("2015", "")
    assert "2 read errors" in chunk.text


def test_binary_day_agrees(vault: Vault) -> None:
    rel = "agents/office/sensors/2015/02/2015-02-06.jsonl"
    lines = [
        json.dumps({"v": 1, "node": "office", "sensor": "hall-motion", "quantity": "motion",
                    "unit": "", "start": f"2015-02-06T0{h}:00:00Z",
                    "end": f"2015-02-06T0{h}:05:00Z",
                    "count": 300, "events": e, "on_s": s, "last": 0.0})
        for h, e, s in ((1, 0, 0.0), (2, 2, 45.0), (3, 1, 300.0), (4, 0, 0.0))
    ]  # fmt: skip
    vault.path(rel).write_text("\n".join(lines) + "\n", encoding="utf-8")
    day = date(2015, 2, 6)
    (q,) = Store(vault.root).day_summaries("hall-motion", day, day)
    assert (q.binary, q.events, q.on_s) == (True, 3, 345.0)
    assert (q.first_event_at, q.last_event_at) == ("2015-02-06T02:00:00Z", "2015-02-06T03:00:00Z")
    note, _ = render_day_note(vault, day)
    assert row_of(note, "hall-motion").split("|")[2:6] == [" 3 ", " 6 min ", " 02:00 ", " 03:00 "]
    rollups, _ = read_day(vault, rel)
    (s,) = summarize_day("office", "2015-02-06", rel, rollups).sensors
    assert (s.binary, s.events, s.on_s) == (True, 3, 345.0)
    (chunk,) = chunk_file(rel, vault.path(rel).read_text())
    assert "3 events, on 6 min, first at 02:00, last at 03:00" in chunk.text
