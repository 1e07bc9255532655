"""The site built from a vault filled by replaying real data (UCI occupancy detection):
pages, links, charts and numbers, offline loads, search index, CLI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from tests.test_site_helpers import KB_NOTE, charts_of, day_html, expected_day, make_vault, parse
from vault_agent.cli import main
from vault_agent.site.build import SiteBuildError, build_site
from vault_agent.site.charts import fmt_num, inline_svg
from vault_agent.vault import Rollup, Vault


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("site") / "vault"
    v, facts = make_vault(root)
    report = build_site(v)
    return v, facts, report


def test_report_counts_pages(built):
    v, facts, report = built
    assert report.full and report.reason == "first build"
    assert report.html_dir == v.root / ".vault" / "site"
    assert report.pages_written >= 15 and report.pages_skipped == 0
    assert report.html_rendered >= report.pages_written - 1  # the KB image-free site: all .md
    assert (report.html_dir / "index.html").is_file()
    assert (v.root / ".vault" / "site-src" / "index.md").is_file()


def test_every_page_kind_exists(built):
    v, facts, report = built
    h = report.html_dir
    for rel in [
        "index.html",
        "dates.html",
        "knowledge-base.html",
        "interactions.html",
        "conflicts.html",
        "nodes/office/index.html",
        "nodes/office/days.html",
        f"nodes/office/observations/{facts['obs_id']}.html",
        "kb/Heizung/Wohnzimmer Überblick.html",
        "kb/Office notes.html",
        facts["ask_rel"][:-3] + ".html",
    ]:
        assert (h / rel).is_file(), rel
    for day in ("2015-02-02", "2015-02-03", "2015-02-04"):
        assert day_html(h, "office", day).is_file()


def test_internal_links_resolve(built):
    """Every relative link of every page points at a built file (and anchor, for day pages)."""
    v, facts, report = built
    h = report.html_dir
    checked = 0
    for page in h.rglob("*.html"):
        if page.name == "404.html":
            continue
        for href in parse(page).links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("#", "//")) or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.exists(), f"{page.relative_to(h)} links to missing {href}"
            if parts.fragment and target.suffix == ".html" and "/days/" in target.as_posix():
                assert unquote(parts.fragment) in parse(target).ids, f"{page}: {href}"
            checked += 1
    assert checked > 100


def test_day_page_numbers_match_rollups(built):
    v, facts, report = built
    for day in ("2015-02-02", "2015-02-03", "2015-02-04"):
        rel = f"agents/office/sensors/2015/02/{day}.jsonl"
        exp = expected_day(v, rel)
        page = parse(day_html(report.html_dir, "office", day))
        table = next(t for t in page.tables if t and t[0][:2] == ["Sensor", "Quantity"])
        rows = {r[0]: r for r in table[1:]}
        assert set(rows) == set(exp)
        for sensor, e in exp.items():
            r = rows[sensor]
            assert r[2] == str(e["windows"])
            assert r[3] == fmt_num(e["mean"])
            assert r[4].split()[0] == fmt_num(e["min"])
            assert r[5].split()[0] == fmt_num(e["max"])
            assert r[6] == fmt_num(e["last"])
            assert r[7] == e["unit"]
        # one chart per sensor with the day's extremes and one point per window
        charts = charts_of(day_html(report.html_dir, "office", day))
        assert len(charts) == len(exp)
        for sensor, e in exp.items():
            inline, chart = charts[f"chart-{sensor}"]
            assert inline["aria-label"] == f"Chart of {sensor} on {day}"
            assert {
                k: v for k, v in inline.items() if k.startswith("data-") and k != "data-file"
            } == {k: v for k, v in chart.svgs[0].items() if k.startswith("data-")}
            svg = chart.svgs[0]
            assert svg["data-min"] == fmt_num(e["min"]) and svg["data-max"] == fmt_num(e["max"])
            assert float(svg["data-ymin"]) <= e["min"] and float(svg["data-ymax"]) >= e["max"]
            assert int(svg["data-points"]) == e["windows"]


def test_binary_sensor_day_counts_events_and_time_on(built):
    """PIR motion (room-occupancy S6): events and minutes on, drawn as bars."""
    v, facts, report = built
    rel = "agents/pir-6/sensors/2017/12/2017-12-22.jsonl"
    rows = [json.loads(x) for x in v.path(rel).read_text().splitlines()]
    events, on_s = sum(r["events"] for r in rows), sum(r["on_s"] for r in rows)
    assert events > 0
    page = day_html(report.html_dir, "pir-6", "2017-12-22")
    table = next(t for t in parse(page).tables if t and t[0][0] == "Sensor")
    # binary sensors get their own table: events and time on, no mean/min/max
    assert table[0] == ["Sensor", "Quantity", "Windows", "Events", "On time"]
    minutes = round(on_s / 60)
    on_text = f"{minutes} min" if on_s < 3600 else f"{minutes // 60} h {minutes % 60:02d} min"
    assert table[1] == ["s6-motion", "motion", str(len(rows)), str(events), on_text]
    inline, chart = charts_of(page)["chart-s6-motion"]
    svg = (page.parent / unquote(inline["data-file"])).read_text()
    assert svg.count('<rect class="bar"') == sum(1 for r in rows if r["on_s"] > 0)
    assert "binary" in chart.svgs[0]["class"]


def test_chart_line_follows_the_means(built):
    """The polyline's y coordinates map back to the window means through the axis scale."""
    v, facts, report = built
    rel = f"agents/office/sensors/2015/02/{facts['day']}.jsonl"
    means = [
        json.loads(x)["mean"]
        for x in v.path(rel).read_text().splitlines()
        if '"office-temperature"' in x
    ]
    page = day_html(report.html_dir, "office", facts["day"])
    inline, _ = charts_of(page)["chart-office-temperature"]
    svg_file = page.parent / unquote(inline["data-file"])
    svg = svg_file.read_text(encoding="utf-8")
    assert svg.startswith('<svg class="va-chart"') and "<style>" in svg
    ymin = float(re.search(r'data-ymin="([^"]+)"', svg).group(1))
    ymax = float(re.search(r'data-ymax="([^"]+)"', svg).group(1))
    pts = [
        tuple(map(float, p.split(",")))
        for p in " ".join(re.findall(r'<polyline class="mean" points="([^"]+)"', svg)).split()
    ]
    assert len(pts) == len(means)
    from vault_agent.site.charts import BOTTOM, HEIGHT, TOP

    ph = HEIGHT - TOP - BOTTOM
    back = [ymin + (1 - (y - TOP) / ph) * (ymax - ymin) for _, y in pts]
    tol = (ymax - ymin) / ph  # one pixel
    assert all(abs(a - b) <= tol for a, b in zip(back, means, strict=True))
    assert '<polygon class="band"' in svg


