"""Pure parts of the site: number formatting, chart geometry, wikilinks, page paths,
day summaries, planning."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from vault_agent.site import charts, urls
from vault_agent.site.catalog import summarize_day
from vault_agent.site.serve import ignored
from vault_agent.site.wikilinks import NoteIndex, heading_anchor, rewrite
from vault_agent.vault import Rollup


@pytest.mark.parametrize(
    "x,text",
    [
        (21.3456, "21.35"),
        (21.5, "21.5"),
        (412.75, "412.8"),
        (1234.7, "1235"),
        (0.004712, "0.004712"),
        (0, "0"),
        (-3.0, "-3"),
        (None, "–"),
        (float("nan"), "–"),
    ],
)
def test_fmt_num(x, text):
    assert charts.fmt_num(x) == text


@pytest.mark.parametrize(
    "lo,hi", [(20.2, 23.35), (427.5, 1402), (0.0033, 0.0054), (5, 5), (-12.5, 3.2)]
)
def test_nice_ticks_cover_range_with_round_steps(lo, hi):
    ticks = charts.nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and 2 <= len(ticks) <= 8
    step = next(iter(steps))
    mant = step / 10 ** math.floor(math.log10(step))
    assert round(mant, 6) in (1, 2, 2.5, 5, 10)


def _r(start: datetime, mean: float, lo: float, hi: float, minutes: int = 5, **kw) -> Rollup:
    f = "%Y-%m-%dT%H:%M:%SZ"
    return Rollup(
        node="n1",
        sensor=kw.pop("sensor", "t"),
        quantity="temperature",
        unit="°C",
        start=start.strftime(f),
        end=(start + timedelta(minutes=minutes)).strftime(f),
        count=kw.pop("count", 5),
        mean=mean,
        min=lo,
        max=hi,
        last=mean,
        **kw,
    )


def test_day_chart_maps_values_to_pixels_and_breaks_gaps():
    t0 = datetime(2025, 10, 14, tzinfo=UTC)
    rs = [_r(t0 + timedelta(minutes=5 * i), 20 + i, 19 + i, 21 + i) for i in range(3)]
    rs += [_r(t0 + timedelta(hours=12), 30, 29, 31)]  # after a gap: its own segment
    pts = charts.points_from_rollups(rs, date(2025, 10, 14))
    svg = charts.day_chart(pts, label="t", unit="°C", chart_id="chart-t")
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1
    assert 'data-min="19"' in svg and 'data-max="31"' in svg and 'data-points="4"' in svg
    assert "\n\n" not in svg and svg.startswith('<svg class="va-chart" id="chart-t"')
    # x of the first window's middle (2.5 min into the day) and y of mean 20 on the axis
    ymin, ymax = 15.0, 35.0
    assert f'data-ymin="{ymin:g}"' in svg and f'data-ymax="{ymax:g}"' in svg
    pw = charts.WIDTH - charts.LEFT - charts.RIGHT
    ph = charts.HEIGHT - charts.TOP - charts.BOTTOM
    x = charts.LEFT + pw * 150 / 86400
    y = charts.TOP + ph * (1 - (20 - ymin) / (ymax - ymin))
    assert f"{x:.1f},{y:.1f}" in svg


def test_binary_chart_draws_on_fraction_bars():
    t0 = datetime(2025, 10, 14, 7, tzinfo=UTC)
    f = "%Y-%m-%dT%H:%M:%SZ"
    r = Rollup(
        node="n1",
        sensor="hall-motion",
        quantity="motion",
        unit="",
        start=t0.strftime(f),
        end=(t0 + timedelta(minutes=5)).strftime(f),
        count=3,
        events=3,
        on_s=150.0,
    )
    pts = charts.points_from_rollups([r], date(2025, 10, 14), binary=True)
    assert pts[0].hi == 0.5
    svg = charts.day_chart(pts, label="hall-motion", binary=True)
    assert svg.count('<rect class="bar"') == 1 and "50%" in svg


def test_empty_chart_says_no_data():
    assert "no data" in charts.day_chart([], label="x")


def _both_kinds() -> list[tuple[list[charts.Point], bool]]:
    t0 = datetime(2025, 10, 14, tzinfo=UTC)
    rs = [_r(t0 + timedelta(minutes=5 * i), 20 + i, 19 + i, 21 + i) for i in range(3)]
    rs.append(_r(t0 + timedelta(hours=12), 30, 29, 31))
    f = "%Y-%m-%dT%H:%M:%SZ"
    motion = Rollup(
        node="n1",
        sensor="m",
        quantity="motion",
        unit="",
        start=t0.strftime(f),
        end=(t0 + timedelta(minutes=5)).strftime(f),
        count=3,
        events=3,
        on_s=150.0,
    )
    return [
        (charts.points_from_rollups(rs, date(2025, 10, 14)), False),
        (charts.points_from_rollups([motion], date(2025, 10, 14), binary=True), True),
        ([], False),
    ]


@pytest.mark.parametrize("pts,binary", _both_kinds())
def test_inlined_chart_is_coloured_by_classes_not_fixed_colours(pts, binary):
    """The page-embedded chart has no <style>, no colour attributes and no fixed size:
    every drawn element carries a class the site's CSS colours with material's variables;
    the standalone file has a light style and a prefers-color-scheme: dark one."""
    import re

    standalone = charts.day_chart(
        pts, label="t", unit="°C", binary=binary, chart_id="chart-t", standalone=True
    )
    assert standalone.count("<style>") == 1 and "@media (prefers-color-scheme:dark)" in standalone
    assert 'width="720" height="220"' in standalone
    inline = charts.inline_svg(standalone, "chart-t")
    assert inline == charts.day_chart(pts, label="t", unit="°C", binary=binary, chart_id="chart-t")
    assert "<style" not in inline and "#" not in inline.split("</title>", 1)[1]
    assert not re.search(r"\s(fill|stroke|color|style)=", inline)
    assert 'role="img"' in inline and "<title>t: " in inline
    assert not re.search(r"<svg[^>]* (width|height)=", inline)
    drawn = re.findall(r"<(line|text|rect|polygon|polyline|circle)\b([^>]*)>", inline)
    assert drawn and all(' class="' in attrs for _, attrs in drawn)
    css = (Path(__file__).parents[1] / "site/overrides/assets/stylesheets/vault.css").read_text()
    for cls in {re.search(r' class="([^"]+)"', a).group(1) for _, a in drawn} - {
        "ytick",
        "xtick",
        "empty",
    }:
        rule = re.search(rf"svg\.va-chart [^{{]*\.{cls}\b[^{{]*\{{([^}}]*)\}}", css)
        assert rule and "var(--" in rule.group(1), cls
    assert re.search(r"svg\.va-chart text \{ fill: var\(--", css)


def test_inline_charts_replaces_chart_images_only():
    svg = charts.day_chart(_both_kinds()[0][0], label="t a", unit="°C", standalone=True)
    files = {"2025-10-14/t-a.svg": svg, "2025-10-14/bad.svg": "<p>not a chart</p>"}
    page = (
        '<p><img class="va-chart" id="chart-t-a" src="2025-10-14/t-a.svg" '
        'alt="Chart of t &amp; a" width="720" height="220" data-digest="x"></p>'
        '<img class="va-chart" id="chart-gone" src="2025-10-14/gone.svg" alt="">'
        '<img class="va-chart" id="chart-bad" src="2025-10-14/bad.svg" alt="">'
        '<img src="photo.png" alt="a photo">'
    )
    out = charts.inline_charts(page, lambda src, digest: files.get(src))
    assert out.count("<svg") == 1 and out.count("<img") == 3
    assert '<svg class="va-chart" id="chart-t-a" data-file="2025-10-14/t-a.svg"' in out
    assert 'aria-label="Chart of t &amp; a"' in out and "<title>t a: mean" in out
    assert 'src="2025-10-14/gone.svg"' in out and 'src="2025-10-14/bad.svg"' in out
    assert charts.inline_charts("<p>no charts</p>", print) == "<p>no charts</p>"
    with pytest.raises(ValueError):
        charts.inline_svg("<p>not a chart</p>")


def test_day_page_refers_to_each_chart_with_its_digest():
    """The Markdown holds an <img> per chart carrying the SVG's digest (a changed chart is a
    changed page for the incremental build) and a link to the SVG file."""
    from vault_agent.site.catalog import summarize_day
    from vault_agent.site.pages import day_page

    t0 = datetime(2025, 10, 14, tzinfo=UTC)
    rs = [_r(t0 + timedelta(minutes=5 * i), 20 + i, 19 + i, 21 + i) for i in range(3)]
    rel = "agents/n1/sensors/2025/10/2025-10-14.jsonl"
    text, files = day_page(
        "n1", "2025-10-14", rs, summarize_day("n1", "2025-10-14", rel, rs, 0), [], None, None
    )
    ((chart_rel, svg),) = files.items()
    assert chart_rel == "nodes/n1/days/2025-10-14/t.svg"
    assert f'data-digest="{charts.chart_digest(svg)}"' in text
    assert '<img class="va-chart" id="chart-t" src="2025-10-14/t.svg"' in text
    assert '<a class="va-svg-link" href="2025-10-14/t.svg">SVG</a>' in text
    rs2 = rs[:2] + [_r(t0 + timedelta(minutes=10), 23, 19, 24)]
    text2, files2 = day_page(
        "n1", "2025-10-14", rs2, summarize_day("n1", "2025-10-14", rel, rs2, 0), [], None, None
    )
    assert files2[chart_rel] != svg
    assert f'data-digest="{charts.chart_digest(files2[chart_rel])}"' in text2


def test_summarize_day_weights_means_by_count_and_keeps_extreme_times():
    t0 = datetime(2025, 10, 14, tzinfo=UTC)
    rs = [
        _r(t0, 10.0, 9.0, 11.0, count=1, min_at="2025-10-14T00:01:00Z"),
        _r(t0 + timedelta(minutes=5), 20.0, 18.0, 25.0, count=3, max_at="2025-10-14T00:07:00Z"),
    ]
    d = summarize_day("n1", "2025-10-14", "x.jsonl", rs)
    s = d.sensors[0]
    assert s.mean == pytest.approx(17.5) and s.windows == 2 and s.samples == 4
    assert (s.min, s.min_at, s.max, s.max_at) == (
        9.0,
        "2025-10-14T00:01:00Z",
        25.0,
        "2025-10-14T00:07:00Z",
    )
    assert s.last == 20.0 and d.first == "2025-10-14T00:00:00Z" and d.last == "2025-10-14T00:10:00Z"


NOTES = [
    "Heating/Boiler.md",
    "Heating/Überblick.md",
    "Office notes.md",
    "a/Office notes.md",
    "img/plan.png",
]


@pytest.mark.parametrize(
    "target,src,expected",
    [
        ("Boiler", "Office notes.md", "Heating/Boiler.md"),
        ("boiler", "Office notes.md", "Heating/Boiler.md"),  # case-insensitive
        ("Heating/Boiler", "Office notes.md", "Heating/Boiler.md"),
        ("Heating/Boiler.md", "Office notes.md", "Heating/Boiler.md"),
        ("Überblick", "Office notes.md", "Heating/Überblick.md"),
        ("Office notes", "a/x.md", "a/Office notes.md"),  # closest to the linking note
        ("Office notes", "Heating/Boiler.md", "Office notes.md"),  # then the shortest path
        ("../Office notes", "Heating/Boiler.md", "Office notes.md"),
        ("Nope", "Office notes.md", None),
    ],
)
def test_note_index_resolves_like_obsidian(target, src, expected):
    assert NoteIndex(n for n in NOTES if n.endswith(".md")).resolve(target, src) == expected


def test_rewrite_all_wikilink_forms():
    idx = NoteIndex(n for n in NOTES if n.endswith(".md"))
    text = (
        "[[Boiler]] [[Boiler|the boiler]] [[Boiler#Gas valve]] [[Boiler#Gas valve|valve]] "
        "[[#Local]] ![[Boiler]] [[Nope]]\n`[[code]]`\n```\n[[fenced]]\n```\n[[Überblick]]\n"
    )
    out, broken = rewrite(
        text,
        "Office notes.md",
        idx,
        lambda n: urls.link("kb/Office notes.md", urls.kb_page(n)).strip("<>"),
    )
    lines = out.splitlines()
    assert "[Boiler](Heating/Boiler.md)" in lines[0]
    assert "[the boiler](Heating/Boiler.md)" in lines[0]
    assert "[Boiler › Gas valve](Heating/Boiler.md#gas-valve)" in lines[0]
    assert "[valve](Heating/Boiler.md#gas-valve)" in lines[0]
    assert "[Local](#local)" in lines[0]
    assert '<span class="va-broken-link"' in lines[0] and ">Nope</span>" in lines[0]
    assert lines[1] == "`[[code]]`" and lines[3] == "[[fenced]]"
    assert lines[5] == "[Überblick](Heating/Überblick.md)"
    assert [(b.line, b.target) for b in broken] == [(1, "Nope")]


def test_heading_anchor_matches_mkdocs_toc():
    assert heading_anchor("CO2 levels") == "co2-levels"
    assert heading_anchor("Überblick") == "uberblick"


@pytest.mark.parametrize(
    "rel,page",
    [
        ("agents/a1/sensors/2025/10/2025-10-14.jsonl", ("nodes/a1/days/2025-10-14.md", "")),
        ("agents/a1/daily/2025/10/2025-10-14.md", ("nodes/a1/days/2025-10-14.md", "")),
        (
            "agents/a1/observations/2025/10/20251014T030412Z-a1-000042-motion.md",
            ("nodes/a1/observations/20251014T030412Z-a1-000042.md", ""),
        ),
        ("agents/a1/sensors/2025/10/2025-10-14.jsonl#chunk-3", ("nodes/a1/days/2025-10-14.md", "")),
        ("agents/a1/memory/20251014T030412Z-a1-000043-x.md", ("nodes/a1/index.md", "memory")),
        ("knowledge-base/Räume/Küche.md", ("kb/Räume/Küche.md", "")),
        (
            "interactions/2025-10/20251014T030412Z-a1-q.md",
            ("interactions/2025-10/20251014T030412Z-a1-q.md", ""),
        ),
        ("shared-memory/user-profile.json", None),
    ],
)
def test_page_for_vault_path(rel, page):
    assert urls.page_for_vault_path(rel) == page


def test_link_is_relative_and_bracketed_when_needed():
    assert urls.link("nodes/a/days/2025-10-14.md", "nodes/a/index.md") == "../index.md"
    assert urls.link("index.md", "kb/My note.md", "x") == "<kb/My note.md#x>"


def test_serve_ignores_its_own_output(tmp_path):
    root = tmp_path
    assert ignored(root, str(root / ".vault/site/index.html"))
    assert ignored(root, str(root / "agents/a/local-cache/raw.jsonl"))
    assert ignored(root, str(root / ".git/objects/ab/cdef"))
    assert not ignored(root, str(root / ".git/refs/heads/main"))
    assert not ignored(root, str(root / "knowledge-base/x.md"))


def test_seconds_since_fast_path_agrees_with_parsing():
    base = datetime(2025, 10, 14, tzinfo=UTC)
    assert charts.seconds_since("2025-10-14T06:30:15Z", base) == 6 * 3600 + 30 * 60 + 15
    assert charts.seconds_since("2025-10-15T00:00:00Z", base) == 86400  # next midnight
    assert charts.seconds_since("2025-10-14T08:00:00+02:00", base) == 6 * 3600  # an offset
    assert charts.seconds_since("2025-10-13T23:00:00Z", base) == -3600


def test_memory_fact_belongs_to_the_last_day_of_its_baseline():
    from vault_agent.site.catalog import note_day
    from vault_agent.vault.records import Observation

    memory = Observation(
        id="m",
        node="office",
        created="2015-02-05T00:00:00Z",
        body="x",
        kind="memory",
        window={"start": "2015-01-22T00:00:00Z", "end": "2015-02-05T00:00:00Z"},
    )
    assert note_day(memory) == "2015-02-04"
    obs = Observation(
        id="o",
        node="office",
        created="2015-02-05T10:00:00Z",
        body="x",
        window={"start": "2015-02-05T09:00:00Z", "end": "2015-02-05T10:00:00Z"},
    )
    assert note_day(obs) == "2015-02-05"
