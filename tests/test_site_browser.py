"""The built site in a real browser: Debian's headless chromium loads the served home and
day pages (screenshots must render: not blank, search box, chart visible) and runs the
built-in search both over HTTP and from file:// (offline). Skipped without chromium."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.png import pixel_stats
from tests.test_site_helpers import make_vault
from vault_agent.mcp.audit import AuditLog
from vault_agent.site.build import build_site
from vault_agent.site.serve import make_server

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
CHART_LINE = (0x1D, 0x6F, 0xB8)  # --va-line in site/overrides/assets/stylesheets/vault.css
SHOTS_ENV = "VAULT_SCREENSHOTS"  # keep the screenshots in this folder (default: tmp)


class Browser:
    """Headless chromium driven over the DevTools protocol on a pipe (``--remote-debugging-
    pipe``: JSON messages separated by NUL on fds 3 and 4), so a test can wait for the page
    to reach a state instead of guessing a delay."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def fds() -> None:
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "--window-size=1280,1500",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,
            close_fds=False,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and wait for its result (events are skipped)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            while b"\0" not in self._buf:
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
        raise TimeoutError(method)

    def goto(self, url: str) -> None:
        """Navigate the page."""
        self.call("Page.navigate", self.session, url=url)

    def wait_for(self, expression: str, timeout: float = 20.0):
        """Evaluate ``expression`` until it is truthy; returns its value (or the last falsy)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            res = self.call(
                "Runtime.evaluate", self.session, expression=expression, returnByValue=True
            )
            value = res.get("result", {}).get("value")
            if value:
                return value
            time.sleep(0.2)
        return value

    def close(self) -> None:
        """End chromium."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not CHROMIUM:
        pytest.skip("chromium not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("browser")
    v, facts = make_vault(root / "vault")
    log = AuditLog(v)  # MCP tool calls, one of them denied with markup in its arguments
    t = datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)
    log.record(
        "claude-ai", "read", {"path": "knowledge-base/Office notes.md"}, allowed=True,
        ok=True, result_bytes=812, ms=3.1, now=t,
    )  # fmt: skip
    log.record(
        "open-webui", "write_note",
        {"path": "agents/llama/memory/x.md", "content": "<script>alert(1)</script> note " * 8},
        allowed=False, ok=False, result_bytes=95, ms=0.4,
        error="denied by write rule: agents/office/** only", now=t.replace(hour=10),
    )  # fmt: skip
    v.commit("agent sessions", "agent")
    report = build_site(v)
    server = make_server(report.html_dir, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    yield report.html_dir, base, root / "profile", facts
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "page,charts", [("index.html", False), ("nodes/office/days/2015-02-03.html", True)]
)
def test_pages_render_in_chromium(site, browser, page, charts):
    html, base, profile, facts = site
    shots = Path(os.environ.get(SHOTS_ENV) or profile.with_name("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    try:
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            browser.session,
            width=1280,
            height=1500,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.goto(base + page)
        done = "document.readyState === 'complete'"
        if charts:  # the inline chart SVGs are laid out
            done += " && document.querySelectorAll('svg.va-chart').length > 0"
        assert browser.wait_for(done), page
        png = browser.call("Page.captureScreenshot", browser.session, format="png")["data"]
        dom = browser.wait_for("document.documentElement.outerHTML")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", browser.session)
    shot = shots / (page.replace("/", "_") + ".png")
    shot.write_bytes(base64.b64decode(png))
    colours, ink, line_px = pixel_stats(shot, CHART_LINE)
    assert colours > 200 and ink > 0.03, "screenshot looks blank"
    assert 'class="md-search__input"' in dom
    assert "md-header" in dom and "Node" in dom
    if charts:
        assert dom.count('class="va-chart"') == 5
        assert line_px > 300, "no chart line visible in the screenshot"
    else:
        assert "va-card" in dom and "CO2 peak in the afternoon" in dom


@pytest.fixture(scope="module")
def browser(site):
    b = Browser(site[2].with_name("cdp-profile"))
    yield b
    b.close()


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_builtin_search_finds_pages(site, browser, scheme):
    """Material's search opens with ?q=; over HTTP it fetches the index, from file:// it
    runs through our worker shim and the offline plugin's inlined index."""
    html, base, profile, facts = site
    url = (base if scheme == "http" else html.as_uri() + "/") + "index.html?q=afternoon"
    browser.goto(url)
    titles = browser.wait_for(
        "Array.from(document.querySelectorAll('.md-search-result__item h1,"
        " .md-search-result__item h2')).map(e => e.textContent).join('|')"
    )
    assert titles, f"no search results over {scheme}"
    assert "CO2 peak in the afternoon" in titles


def test_charts_are_inline_with_size(site, browser):
    html, base, profile, facts = site
    browser.goto(base + "nodes/office/days/2015-02-03.html")
    boxes = browser.wait_for(
        "(() => { if (document.readyState !== 'complete') return null;"
        " const svgs = Array.from(document.querySelectorAll('svg.va-chart'));"
        " return [document.querySelectorAll('img.va-chart').length, ...svgs.map(s =>"
        " [s.getBoundingClientRect().width, s.getBoundingClientRect().height,"
        "  s.querySelector('title').textContent])]; })()"
    )
    assert boxes and boxes[0] == 0 and len(boxes) == 6, boxes
    assert all(w > 500 and h > 120 and t.endswith("band") for w, h, t in boxes[1:]), boxes


def luminance(css_colour: str) -> float:
    """Relative luminance (WCAG 2.1) of a computed ``rgb(...)``/``rgba(...)`` colour,
    alpha ignored: 0 black … 1 white."""
    r, g, b = (float(x) / 255 for x in css_colour[css_colour.index("(") + 1 : -1].split(",")[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


CHART_COLOURS = (
    "(() => { const svg = document.querySelector('svg.va-chart'); if (!svg) return null;"
    " const st = e => getComputedStyle(e);"
    " return {scheme: document.body.getAttribute('data-md-color-scheme'),"
    " axis: st(svg.querySelector('text.xtick')).fill,"
    " unit: st(svg.querySelector('text.unit')).fill,"
    " line: st(svg.querySelector('.mean')).stroke,"
    " chart_bg: st(svg).backgroundColor,"
    " caption: st(svg.closest('figure').querySelector('figcaption')).color}; })()"
)


def toggle_palette(browser, index: int, scheme: str) -> dict | None:
    """Click material's palette toggle ``index``; the chart colours once ``scheme`` is on."""
    browser.call(
        "Runtime.evaluate",
        browser.session,
        expression=(f"document.querySelector('label[for=\"__palette_{index}\"]').click()"),
    )
    return browser.wait_for(
        CHART_COLOURS.replace(
            "if (!svg) return null;",
            f"if (!svg || document.body.getAttribute('data-md-color-scheme') !== '{scheme}')"
            " return null;",
        )
    )


def test_charts_follow_the_palette_toggle(site, browser):
    """Clicking material's palette toggle (light → slate) turns the chart's axis text light
    and its background dark, and back; in both schemes the axis text contrasts with the
    chart background, as does the caption with the page."""
    html, base, profile, facts = site
    browser.goto(base + "nodes/office/days/2015-02-03.html")
    light = browser.wait_for(CHART_COLOURS)
    assert light and light["scheme"] == "default", light
    dark = toggle_palette(browser, 1, "slate")
    assert dark and dark["scheme"] == "slate", dark
    assert luminance(light["axis"]) < 0.2 < 0.5 < luminance(dark["axis"]), (light, dark)
    assert luminance(dark["unit"]) > 0.6 and luminance(light["unit"]) < 0.1
    assert luminance(light["chart_bg"]) > 0.8 and luminance(dark["chart_bg"]) < 0.05
    assert luminance(dark["caption"]) > 0.5 > luminance(light["caption"])
    assert light["line"] != dark["line"] and luminance(dark["line"]) > luminance(light["line"])
    back = toggle_palette(browser, 0, "default")
    assert back == light


def test_standalone_svg_follows_prefers_color_scheme(site, browser):
    """The linked SVG file, opened on its own, has its own light and dark colours."""
    html, base, profile, facts = site
    url = base + "nodes/office/days/2015-02-03/office-co2.svg"
    expr = (
        "(() => { const t = document.querySelector('text.xtick'); if (!t) return null;"
        " return [getComputedStyle(t).fill,"
        " getComputedStyle(document.documentElement).backgroundColor]; })()"
    )
    found = {}
    try:
        for scheme in ("light", "dark"):
            browser.call(
                "Emulation.setEmulatedMedia",
                browser.session,
                features=[{"name": "prefers-color-scheme", "value": scheme}],
            )
            browser.goto(url)
            browser.wait_for(expr)
            time.sleep(0.2)
            found[scheme] = browser.wait_for(expr)
    finally:
        browser.call("Emulation.setEmulatedMedia", browser.session, features=[])
    (light_text, light_bg), (dark_text, dark_bg) = found["light"], found["dark"]
    assert luminance(light_bg) > 0.99 and luminance(light_text) < 0.2
    assert luminance(dark_bg) < 0.05 and luminance(dark_text) > 0.5


PHONE_PAGES = [
    "index.html",
    "nodes/office/index.html",
    "nodes/office/days/2015-02-03.html",
    "nodes/office/sensors/office-co2/2015-W06.html",
    "nodes/pir-6/days/2017-12-22.html",
    "OBSERVATION",  # the observation page of the fixture (its window charts)
    "nodes/office/sessions/2026-11-28.html",
]
LAYOUT = (
    "(() => { if (document.readyState !== 'complete') return null;"
    " const texts = Array.from(document.querySelectorAll('svg.va-chart text.xtick'));"
    " const tables = Array.from(document.querySelectorAll('article table'));"
    " return {width: document.documentElement.clientWidth,"
    "  tables: tables.map(t => { const box = t.closest('.va-scroll');"
    "   return box ? [box.getBoundingClientRect().right, 0]"
    "    : [t.getBoundingClientRect().right, t.scrollWidth - t.clientWidth]; }),"
    "  label_px: texts.map(t => t.getBoundingClientRect().height)}; })()"
)


@pytest.mark.parametrize("page", PHONE_PAGES)
def test_pages_fit_a_phone_and_charts_stay_legible(site, browser, page):
    """At 390 px (a phone) generated tables fit the screen without side-scrolling and
    chart axis labels are at least 9 px tall; at 1400 px and 390 px a screenshot is saved
    (VAULT_SCREENSHOTS) for people to look at."""
    html, base, profile, facts = site
    if page == "OBSERVATION":
        page = f"nodes/office/observations/{facts['obs_id']}.html"
    shots = Path(os.environ.get(SHOTS_ENV) or profile.with_name("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    try:
        for width in (1400, 390):
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                browser.session,
                width=width,
                height=1600,
                deviceScaleFactor=1,
                mobile=width < 600,
            )
            browser.goto(base + page)
            got = browser.wait_for(LAYOUT)
            assert got, page
            png = browser.call("Page.captureScreenshot", browser.session, format="png")["data"]
            name = page.replace("/", "_").replace(".html", f"-{width}.png")
            (shots / name).write_bytes(base64.b64decode(png))
            if width == 390:
                # a table fits, or scrolls inside a box that fits (.va-scroll)
                for right, overflow in got["tables"]:
                    assert right <= got["width"] + 1 and overflow <= 1, (page, got)
                assert all(h >= 9 for h in got["label_px"]), (page, got["label_px"])
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", browser.session)


SEARCH_RESULTS = (
    "(() => { const items = Array.from(document.querySelectorAll('.md-search-result__item'));"
    " const t = document.querySelector('.va-qa-toggle');"
    " if (!items.length && !(t && /hidden/.test(t.textContent))) return null;"
    " return {toggle: t ? t.textContent.trim() : null,"
    "  items: items.map(i => ({href: i.querySelector('a').getAttribute('href'),"
    "   shown: getComputedStyle(i).display !== 'none',"
    "   title: (i.querySelector('h1, h2') || {}).textContent || '',"
    "   text: i.textContent}))}; })()"
)


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_search_leaves_out_qa_unless_asked(site, browser, scheme):
    """Issue 17: a logged Q&A that matches is hidden from the results, the checkbox says
    so; ticking "Include logged Q&A" shows it (after the observation); a result shows
    the observation's title, window date, node and text. Over HTTP and from file://."""
    html, base, profile, facts = site
    if scheme == "file":
        base = html.as_uri() + "/"
    browser.goto(base + "index.html")
    browser.wait_for("document.readyState === 'complete'")
    browser.call("Runtime.evaluate", browser.session, expression="sessionStorage.clear()")
    browser.goto(base + "index.html?q=1402")
    got = browser.wait_for(SEARCH_RESULTS)
    assert got and got["toggle"] == "Include logged Q&A (1 hidden)", got
    shown = [i for i in got["items"] if i["shown"]]
    assert shown[0]["title"] == "CO2 peak in the afternoon", got
    assert "2015-02-03 16:00–17:00 UTC · office" in shown[0]["text"]
    assert "1402 ppm" in shown[0]["text"]
    assert not any("interactions/" in i["href"] for i in shown), got
    hidden = [i for i in got["items"] if not i["shown"]]
    assert [i["title"] for i in hidden] == ["When was CO2 highest on 2015-02-03?"], got
    browser.call(
        "Runtime.evaluate",
        browser.session,
        expression="document.getElementById('va-qa-toggle').click()",
    )
    after = browser.wait_for(
        SEARCH_RESULTS.replace(
            "return {", "if (!/shown/.test(t.textContent)) return null; return {"
        )
    )
    assert after and after["toggle"] == "Include logged Q&A (1 shown)", after
    assert all(i["shown"] for i in after["items"])
    assert "interactions/" in after["items"][-1]["href"]  # ranked after the notes
    assert "Asked on office at 2015-02-05 09:00" in after["items"][-1]["text"]
    # only Q&A match: nothing shown until asked; ?qa=1 asks
    browser.call("Runtime.evaluate", browser.session, expression="sessionStorage.clear()")
    browser.goto(base + "index.html?q=highest")
    only = browser.wait_for(SEARCH_RESULTS)
    assert only and only["toggle"] == "Include logged Q&A (1 hidden)", only
    assert not any(i["shown"] for i in only["items"])
    browser.goto(base + "index.html?q=highest&qa=1")
    asked = browser.wait_for(
        SEARCH_RESULTS.replace(
            "return {", "if (!/shown/.test(t.textContent)) return null; return {"
        )
    )
    assert asked and [i["shown"] for i in asked["items"]] == [True], asked