def test_day_page_inlines_charts_styled_by_the_site(built):
    """Each chart is an inline <svg> (role, <title>, data attributes) without a <style> of
    its own, identical to its standalone file minus that style; the figure links the file,
    and no chart <img> is left."""
    v, facts, report = built
    page = day_html(report.html_dir, "office", facts["day"])
    html = page.read_text(encoding="utf-8")
    assert '<img class="va-chart"' not in html
    svgs = re.findall(r'<svg class="va-chart[^"]*".*?</svg>', html, re.S)
    assert len(svgs) == 5
    for svg in svgs:
        assert 'role="img"' in svg and "<style" not in svg and 'width="720"' not in svg
        title = re.search(r"<title>([^<]+)</title>", svg).group(1)
        sensor = title.split(":")[0]
        assert title == f"{sensor}: mean with min–max band"
        assert re.search(r'aria-label="([^"]+)"', svg).group(1) == (
            f"Chart of {sensor} on {facts['day']}"
        )
        for attr in ("data-ymin", "data-ymax", "data-min", "data-max", "data-mean", "data-points"):
            assert f' {attr}="' in svg
        ident = re.search(r' id="([^"]+)"', svg).group(1)
        href = re.search(r' data-file="([^"]+)"', svg).group(1)
        standalone = (page.parent / unquote(href)).read_text(encoding="utf-8")
        assert "<style>" in standalone and "prefers-color-scheme:dark" in standalone
        assert inline_svg(standalone, ident, href, f"Chart of {sensor} on {facts['day']}") == svg
        assert f'<a class="va-svg-link" href="{href}">SVG</a>' in html
    css = (report.html_dir / "assets/stylesheets/vault.css").read_text(encoding="utf-8")
    assert "svg.va-chart text { fill: var(--va-axis)" in css


