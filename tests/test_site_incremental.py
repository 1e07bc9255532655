"""Incremental builds: only pages of changed days and files are regenerated and rendered;
the search index stays complete; deletions remove pages; --clean rebuilds all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.core_fixtures import commit_times
from tests.test_site_helpers import day_html, make_vault, parse
from vault_agent.site.build import build_site
from vault_agent.vault import Rollup, Vault


def rollup(
    node: str, sensor: str, start: datetime, value: float, unit: str = "°C", minutes: int = 5
) -> Rollup:
    end = start + timedelta(minutes=minutes)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return Rollup(
        node=node,
        sensor=sensor,
        quantity="temperature",
        unit=unit,
        start=start.strftime(iso),
        end=end.strftime(iso),
        count=5,
        mean=value,
        min=value - 0.5,
        max=value + 0.5,
        last=value,
        stddev=0.1,
    )


def search_pages(html) -> set[str]:
    idx = json.loads((html / "search/search_index.json").read_text())
    return {d["location"].split("#")[0] for d in idx["docs"]}


def add_temperature(v: Vault, when: datetime, value: float, commit: str | None = None) -> None:
    """Append one office-temperature rollup at ``when`` (°C); commit it if ``commit``."""
    v.append_rollups([rollup("office", "office-temperature", when, value)])
    if commit:
        v.commit(commit, "rollup")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    v, facts = make_vault(tmp_path_factory.mktemp("inc") / "vault")
    first = build_site(v)
    return v, facts, first


def test_one_changed_day_rebuilds_only_its_pages(real):
    v, facts, first = real
    html = first.html_dir
    other = day_html(html, "office", "2015-02-02")
    other_mtime = other.stat().st_mtime_ns
    before_search = search_pages(html)
    add_temperature(v, datetime(2015, 2, 3, 23, 0, tzinfo=UTC), 29.5, "late rollup")
    rep = build_site(v)
    assert not rep.full and rep.reason == "incremental"
    # the day page plus the overview pages that show it (home, dates, node, node days)
    assert 1 <= rep.pages_written <= 6, rep
    assert rep.html_rendered == rep.pages_written
    assert other.stat().st_mtime_ns == other_mtime  # untouched
    page = parse(day_html(html, "office", "2015-02-03"))
    table = next(t for t in page.tables if t and t[0][0] == "Sensor")
    temp = next(r for r in table[1:] if r[0] == "office-temperature")
    assert temp[2] == "289" and temp[5].split()[0] == "30"  # new window, new max 29.5 + 0.5
    assert search_pages(html) == before_search  # index still covers every page


def test_uncommitted_change_is_seen_then_reverted(real):
    v, facts, first = real
    html = first.html_dir
    path = v.path("agents/office/sensors/2015/02/2015-02-04.jsonl")
    original = path.read_bytes()
    add_temperature(v, datetime(2015, 2, 4, 22, 0, tzinfo=UTC), 12.25)
    rep = build_site(v)
    assert not rep.full and rep.pages_written >= 1
    assert "12.25" in day_html(html, "office", "2015-02-04").read_text()
    path.write_bytes(original)  # reverted without a commit: the build must notice
    rep = build_site(v)
    assert "12.25" not in day_html(html, "office", "2015-02-04").read_text()


def test_new_day_updates_neighbour_links(real):
    v, facts, first = real
    html = first.html_dir
    add_temperature(v, datetime(2015, 2, 6, 12, 0, tzinfo=UTC), 20.0, "new day")
    rep = build_site(v)
    assert not rep.full
    assert day_html(html, "office", "2015-02-06").is_file()
    assert "2015-02-06 →" in parse(day_html(html, "office", "2015-02-04")).text
    assert "nodes/office/days/2015-02-06.html" in search_pages(html)
    assert "2015-02-06" in parse(html / "dates.html").text


def test_deleted_observation_removes_its_page(real):
    v, facts, first = real
    html = first.html_dir
    page = html / "nodes/office/observations" / f"{facts['obs_id']}.html"
    assert page.is_file()
    v.path(facts["obs_rel"]).unlink()
    v.commit("drop observation", "observation")
    rep = build_site(v)
    # its page and the charts of its window (office-co2, office-temperature)
    assert rep.pages_deleted == 3 and not page.exists()
    assert not list((page.parent / facts["obs_id"]).glob("*.svg"))
    src = v.root / ".vault/site-src/nodes/office/observations" / f"{facts['obs_id']}.md"
    assert not src.exists()
    assert "CO2 peak in the afternoon" not in parse(day_html(html, "office", facts["day"])).text
    assert f"nodes/office/observations/{facts['obs_id']}.html" not in search_pages(html)


def test_kb_edit_regenerates_that_note(real):
    v, facts, first = real
    html = first.html_dir
    note = v.path("knowledge-base/Office notes.md")
    note.write_text(note.read_text() + "\nNew line about [[Missing page]] too.\n")
    rep = build_site(v)
    assert "New line about" in parse(html / "kb/Office notes.html").text
    assert sorted(b.page for b in rep.broken_links) == [
        "knowledge-base/Heizung/Wohnzimmer Überblick.md",
        "knowledge-base/Office notes.md",
    ]
    assert rep.html_rendered <= 6


def test_bad_rollup_line_is_reported_and_skipped(real):
    v, facts, first = real
    path = v.path("agents/office/sensors/2015/02/2015-02-02.jsonl")
    n = len(path.read_text().splitlines())
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"v":1,"node":"office","sensor":"x"}\n')
    rep = build_site(v)
    rel = "agents/office/sensors/2015/02/2015-02-02.jsonl"
    assert any(p.startswith(f"{rel}:{n + 1}:") and "lacks" in p for p in rep.problems)
    assert "1 bad line(s) skipped" in parse(day_html(first.html_dir, "office", "2015-02-02")).text
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:n]))
    rep = build_site(v)
    assert not rep.problems


def test_removed_day_drops_its_pages_and_charts(real):
    v, facts, first = real
    html = first.html_dir
    add_temperature(v, datetime(2015, 2, 9, 12, 0, tzinfo=UTC), 20.0, "a day")
    build_site(v)
    chart = day_html(html, "office", "2015-02-09").parent / "2015-02-09/office-temperature.svg"
    assert chart.is_file()
    v.path("agents/office/sensors/2015/02/2015-02-09.jsonl").unlink()
    v.commit("drop the day", "rollup")
    rep = build_site(v)
    # the page, its chart and the sensor's week page of 2015-W07, which held only that day
    # (the month page 2015-02 keeps the other days)
    week = html / "nodes/office/sensors/office-temperature/2015-W07.html"
    month = html / "nodes/office/sensors/office-temperature/2015-02.html"
    assert rep.pages_deleted == 3 and not week.exists() and month.exists()
    assert not day_html(html, "office", "2015-02-09").exists() and not chart.exists()
    assert "2015-02-09" not in parse(day_html(html, "office", "2015-02-06")).text


def test_clean_rebuilds_everything(real):
    v, facts, first = real
    stray = first.html_dir / "stray.html"
    stray.write_text("<p>old</p>")
    rep = build_site(v, clean=True)
    assert rep.full and rep.reason == "--clean"
    assert rep.pages_skipped == 0 and rep.html_rendered == rep.pages_written
    assert not stray.exists()


def test_template_change_forces_full_build(real):
    v, facts, first = real
    state = v.root / ".vault/site-state.json"
    data = json.loads(state.read_text())
    data["template"] = "something else"
    state.write_text(json.dumps(data))
    rep = build_site(v)
    assert rep.full and rep.reason == "site template changed"


def test_rewritten_history_forces_full_build(real):
    v, facts, first = real
    state = v.root / ".vault/site-state.json"
    data = json.loads(state.read_text())
    data["commit"] = "0" * 40
    state.write_text(json.dumps(data))
    rep = build_site(v)
    assert rep.full and "not found" in rep.reason


def test_names_with_spaces_and_non_ascii(tmp_path):
    """A vault folder, sensor names and knowledge-base paths with spaces and non-ASCII."""
    v, _ = Vault.init(tmp_path / "Mein Tresör", "kitchen")
    t0 = datetime(2025, 10, 14, tzinfo=UTC)
    v.append_rollups(
        [
            rollup("kitchen", "Küche Temp 1", t0 + timedelta(minutes=5 * i), 20 + i / 10)
            for i in range(12)
        ]
    )
    (v.path("knowledge-base/Räume und Geräte")).mkdir(parents=True)
    v.path("knowledge-base/Räume und Geräte/Kühlschrank (alt).md").write_text(
        "# Kühlschrank\n\nSiehe [[Küche#Übersicht]].\n", encoding="utf-8"
    )
    v.path("knowledge-base/Küche.md").write_text(
        "# Küche\n\n## Übersicht\n\nText.\n", encoding="utf-8"
    )
    v.commit("data", "edit")
    rep = build_site(v)
    assert not rep.broken_links
    assert "Mein Tresör" in parse(rep.html_dir / "index.html").text
    day = parse(day_html(rep.html_dir, "kitchen", "2025-10-14"))
    assert "sensor-küche-temp-1" in day.ids
    assert "chart-küche-temp-1" in {i.get("id") for i in day.svgs}  # inlined chart
    assert (
        day_html(rep.html_dir, "kitchen", "2025-10-14").parent / "2025-10-14" / "küche-temp-1.svg"
    ).is_file()
    fridge = rep.html_dir / "kb/Räume und Geräte/Kühlschrank (alt).html"
    assert fridge.is_file()
    from urllib.parse import unquote

    assert "../Küche.html#ubersicht" in [unquote(x) for x in parse(fridge).links]
    assert "ubersicht" in parse(rep.html_dir / "kb/Küche.html").ids
    node = parse(rep.html_dir / "nodes/kitchen/index.html")
    assert any(unquote(x).endswith("days/2025-10-14.html#sensor-küche-temp-1") for x in node.links)


def test_last_sync_from_sync_state_and_merge_commits(tmp_path):
    """This node's last sync comes from .vault/sync/peers.json; every node's from its
    newest merge commit in git history."""
    from vault_agent.site.catalog import Catalog
    from vault_agent.site.status import node_statuses
    from vault_agent.sync import state as sync_state
    from vault_agent.vault import repo as git

    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    other = Vault(v.root, "llama")
    other.append_rollups([rollup("llama", "t", datetime(2025, 10, 14, tzinfo=UTC), 20.0)])
    other.commit("llama data", "rollup")
    assert [s.last_sync for s in node_statuses(v, Catalog(), ["alpaca-1", "llama"])] == [None, None]
    git.commit(v.repo, "Merge alpaca-1 from nas", "llama", "merge", allow_empty=True)
    sync_state.update(v, "nas", sync_state.PeerState(last_success="2025-10-14T12:00:00Z"))
    by_node = {s.node: s for s in node_statuses(v, Catalog(), ["alpaca-1", "llama"])}
    assert by_node["alpaca-1"].last_sync == "2025-10-14T12:00:00Z"
    assert by_node["llama"].last_sync is not None and by_node["llama"].last_sync[:4] >= "2025"
    rep = build_site(v)
    home = parse(rep.html_dir / "index.html").text
    assert "Last sync 2025-10-14 12:00" in home
    # llama's agent is judged from its newest commit (HEAD here), read with plain git
    t = commit_times(v.root, "-1")[0][0]
    assert f"Agent up, last write {t:%Y-%m-%d %H:%M} UTC" in home
    llama_page = parse(rep.html_dir / "nodes" / "llama" / "index.html").text
    assert f"agent up, last write {t:%Y-%m-%d %H:%M} UTC" in llama_page


def test_day_note_is_pointed_to(real):
    v, facts, first = real
    rel = "agents/office/daily/2015/02/2015-02-03.md"
    v.write_file(rel, "# office 2015-02-03\n")
    v.commit("day note", "observation")
    build_site(v)
    assert (
        f"Day note in the vault: {rel}"
        in parse(day_html(first.html_dir, "office", "2015-02-03")).text
    )
