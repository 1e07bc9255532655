"""Agent session logs (issue 16: "vault log --kind agent and the site show them"): the MCP
audit lines of each node and UTC day are a table on the site, linked from the node page;
a line carrying HTML or script in its arguments renders as inert text. Real mkdocs build;
the lines are written by the MCP server's own audit log and read back here as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.test_site_helpers import parse
from vault_agent.mcp.audit import AuditLog
from vault_agent.site.build import build_site
from vault_agent.vault import Vault

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    v, _ = Vault.init(tmp_path_factory.mktemp("sessions") / "vault", "office")
    log = AuditLog(v)
    t = datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)
    log.record(
        "claude-ai",
        "read",
        {"path": "knowledge-base/heating.md"},
        allowed=True,
        ok=True,
        result_bytes=812,
        ms=3.14,
        now=t,
    )
    log.record(
        "open-webui",
        "write_note",
        {"path": "agents/other/memory/x.md", "content": HOSTILE},
        allowed=False,
        ok=False,
        result_bytes=95,
        ms=0.4,
        error="denied by write rule: agents/office/** only",
        now=t.replace(hour=10),
    )
    log.record(
        "claude-ai", "search", {"query": "co2"}, allowed=True, ok=True, result_bytes=2048,
        ms=41.0, now=datetime(2026, 11, 29, 8, 0, tzinfo=UTC),
    )  # fmt: skip
    # a line that is not JSON (a hostile or broken peer) is counted, never shown
    rel = "agents/office/sessions/2026/11/2026-11-29.jsonl"
    with v.path(rel).open("a", encoding="utf-8") as f:
        f.write("<b>not json</b>\n")
    v.commit("session logs", "agent")
    return v, build_site(v)


def lines_of(v: Vault, rel: str) -> list[dict]:
    out = []
    for ln in v.path(rel).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(ln))
        except ValueError:
            pass
    return out


def test_session_day_page_lists_every_call(built):
    v, report = built
    rel = "agents/office/sessions/2026/11/2026-11-28.jsonl"
    truth = lines_of(v, rel)
    assert len(truth) == 2
    page = parse(report.html_dir / "nodes/office/sessions/2026-11-28.html")
    table = next(t for t in page.tables if t and t[0][0] == "Time")
    assert table[0] == ["Time", "Client", "Tool", "Arguments", "Result", "ms", "Allowed"]
    rows = table[1:]
    assert len(rows) == len(truth)
    for row, line in zip(rows, truth, strict=True):
        assert row[0] == line["time"][11:19]
        assert row[1] == line["client"] and row[2] == line["tool"]
        error = line.get("error", "")
        assert row[3].endswith(error)
        assert json.loads(row[3][: len(row[3]) - len(error)]) == line["args"]
        assert row[6] == ("yes" if line["allowed"] else "denied")
    assert rows[0][4] == "812 B" and rows[1][6] == "denied"
    assert "denied by write rule" in rows[1][3]
    assert "2 tool call(s), 1 denied" in page.text


def test_hostile_arguments_render_inert(built):
    v, report = built
    html = (report.html_dir / "nodes/office/sessions/2026-11-28.html").read_text()
    article = html[html.index("<article") : html.index("</article>")]
    assert "<script>alert(1)" not in article and "<img src=x" not in article
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=" in article
    page = parse(report.html_dir / "nodes/office/sessions/2026-11-28.html")
    assert not any(src == "x" for _, src in page.loads)  # no <img src=x> came alive
    assert json.dumps(HOSTILE)[1:-1] in page.text  # shown as text, as logged (JSON)


def test_unreadable_line_is_counted_not_shown(built):
    v, report = built
    page = parse(report.html_dir / "nodes/office/sessions/2026-11-29.html")
    assert "1 tool call(s), 1 unreadable line(s) skipped (line 2)" in page.text
    assert "not json" not in page.text


def test_node_page_links_the_session_days(built):
    v, report = built
    node = parse(report.html_dir / "nodes/office/index.html")
    assert "3 MCP tool call(s) on 2 day(s), the latest on 2026-11-29" in node.text
    assert "../office/sessions.html" in node.links or "sessions.html" in node.links
    index = parse(report.html_dir / "nodes/office/sessions.html")
    table = next(t for t in index.tables if t and t[0][0] == "Day (UTC)")
    assert table[1:] == [["2026-11-29", "1"], ["2026-11-28", "2"]]
    # left out of the site search (tool arguments are not notes)
    idx = json.loads((report.html_dir / "search/search_index.json").read_text())
    assert not any("/sessions" in d["location"] for d in idx["docs"])


def test_new_call_rebuilds_only_its_day(built):
    v, report = built
    AuditLog(v).record(
        "ha-assist", "status", {}, allowed=True, ok=True, result_bytes=10, ms=1.0,
        now=datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
    )  # fmt: skip
    v.commit("one more call", "agent")
    again = build_site(v)
    assert not again.full
    page = parse(again.html_dir / "nodes/office/sessions/2026-11-29.html")
    assert "ha-assist" in page.text and "2 tool call(s)" in page.text
    index = parse(again.html_dir / "nodes/office/sessions.html")
    assert ["2026-11-29", "2"] in next(t for t in index.tables if t and t[0][0] == "Day (UTC)")