def test_changed_chart_is_inlined_again_by_an_incremental_build(tmp_path):
    """A new rollup window changes the chart and so the day page's Markdown (the chart's
    digest): the incremental build renders that page again with the new inline SVG."""
    v, _ = Vault.init(tmp_path / "v", "hall")
    t0 = datetime(2025, 10, 14, tzinfo=UTC)

    def window(i: int, value: float) -> Rollup:
        start, end = t0 + timedelta(minutes=5 * i), t0 + timedelta(minutes=5 * i + 5)
        return Rollup(
            node="hall",
            sensor="hall-temp",
            quantity="temperature",
            unit="°C",
            start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            end=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            count=5,
            mean=value,
            min=value - 0.5,
            max=value + 0.5,
            last=value,
            stddev=0.1,
        )

    v.append_rollups([window(i, 20 + i / 10) for i in range(12)])
    v.commit("data", "edit")
    first = build_site(v)
    page = day_html(first.html_dir, "hall", "2025-10-14")
    inline, _ = charts_of(page)["chart-hall-temp"]
    assert inline["data-points"] == "12"
    v.append_rollups([window(100, 20.4)])  # a later window inside the day's range
    v.commit("more data", "edit")
    second = build_site(v)
    assert not second.full and second.html_rendered >= 1
    inline, chart = charts_of(page)["chart-hall-temp"]
    assert inline["data-points"] == "13" == chart.svgs[0]["data-points"]


def test_home_lists_nodes_observations_conflicts_dates(built):
    v, facts, report = built
    home = parse(report.html_dir / "index.html")
    text = home.text
    assert "office" in text and "Last seen" in text and "2015-02-04 10:4" in text
    assert "Sensors 5 Days 3 Observations 2" in text
    assert "pir-6" in text and "Sensors 1 Days 7" in text
    assert "CO2 peak in the afternoon" in text and "Lights on" in text
    assert text.index("CO2 peak") < text.index("Lights on")  # newest first
    assert "Office notes.sync-conflict-20150204-101500-llama.md" in text
    assert any(unquote(x).endswith("nodes/office/days/2015-02-03.html") for x in home.links)
    assert "search" in " ".join(home.classes)  # the search box is there


def test_node_page_sensors_memory_timeline(built):
    v, facts, report = built
    page = parse(report.html_dir / "nodes/office/index.html")
    table = next(t for t in page.tables if t and t[0][0] == "Sensor")
    rows = {r[0]: r for r in table[1:]}
    last = expected_day(v, "agents/office/sensors/2015/02/2015-02-04.jsonl")
    assert rows["office-co2"][1] == "co2" and rows["office-co2"][2] == "ppm"
    assert rows["office-temperature"][3] == f"{fmt_num(last['office-temperature']['last'])} °C"
    assert "Occupied on weekdays from 08:00 to 18:00." in page.text
    assert "va-timeline" in page.classes and "CO2 peak in the afternoon" in page.text


def test_day_page_observations_in_time_order(built):
    v, facts, report = built
    page = parse(day_html(report.html_dir, "office", facts["day"]))
    text = page.text
    assert text.index("Lights on") < text.index("CO2 peak in the afternoon")
    assert "← 2015-02-02" in text and "2015-02-04 →" in text


def test_observation_page_metadata_and_source_links(built):
    v, facts, report = built
    p = report.html_dir / "nodes/office/observations" / f"{facts['obs_id']}.html"
    page = parse(p)
    meta = next(t for t in page.tables if t and t[0][0] == "id")
    box = {r[0]: r[1] for r in meta}
    assert box["id"] == facts["obs_id"] and box["node"] == "office"
    assert box["confidence"].startswith("0.8") and box["model"] == "rules/v1"
    assert box["facts"] == '{"co2_max": 1402}'
    assert box["source"] == facts["src"]
    assert "CO2 rose to 1402 ppm" in page.text
    hrefs = [unquote(x) for x in page.links]
    assert "../days/2015-02-03.html" in hrefs
    assert "../days/2015-02-03.html#sensor-office-co2" in hrefs


def test_wikilinks_resolved_and_broken_listed(built):
    v, facts, report = built
    h = report.html_dir
    page = parse(h / "kb/Heizung/Wohnzimmer Überblick.html")
    hrefs = [unquote(x) for x in page.links]
    assert "../Office notes.html" in hrefs
    assert "../Office notes.html#co2-levels" in hrefs
    assert "the office" in page.text
    assert "[[inside code]]" in page.text  # code is left alone
    back = parse(h / "kb/Office notes.html")
    assert "Heizung/Wohnzimmer Überblick.html#thermostat" in [unquote(x) for x in back.links]
    assert "[[not a link]]" in back.text
    index = parse(h / "knowledge-base.html")
    assert "Missing page" in index.text and "Broken links" in index.text
    assert [b.target for b in report.broken_links] == ["Missing page"]


def test_interaction_cites_sources_as_links(built):
    v, facts, report = built
    rel = facts["ask_rel"][:-3] + ".html"
    page = parse(report.html_dir / rel)
    hrefs = [unquote(x) for x in page.links]
    obs_link = f"../../nodes/office/observations/{facts['obs_id']}.html"
    assert obs_link in hrefs  # the [1] marker and the [[source]] line
    assert "../../nodes/office/days/2015-02-03.html" in hrefs
    assert "When was CO2 highest on 2015-02-03?" in page.text
    index = parse(report.html_dir / "interactions.html")
    assert any(unquote(x) == rel for x in index.links)


