"""Hostile content in real headless Chromium: pages seeded with script, ``onerror``,
``javascript:`` links, ``<svg onload>``, iframes and friends (tests/support/hostile_site.py)
are opened over HTTP (what ``vault site serve`` serves) and from file://, searched and
clicked; no payload may run, no request may leave the site, ordinary markup must stay and
mkdocs-material's own scripts must still work. Skipped without chromium."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote

import pytest

from tests.support.hostile_site import EXTERNAL_IMAGE, PAYLOADS, make_hostile_vault
from tests.test_site_browser import CHROMIUM, Browser
from vault_agent.site.build import build_site
from vault_agent.site.serve import make_server
from vault_agent.site.urls import interaction_page, observation_page

pytestmark = pytest.mark.browser

STATE = (
    "(() => { if (document.readyState !== 'complete') return null;"
    " return {pwned: window.__pwned === undefined ? null : window.__pwned,"
    " title: document.title, text: document.body.innerText,"
    " material: typeof window.component$ !== 'undefined'"
    "  && typeof window.document$ !== 'undefined',"
    " resources: performance.getEntriesByType('resource').map(e => e.name),"
    " images: Array.from(document.images).map(i => i.src)}; })()"
)
CONTENT_DANGER = (
    "(() => { const c = document.querySelector('article.md-content__inner');"
    " if (!c) return 'no content';"
    " const bad = [];"
    " for (const el of c.querySelectorAll('*')) {"
    "  const tag = el.tagName.toLowerCase();"
    "  if (['script','iframe','object','embed','style','form','math','meta','link'].includes(tag))"
    "   bad.push(tag);"
    "  if (tag === 'svg' && !el.classList.contains('va-chart')) bad.push('svg');"
    "  for (const a of el.attributes) {"
    "   if (a.name.startsWith('on')) bad.push(tag + '@' + a.name);"
    "   if (['href','src','action','formaction','xlink:href'].includes(a.name)"
    "       && /^\\s*(javascript|data|vbscript):/i.test(a.value)) bad.push(tag + '@' + a.name);"
    "  }"
    " }"
    " return bad; })()"
)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    if not CHROMIUM:
        pytest.skip("chromium not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("hostile")
    v, facts = make_hostile_vault(root / "vault")
    report = build_site(v)
    server = make_server(report.html_dir, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    browser = Browser(root / "profile")
    pages = {
        "kb": "kb/hostile.html",
        "ordinary": "kb/ordinary.html",
        "ask": quote(interaction_page(facts["ask_rel"])[:-3] + ".html"),
        "obs": observation_page("office", facts["obs_id"])[:-3] + ".html",
        "home": "index.html",
        "interactions": "interactions.html",
        "day": f"nodes/office/days/{facts['day']}.html",
        "node": "nodes/office/index.html",
        "kb-index": "knowledge-base.html",
    }
    yield report, base, browser, pages
    browser.close()
    server.shutdown()
    server.server_close()


def evaluate(browser: Browser, expression: str):
    """The value of ``expression`` in the page, now."""
    res = browser.call(
        "Runtime.evaluate", browser.session, expression=expression, returnByValue=True
    )
    return res.get("result", {}).get("value")


def settle(browser: Browser) -> dict:
    """The page state once loaded and a moment later (failed images fire onerror late)."""
    assert browser.wait_for(STATE), "page did not load"
    time.sleep(0.8)
    return browser.wait_for(STATE)


@pytest.mark.parametrize(
    "name,marker",
    [
        ("kb", "kbmarker"),
        ("ask", "askmarker"),
        ("obs", "obsmarker"),
        ("home", "obsmarker"),
        ("interactions", "askmarker"),
        ("day", "obsmarker"),
        ("node", "obsmarker"),
    ],
)
@pytest.mark.parametrize("scheme", ["http", "file"])
def test_no_payload_runs(hostile_site, name, marker, scheme):
    report, base, browser, pages = hostile_site
    root = base if scheme == "http" else report.html_dir.as_uri() + "/"
    browser.goto(root + pages[name])
    state = settle(browser)
    assert marker in state["text"], f"payload text missing from {name}: the test would be vacuous"
    assert state["pwned"] is None, f"payload {state['pwned']} ran on {name}"
    assert not state["title"].startswith("PWNED")
    assert state["material"], "mkdocs-material's scripts did not start"
    assert evaluate(browser, CONTENT_DANGER) == [], name
    # clicking what is left of the hostile links and buttons runs nothing either
    browser.call(
        "Runtime.evaluate",
        browser.session,
        expression="document.querySelectorAll('article a:not([href]), article button,"
        " article details summary').forEach(e => e.click())",
    )
    time.sleep(0.3)
    assert evaluate(browser, STATE)["pwned"] is None


def test_the_detector_sees_payloads_that_run(hostile_site):
    """Control: the same payloads in an unsanitised page do run and are seen."""
    report, base, browser, pages = hostile_site
    raw = "".join(PAYLOADS.values())
    (report.html_dir / "control.html").write_text(
        f"<!doctype html><title>control</title><body>{raw}</body>", encoding="utf-8"
    )
    browser.goto(base + "control.html")
    state = settle(browser)
    assert state["pwned"] is not None and state["title"].startswith("PWNED")


def test_no_third_party_requests_by_default(hostile_site):
    report, base, browser, pages = hostile_site
    browser.goto(base + pages["kb"])
    state = settle(browser)
    outside = [u for u in state["resources"] + state["images"] if not u.startswith(base)]
    assert outside == [], outside
    links = browser.wait_for(
        "Array.from(document.querySelectorAll('a.va-external')).map(a => a.href)"
    )
    assert EXTERNAL_IMAGE in links and "https://video.example/embed/1" in links


@pytest.mark.parametrize("query", ["obsmarker", "kbmarker"])
def test_search_results_run_nothing(hostile_site, query):
    """Material renders search results as HTML: titles and excerpts from hostile pages
    must arrive there escaped. (Interaction pages are not in the search index at all:
    tests/test_site_readable.py.)"""
    report, base, browser, pages = hostile_site
    browser.goto(base + f"index.html?q={query}")
    found = browser.wait_for(
        "document.querySelectorAll('.md-search-result__item').length", timeout=20
    )
    assert found, f"search for {query} found nothing"
    time.sleep(0.8)
    state = browser.wait_for(STATE)
    assert state["pwned"] is None and not state["title"].startswith("PWNED")
    bad = browser.wait_for(
        "Array.from(document.querySelectorAll('.md-search-result *')).filter(e =>"
        " ['script','img','iframe','svg'].includes(e.tagName.toLowerCase()) ||"
        " Array.from(e.attributes).some(a => a.name.startsWith('on'))).length + 0 || 'none'"
    )
    assert bad == "none"


def test_ordinary_markup_survives(hostile_site):
    report, base, browser, pages = hostile_site
    browser.goto(base + pages["ordinary"])
    settle(browser)
    got = browser.wait_for(
        "(() => { const c = document.querySelector('article.md-content__inner'); return {"
        " kbd: c.querySelectorAll('kbd').length,"
        " table: !!c.querySelector('table.plain'),"
        " details: c.querySelectorAll('details > summary').length,"
        " img: Array.from(c.querySelectorAll('img')).map(i => [i.getAttribute('src'),"
        "  i.naturalWidth]),"
        " tags: Array.from(c.querySelectorAll('.va-tag')).map(t => t.textContent),"
        " title: document.title}; })()"
    )
    assert got["kbd"] == 2 and got["table"] and got["details"] == 1, got
    assert got["img"] == [["plan.png", 1]], got
    assert got["tags"] == ["heating", "how-to"], got
    assert got["title"].startswith("Ordinary markup")
