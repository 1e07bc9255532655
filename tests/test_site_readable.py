"""The site reads well (issue 17): week/month pages with each day's figures, observation
pages that lead with their text, memory notes that keep their lists, interactions out of
the search, backlinks and tags, staleness. Truth comes from the JSONL files, read here."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_site_helpers import KB_NOTE, charts_of, expected_day, make_vault, parse
from vault_agent.cli import main
from vault_agent.site import render
from vault_agent.site.build import build_site
from vault_agent.site.charts import fmt_num


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    v, facts = make_vault(tmp_path_factory.mktemp("readable") / "vault")
    v.write_observation(
        "Heating pattern:\n\n- on at 06:30 on weekdays\n- off at 22:00\n- *never* on Sundays",
        kind="memory",
        title="Heating schedule",
        created=datetime(2015, 2, 4, 1, 0, tzinfo=UTC),
    )
    v.commit("memory with a list", "observation")
    return v, facts, build_site(v)


def test_week_page_has_each_days_min_mean_max(built):
    v, facts, report = built
    page = parse(report.html_dir / "nodes/office/sensors/office-co2/2015-W06.html")
    table = next(t for t in page.tables if t and t[0][0] == "Day")
    assert table[0] == ["Day", "Min", "Mean", "Max", "Windows"]
    rows = table[1:]
    days = ["2015-02-02", "2015-02-03", "2015-02-04"]
    assert len(rows) == len(days)
    for row, day in zip(rows, days, strict=True):
        exp = expected_day(v, f"agents/office/sensors/2015/02/{day}.jsonl")["office-co2"]
        assert row[0] == date.fromisoformat(day).strftime("%a %d")
        assert row[1].split()[0] == fmt_num(exp["min"])
        assert row[2] == fmt_num(exp["mean"])
        assert row[3].split()[0] == fmt_num(exp["max"])
        assert row[4] == str(exp["windows"])


def test_month_page_of_a_motion_sensor_counts_events(built):
    v, facts, report = built
    page = parse(report.html_dir / "nodes/pir-6/sensors/s6-motion/2017-12.html")
    table = next(t for t in page.tables if t and t[0][0] == "Day")
    assert table[0] == ["Day", "Events", "On time", "Windows"]
    files = sorted(v.path("agents/pir-6/sensors/2017/12").glob("*.jsonl"))
    assert len(table) - 1 == len(files) > 1
    for row, f in zip(table[1:], files, strict=True):
        lines = [json.loads(x) for x in f.read_text().splitlines()]
        assert row[1] == str(sum(x["events"] for x in lines))
        assert row[3] == str(len(lines))
    node = parse(report.html_dir / "nodes/pir-6/index.html")
    assert any(x.endswith("sensors/s6-motion/2018-01.html") for x in node.links)
    # motion is events and time on, never a mean
    assert "Mean" not in [c for t in page.tables for c in t[0]]


def test_observation_page_leads_with_its_text(built):
    v, facts, report = built
    path = report.html_dir / "nodes/office/observations" / f"{facts['obs_id']}.html"
    html = path.read_text(encoding="utf-8")
    body = html[html.index("<article") :]
    text_at = body.index("CO2 rose to 1402 ppm")
    assert text_at < body.index('<details class="va-meta"') and text_at < body.index("Sources")
    assert "2015-02-03 16:00–17:00 UTC · office" in parse(path).text
    assert text_at < body.index("<svg")  # the text first, then the charts


def test_observation_charts_cover_its_window_not_the_day(built):
    """Issue 17: an observation's chart is its window (16:00–17:00), not the whole day:
    one point per rollup window starting in it, the window's extremes, its hours on the
    axis. Truth: the JSONL lines of that hour, read here."""
    v, facts, report = built
    path = report.html_dir / "nodes/office/observations" / f"{facts['obs_id']}.html"
    charts = charts_of(path)
    assert set(charts) == {"chart-office-co2", "chart-office-temperature"}
    lines = [json.loads(x) for x in v.path(facts["src"]).read_text().splitlines()]
    for sensor in ("office-co2", "office-temperature"):
        inside = [
            d
            for d in lines
            if d["sensor"] == sensor
            and "2015-02-03T16:00:00Z" <= d["start"] < "2015-02-03T17:00:00Z"
        ]
        assert len(inside) == 12
        inline, chart = charts[f"chart-{sensor}"]
        assert inline["data-file"] == f"{facts['obs_id']}/{sensor}.svg"
        svg = chart.svgs[0]
        assert int(svg["data-points"]) == len(inside)
        assert svg["data-min"] == fmt_num(min(d["min"] for d in inside))
        assert svg["data-max"] == fmt_num(max(d["max"] for d in inside))
        ticks = re.findall(
            r'class="xtick"[^>]*>([^<]+)<', (path.parent / inline["data-file"]).read_text()
        )
        assert ticks[0] == "16:00" and ticks[-1] == "17:00", ticks
    # the day page's chart of the same sensor still has the whole day
    day = charts_of(report.html_dir / "nodes/office/days/2015-02-03.html")
    assert int(day["chart-office-co2"][1].svgs[0]["data-points"]) == 288


def test_memory_notes_keep_their_lists(built):
    v, facts, report = built
    html = (report.html_dir / "nodes/office/index.html").read_text(encoding="utf-8")
    start = html.index("Heating schedule")
    block = html[start : html.index("</div>", html.index("<ul>", start))]
    assert block.count("<li>") == 3 and "<em>never</em>" in block


def test_search_index_texts_are_clean_and_qa_ranks_last(built):
    """Search results show title, date, node and clean text: an observation's entry is
    its date/node line joined to its text (no glued metadata, no details box); lists of
    observations, cards and tables are left out (their cells would be glued together).
    Logged Q&A are indexed with a low boost (hidden in results unless asked for: the
    browser test checks the toggle)."""
    v, facts, report = built
    idx = json.loads((report.html_dir / "search/search_index.json").read_text())
    obs = [d for d in idx["docs"] if d["location"].endswith(f"{facts['obs_id']}.html")]
    assert [d["text"] for d in obs] == [
        "<p>2015-02-03 16:00–17:00 UTC · office 80% — CO2 rose to 1402 ppm at 17:03 while "
        "the office was occupied.</p>"
    ]
    assert obs[0]["title"] == "CO2 peak in the afternoon"
    for d in idx["docs"]:
        assert "hlc" not in d["text"] and "co2_max" not in d["text"], d
        # no table cells or timeline items glued together (e.g. "SensorQuantityWindows")
        assert "SensorQuantity" not in d["text"] and "80%office" not in d["text"], d
        assert "Last seen2015" not in d["text"], d
    qa = [d for d in idx["docs"] if d["location"].startswith("interactions/")]
    assert qa and all(0 < d["boost"] < 0.1 for d in qa)
    assert qa[0]["text"].startswith("<p>Asked on office at 2015-02-05 09:00")
    assert not any("boost" in d for d in idx["docs"] if d not in qa)
    assert "When was CO2 highest" in parse(report.html_dir / "interactions.html").text


def test_kb_backlinks(built):
    v, facts, report = built
    page = parse(report.html_dir / "kb" / "Office notes.html")
    assert "Linked from" in page.text
    stem = KB_NOTE[:-3]
    assert any(stem in x or "Wohnzimmer" in x for x in page.links)


def test_home_marks_stale_nodes(built):
    v, facts, report = built
    text = parse(report.html_dir / "index.html").text
    age = datetime.now(UTC) - datetime(2015, 2, 4, 10, 45, tzinfo=UTC)  # office's last window
    years = round(age.days / 365.25)
    assert f"stale · {years} years" in text or f"stale · {years - 1} years" in text


def test_templates_are_package_data_and_autoescape():
    names = [n for n, _ in render.template_texts()]
    assert {"day.md.j2", "home.md.j2", "observation.md.j2", "period.md.j2"} <= set(names)
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    assert '"vault_agent.site" = ["templates/*.j2"]' in pyproject.read_text()
    out = render.render("dates.md.j2", dates="<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>" not in out


def test_window_labels_are_start_end_as_in_the_cli(built):
    """Issue 18 point 8: the site labels an observation by its window start–end, like
    `vault observations` and the day note, not by when it was written (17:05)."""
    v, facts, report = built
    out = CliRunner().invoke(main, ["observations", "--vault", str(v.root)])
    assert out.exit_code == 0, out.output
    cli = set(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d–\d\d:\d\d", out.output))
    assert cli == {"2015-02-03 07:00–08:00", "2015-02-03 16:00–17:00"}, out.output
    home = parse(report.html_dir / "index.html").text
    assert set(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d–\d\d:\d\d", home)) == cli
    short = {label[11:] for label in cli}
    for page in ("nodes/office/days/2015-02-03.html", "nodes/office/index.html"):
        text = parse(report.html_dir / page).text
        assert set(re.findall(r"\d\d:\d\d–\d\d:\d\d", text)) >= short, page
        assert "17:05" not in text.split("Observations")[1][:400], page