def test_conflicts_page(built):
    v, facts, report = built
    page = parse(report.html_dir / "conflicts.html")
    assert "knowledge-base/Office notes.sync-conflict-20150204-101500-llama.md" in page.text
    assert "llama" in page.text and "Their version." in page.text
    assert "kb/Office notes.html" in [unquote(x) for x in page.links]


EXTERNAL = re.compile(r"^(https?:)?//", re.I)


def test_offline_nothing_loaded_from_another_host(built):
    """No stylesheet, script, font, image or frame comes from another host: HTML tags,
    CSS url()/@import and the JS we ship are parsed for external loads."""
    v, facts, report = built
    h = report.html_dir
    for page in h.rglob("*.html"):
        for tag, src in parse(page).loads:
            assert not EXTERNAL.match(src), f"{page.relative_to(h)} loads {tag} {src}"
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text
        assert "unpkg.com" not in text
    for css in h.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(
            r"@import\s+['\"]([^'\"]+)", text
        ):
            assert not EXTERNAL.match(url.strip()), f"{css.name} loads {url}"
    # material's bundle knows two CDN scripts, each behind a condition our site never meets:
    # a ResizeObserver polyfill (only if the browser lacks ResizeObserver) and mermaid (only
    # for diagrams). Any other external URL a script could load fails the test.
    allowed = {
        "https://unpkg.com/resize-observer-polyfill": 'ResizeObserver=="undefined"',
        "https://unpkg.com/mermaid@11/dist/mermaid.min.js": 'mermaid=="undefined"',
    }
    for js in h.rglob("*.js"):
        text = js.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"importScripts\(\s*['\"]https?://", text), js.name
        assert "fonts.googleapis" not in text
        cdn = r"\"(https?://(?:unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com)/[^\"]*)\""
        for url in re.findall(cdn, text):
            assert url in allowed, f"{js.name} can load {url}"
            before = text[max(0, text.index(url) - 200) : text.index(url)]
            assert allowed[url] in before, f"{url} is not behind its condition"
    for page in h.rglob("*.html"):
        assert 'class="mermaid"' not in page.read_text(encoding="utf-8")
    cfg = (v.root / ".vault" / "site-mkdocs.yml").read_text()
    assert "font: false" in cfg


def test_search_index_covers_pages_and_works_offline(built):
    v, facts, report = built
    idx = json.loads((report.html_dir / "search/search_index.json").read_text())
    locations = {d["location"].split("#")[0] for d in idx["docs"]}
    assert "nodes/office/days/2015-02-03.html" in locations
    assert f"nodes/office/observations/{facts['obs_id']}.html" in locations
    js = (report.html_dir / "search/search_index.js").read_text()
    assert js.startswith("var __index = ") and json.loads(js[len("var __index = ") :]) == idx
    assert (report.html_dir / "assets/javascripts/file-worker.js").is_file()
    # the charts are not indexed as text
    assert not any("00:00 03:00" in d["text"] for d in idx["docs"])


def test_second_build_without_changes_is_a_no_op(built):
    v, facts, report = built
    again = build_site(v)
    assert not again.full and again.pages_written == 0
    assert again.html_rendered == 0 and again.pages_skipped >= report.pages_written


def test_out_dir_of_someone_else_is_refused(built, tmp_path):
    v, facts, report = built
    mine = tmp_path / "docs"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep me")
    with pytest.raises(SiteBuildError, match="not empty"):
        build_site(v, out=mine, clean=True)
    assert (mine / "precious.txt").read_text() == "keep me"


def test_cli_build_json_and_out(built, tmp_path):
    v, facts, report = built
    out = tmp_path / "www"
    res = CliRunner().invoke(
        main, ["site", "build", "--vault", str(v.root), "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["full"] and data["reason"] == "output folder changed"
    assert Path(data["html_dir"]) == out.resolve() and (out / "index.html").is_file()
    assert data["broken_links"] == [
        {"page": f"knowledge-base/{KB_NOTE}", "line": 3, "target": "Missing page"}
    ]
    res = CliRunner().invoke(main, ["site", "build", "--vault", str(v.root), "--no-progress"])
    assert res.exit_code == 0 and "full build (output folder changed)" in res.output


def test_cli_help_lists_build_and_serve():
    res = CliRunner().invoke(main, ["site", "--help"])
    assert res.exit_code == 0 and "build" in res.output and "serve" in res.output
