"""Chunker: Markdown by headings, observations, rollup day sentences, conflict copies."""

from __future__ import annotations

import pytest

from vault_agent.errors import RecordError
from vault_agent.index.chunker import chunk_file, day_summary, indexable, original_path, split_words
from vault_agent.vault import Rollup

OBS = """---
id: 20251014T030412Z-alpaca-1-000042
node: alpaca-1
created: 2025-10-14T03:04:12Z
kind: observation
title: Night motion
sensors: [hall-motion]
window: {start: 2025-10-14T02:00:00Z, end: 2025-10-14T03:00:00Z}
---
Motion in the hall at 03:04, unusual.
"""


def test_markdown_splits_at_headings_and_keeps_wikilinks():
    text = "---\ntitle: Heating\n---\nIntro [[boiler]] text.\n\n## Kitchen\n\nSlow radiator.\n"
    chunks = chunk_file("knowledge-base/heating.md", text)
    assert [c.id for c in chunks] == ["knowledge-base/heating.md#0", "knowledge-base/heating.md#1"]
    assert "[[boiler]]" in chunks[0].text
    assert chunks[1].title == "Heating › Kitchen"
    assert chunks[0].kind == "knowledge"


def test_long_section_split_at_sentences_under_limit():
    text = "# T\n\n" + " ".join(f"Sentence number {i} is here." for i in range(200))
    chunks = chunk_file("knowledge-base/long.md", text, max_words=50)
    assert len(chunks) > 10
    assert all(len(c.text.split()) <= 50 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)


def test_split_words_cuts_one_overlong_sentence():
    assert [len(p.split()) for p in split_words("w " * 25, 10)] == [10, 10, 5]


def test_observation_is_one_chunk_with_metadata():
    (c,) = chunk_file("agents/alpaca-1/observations/2025/10/x.md", OBS)
    assert (c.node, c.kind, c.date, c.title) == (
        "alpaca-1",
        "observation",
        "2025-10-14",
        "Night motion",
    )
    assert "hall-motion" in c.text


def test_bad_frontmatter_raises_record_error_with_path():
    with pytest.raises(RecordError) as e:
        chunk_file("knowledge-base/bad.md", "---\ntitle: [unclosed\n---\nbody\n")
    assert "knowledge-base/bad.md" in str(e.value)


def _r(start, **kw):
    base = dict(
        node="alpaca-1",
        sensor="kitchen-temp",
        quantity="temperature",
        unit="°C",
        start=start,
        end=start,
        count=300,
    )
    return Rollup(**{**base, **kw})


def test_day_summary_numeric_min_max_times():
    rs = [
        _r("2025-10-14T06:00:00Z", mean=20.0, min=19.8, max=20.2, min_at="2025-10-14T06:10:00Z"),
        _r("2025-10-14T15:35:00Z", mean=22.6, min=22.0, max=23.1, max_at="2025-10-14T15:40:00Z"),
    ]
    text = day_summary("kitchen-temp", "2025-10-14", rs)
    assert text.startswith("kitchen-temp 2025-10-14")
    assert "mean 21.3 °C" in text and "min 19.8 at 06:10" in text and "max 23.1 at 15:40" in text


def test_day_summary_binary_events():
    rs = [
        _r("2025-10-14T02:00:00Z", sensor="hall-motion", events=2, on_s=30.0),
        _r("2025-10-14T03:00:00Z", sensor="hall-motion", events=1, on_s=90.0),
    ]
    text = day_summary("hall-motion", "2025-10-14", rs)
    assert "3 events, on 2 min" in text and "first at 02:00, last at 03:00" in text


def test_rollup_file_skips_bad_lines_and_reports_them():
    good = _r("2025-10-14T06:00:00Z", mean=20.0, min=19.0, max=21.0).to_json()
    problems: list = []
    chunks = chunk_file(
        "agents/alpaca-1/sensors/2025/10/2025-10-14.jsonl",
        good + "\n{not json\n",
        problems=problems,
    )
    assert len(chunks) == 1 and chunks[0].kind == "rollup" and chunks[0].date == "2025-10-14"
    assert problems and problems[0].line == 2


def test_conflict_copy_is_marked():
    path = "knowledge-base/heating.sync-conflict-20251014-101010-llama.md"
    assert original_path(path) == "knowledge-base/heating.md"
    assert indexable(path)
    (c,) = chunk_file(path, "# Heating\n\nTheir version.\n")
    assert c.conflict and "(conflict copy)" in c.title


@pytest.mark.parametrize(
    "path,ok",
    [
        ("knowledge-base/a.md", True),
        ("agents/n1/sensors/2025/10/2025-10-14.jsonl", True),
        ("agents/n1/node.toml", False),
        ("shared-memory/global-state.json", False),
        ("README.md", False),
        ("knowledge-base/README.md", True),
        ("knowledge-base/pic.png", False),
        (".vault/index/meta.json", False),
        ("agents/n1/local-cache/x.md", False),
    ],
)
def test_indexable(path, ok):
    assert indexable(path) is ok


def test_day_summary_keeps_small_values_readable():
    rs = [
        _r(
            "2025-10-14T06:00:00Z",
            sensor="office-humidity-ratio",
            unit="kg/kg",
            mean=0.00412,
            min=0.0039,
            max=0.0044,
        )
    ]
    assert "mean 0.00412 kg/kg" in day_summary("office-humidity-ratio", "2025-10-14", rs)
