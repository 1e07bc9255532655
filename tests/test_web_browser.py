"""The dashboard in real headless Chromium (DevTools protocol over a pipe) at 1400 px and
390 px: the Status page and a 7-day History load, charts hold data points and draw them,
hovering shows values, observations are marked, the live feed shows a new observation,
and no console error or failed load happens. Screenshots are kept as test artefacts in
``$VAULT_SCREENSHOTS`` (default: a tmp folder). Skipped without chromium."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.web import all_lines, server, site_dir, vault
from tests.test_site_browser import CHROMIUM, SHOTS_ENV, Browser

__all__ = ["server", "site_dir", "vault"]  # fixtures
pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": (1400, 1000, False), "phone": (390, 844, True)}
# Recorded before any page script runs: errors, failed loads (capture phase), rejections,
# console.error calls.
ERROR_TRAP = """
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.__errors.push(
    t && t !== window ? 'failed to load ' + (t.src || t.href) : String(e.message));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__errors.push(String(e.reason));
});
var __ce = console.error;
console.error = function () {
  window.__errors.push(Array.from(arguments).join(' '));
  __ce.apply(console, arguments);
};
"""
# Pixels of a chart canvas close to the line colour (--accent): the line was drawn.
INK = """
(function () {
  var out = [];
  document.querySelectorAll('.chart canvas').forEach(function (c) {
    var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    var a = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
    var rgb = [1, 3, 5].map(function (k) { return parseInt(a.slice(k, k + 2), 16); });
    var n = 0;
    for (var i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40
          && Math.abs(d[i + 2] - rgb[2]) < 40) n++;
    }
    out.push(n);
  });
  return out;
})()
"""


# The first chart's plot area (page CSS px): left, top, width, height.
PLOT_BOX = """(function () {
  var o = document.querySelector('.chart .u-over').getBoundingClientRect();
  return [o.left, o.top, o.width, o.height]; })()"""


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM:
        pytest.skip("chromium not installed (apt-get install chromium)")
    b = Browser(tmp_path_factory.mktemp("cdp"))
    b.call("Page.enable", b.session)
    b.call("Page.addScriptToEvaluateOnNewDocument", b.session, source=ERROR_TRAP)
    yield b
    b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get(SHOTS_ENV) or tmp_path_factory.mktemp("web-shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def viewport(b: Browser, name: str) -> None:
    w, h, mobile = VIEWPORTS[name]
    b.call(
        "Emulation.setDeviceMetricsOverride",
        b.session,
        width=w,
        height=h,
        deviceScaleFactor=1,
        mobile=mobile,
    )


def evaluate(b: Browser, expression: str):
    res = b.call("Runtime.evaluate", b.session, expression=expression, returnByValue=True)
    return res.get("result", {}).get("value")


def screenshot(b: Browser, path: Path) -> None:
    data = b.call("Page.captureScreenshot", b.session, format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(data["data"]))


def no_errors(b: Browser) -> None:
    errors = evaluate(b, "window.__errors")
    assert errors == [], errors
    overflow = evaluate(b, "document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow} px wider than the screen"


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_status_page(server, browser, shots, name):
    viewport(browser, name)
    browser.goto(server.url + "/")
    assert browser.wait_for("document.querySelectorAll('.card.node').length === 2")
    assert browser.wait_for("document.getElementById('live-dot').className === 'dot'")
    stale = evaluate(browser, "document.querySelectorAll('.card.node.stale').length")
    assert stale == 2  # 2015 and 2017 data
    screenshot(browser, shots / f"status-{name}.png")
    no_errors(browser)


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_history_7_days(server, vault, browser, shots, name):
    v, _ = vault
    viewport(browser, name)
    browser.goto(
        server.url + "/history?sensor=office/office-temperature&sensor=office/office-co2&range=7d"
    )
    assert browser.wait_for("document.querySelectorAll('.chart canvas').length === 2", 30)
    points = evaluate(
        browser,
        "Array.from(document.querySelectorAll('.chart')).map(c => +c.dataset.points)",
    )
    # 3 days of office data in a 7-day window at ~1 point per pixel of the chart
    days = {x["start"][:10] for x in all_lines(v, "office") if x["sensor"] == "office-co2"}
    assert len(days) == 3 and all(p >= 3 for p in points), points
    ink = evaluate(browser, INK)
    assert len(ink) == 2 and all(n > 100 for n in ink), f"chart lines not drawn: {ink}"
    # observations of the window are listed and marked
    assert browser.wait_for("document.querySelectorAll('#obs li').length >= 2")
    assert "CO2 peak" in evaluate(browser, "document.getElementById('obs').textContent")
    # hovering where the files have readings shows values in the legend; hovering the
    # days before them (no data) shows "–", not the value of a point days away
    temp = [x for x in all_lines(v, "office") if x["sensor"] == "office-temperature"]
    until = max(_ts(x["end"]) for x in all_lines(v, "office"))
    since = until - 7 * 86400
    first = min(_ts(x["start"]) for x in temp if _ts(x["start"]) >= since)
    assert first - since > 86400, "the window opens with days without readings"
    left, top, width, height = evaluate(browser, PLOT_BOX)
    mean = (
        "(function(){var v=document.querySelector('.chart .u-legend .u-series:nth-child(2)"
        " .u-value'); return v ? v.textContent : '';})()"
    )

    def hover(t: float) -> None:
        x = left + (t - since) / (until - since) * width
        browser.call(
            "Input.dispatchMouseEvent", browser.session, type="mouseMoved", x=x, y=top + height / 2
        )

    hover(since + (first - since) / 2)
    assert browser.wait_for(f"{mean} === '–'"), evaluate(browser, mean)
    hover((first + until) / 2)
    legend = browser.wait_for(f"(function(){{var t={mean}; return /°C/.test(t) ? t : '';}})()")
    assert legend and "°C" in legend
    screenshot(browser, shots / f"history-7d-{name}.png")
    # "+" zooms into the middle half of the window, with data fetched for it
    before = evaluate(browser, "document.getElementById('window').textContent")
    evaluate(browser, "document.querySelector('[data-zoom=in]').click()")
    after = browser.wait_for(
        f"(function(){{var t=document.getElementById('window').textContent;"
        f" return t !== {before!r} ? t : '';}})()"
    )
    a, b = (datetime.strptime(x.strip(), "%Y-%m-%d %H:%M") for x in after[:-4].split("→"))
    assert (b - a).total_seconds() == pytest.approx(3.5 * 86400, abs=60)
    assert browser.wait_for("document.querySelectorAll('.chart canvas').length === 2")
    no_errors(browser)


# Per chart: how far its uPlot root (canvas and legend) reaches past its card's right edge.
WIDER_THAN_CARD = """Array.from(document.querySelectorAll('.chart')).map(function (c) {
  var u = c.querySelector('.uplot'); if (!u) return 0;
  return Math.round(u.getBoundingClientRect().right - c.getBoundingClientRect().right); })"""
FRAMES_LATER = """new Promise(function (done) { requestAnimationFrame(function () {
  requestAnimationFrame(function () { done(%s); }); }); })"""


def fits(b: Browser) -> None:
    """Every chart (canvas and legend) lies inside its card and the page has no
    sideways scroll."""
    wide = evaluate(b, WIDER_THAN_CARD)
    assert wide and all(x <= 0 for x in wide), f"charts wider than their card by {wide} px"
    no_errors(b)


def test_history_from_the_nav_bar_opens_on_a_sensor(server, vault, browser, shots):
    """/history with no parameters (the nav bar's link) shows a chart of the numeric sensor
    with the newest data, not an empty page; loaded wide, then narrowed to a phone
    (a phone turned upright, or chromium --screenshot, which lays out at its 500 px
    minimum window width first) the chart and its legend shrink to the screen."""
    v, _ = vault
    newest: dict[str, str] = {}  # numeric sensor key -> newest rollup end, from the files
    for node in ("office", "pir-6"):
        for x in all_lines(v, node):
            if "mean" in x:
                key = f"{node}/{x['sensor']}"
                newest[key] = max(newest.get(key, ""), x["end"][:10])
    top = max(newest.values())
    expected = sorted(k for k, d in newest.items() if d == top)
    viewport(browser, "desktop")
    browser.goto(server.url + "/history")
    assert browser.wait_for("document.querySelectorAll('.chart canvas').length === 1", 30)
    shown = evaluate(browser, "document.querySelector('.chart').dataset.sensor")
    assert shown in expected, (shown, expected)
    assert evaluate(browser, "document.getElementById('picked').textContent") == shown.split("/")[1]
    assert evaluate(browser, "+document.querySelector('.chart').dataset.points") > 0
    viewport(browser, "phone")
    # measured two animation frames later (layout, resize observers and paint have run),
    # in one call: a resize handler that waits (a debounce) leaves the chart too wide
    res = browser.call(
        "Runtime.evaluate",
        browser.session,
        expression=FRAMES_LATER % WIDER_THAN_CARD,
        awaitPromise=True,
        returnByValue=True,
    )
    wide = res["result"]["value"]
    assert wide and all(x <= 0 for x in wide), f"charts wider than their card by {wide} px"
    screenshot(browser, shots / "history-nav-narrowed-phone.png")
    fits(browser)


def test_history_of_a_node_on_a_phone(server, browser, shots):
    """/history?node=office at 390 px: the node's chart, legend wrapped, no sideways
    scroll."""
    viewport(browser, "phone")
    browser.goto(server.url + "/history?node=office")
    assert browser.wait_for("document.querySelectorAll('.chart canvas').length === 1", 30)
    assert evaluate(browser, "document.querySelector('.chart').dataset.sensor").startswith(
        "office/"
    )
    rows = evaluate(
        browser,
        "new Set(Array.from(document.querySelectorAll('.chart .u-legend tr'))"
        ".map(function (t) { return Math.round(t.getBoundingClientRect().top); })).size",
    )
    assert rows >= 2, "the legend's four entries do not fit one 390 px line; they wrap"
    screenshot(browser, shots / "history-node-phone.png")
    fits(browser)


def test_history_custom_range_starts_from_the_window_shown(server, browser, shots):
    """ "custom" fills From/To with the window on screen; a changed From shows that
    window (charts reloaded, the address keeps since/until for a reload or a link)."""
    viewport(browser, "phone")
    browser.goto(server.url + "/history?sensor=office/office-co2&range=24h")
    assert browser.wait_for("document.querySelectorAll('.chart canvas').length === 1", 30)
    shown = evaluate(browser, "document.getElementById('window').textContent")
    evaluate(browser, "document.querySelector('[data-range=custom]').click()")
    since = evaluate(browser, "document.getElementById('since').value")
    until = evaluate(browser, "document.getElementById('until').value")
    a, b = (x.strip() for x in shown.removesuffix(" UTC").split("→"))
    assert (since.replace("T", " "), until.replace("T", " ")) == (a, b)
    later = (datetime.fromisoformat(since) + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")
    evaluate(browser, f"document.getElementById('since').value = '{later}'")
    evaluate(browser, "document.getElementById('apply').click()")
    want = f"{later.replace('T', ' ')} → {b} UTC"
    assert browser.wait_for(f"document.getElementById('window').textContent === {want!r}")
    assert f"since={later}" in evaluate(browser, "decodeURIComponent(location.search)")
    assert browser.wait_for("document.querySelectorAll('.chart canvas').length === 1")
    assert evaluate(browser, "+document.querySelector('.chart').dataset.points") > 0
    screenshot(browser, shots / "history-custom-phone.png")
    no_errors(browser)


def test_history_of_an_empty_vault_says_what_to_do(browser, tmp_path):
    """A vault with no readings yet: /history opens the sensor list, which says where
    readings come from, and the chart area says none is chosen (no blank page)."""
    from tests.support.asgi import UvicornThread
    from vault_agent.vault import Vault
    from vault_agent.web import create_app

    v, _ = Vault.init(tmp_path / "empty", "attic")
    viewport(browser, "phone")
    with UvicornThread(create_app(v, poll_s=0.2)) as srv:
        browser.goto(srv.url + "/history")
        assert browser.wait_for("document.getElementById('picker').open === true", 30)
        listed = evaluate(browser, "document.getElementById('sensor-list').textContent")
        assert "No sensor readings in this vault yet" in listed and "vault agent" in listed
        assert browser.wait_for(
            "document.getElementById('window').textContent.includes('No sensor chosen')"
        )
        assert evaluate(browser, "document.querySelectorAll('.chart').length") == 0
        no_errors(browser)


# Per x position (CSS px of the page): whether the first chart's canvas has a solid block
# of at least 3x3 opaque accent-coloured pixels (the on-time bars' colour) within 4 px of
# it, over the plot's height. A 1.5 px line (an interval's edges drawn as a step line) or
# an antialiased sliver has no such block.
SOLID_NEAR = """(function (xs) {
  var c = document.querySelector('.chart canvas'), r = c.getBoundingClientRect();
  var o = document.querySelector('.chart .u-over').getBoundingClientRect();
  var k = c.width / r.width, ctx = c.getContext('2d');
  var a = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
  var rgb = [1, 3, 5].map(function (i) { return parseInt(a.slice(i, i + 2), 16); });
  var top = Math.round((o.top - r.top) * k), h = Math.round(o.height * k), w = 9;
  return xs.map(function (x) {
    var d = ctx.getImageData(Math.round((x - r.left) * k) - 4, top, w, h).data;
    var ink = function (col, row) {
      var i = (row * w + col) * 4;
      return d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 40
        && Math.abs(d[i + 1] - rgb[1]) < 40 && Math.abs(d[i + 2] - rgb[2]) < 40;
    };
    for (var row = 0; row + 2 < h; row++) {
      for (var col = 0; col + 2 < w; col++) {
        var all = true;
        for (var dy = 0; dy < 3 && all; dy++)
          for (var dx = 0; dx < 3 && all; dx++) all = ink(col + dx, row + dy);
        if (all) return true;
      }
    }
    return false;
  });
})(%s)"""


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_history_binary_sensor_over_a_week_is_visible(server, vault, browser, shots, name):
    """A motion sensor over 7 days: every 5-minute window with on-time (a fraction of a
    pixel at this scale) paints on-coloured pixels where it happened, and hovering a
    run of motion names its start and end (computed here from the rollup files)."""
    v, _ = vault
    lines = all_lines(v, "pir-6")
    until = max(_ts(x["end"]) for x in lines)  # the node's newest reading ends the range
    since = until - 7 * 86400
    on = sorted(
        (x for x in lines if (x.get("on_s") or 0) > 0 and since <= _ts(x["start"]) < until),
        key=lambda x: x["start"],
    )
    assert len(on) >= 3, "the data's last week has motion"
    runs: list[list[float]] = []  # adjacent windows with on-time: [start, end] in seconds
    for x in on:
        a, b = _ts(x["start"]), _ts(x["end"])
        if runs and runs[-1][1] == a:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    viewport(browser, name)
    browser.goto(server.url + "/history?sensor=pir-6/s6-motion&range=7d")
    assert browser.wait_for("document.querySelectorAll('.chart canvas').length === 1", 30)
    shown = evaluate(browser, "document.getElementById('window').textContent")
    fmt = "%Y-%m-%d %H:%M"
    a, b = (datetime.fromtimestamp(t, UTC) for t in (since, until))
    assert shown == f"{a:{fmt}} → {b:{fmt}} UTC"
    left, top, width, height = evaluate(browser, PLOT_BOX)
    px_per_s = width / (until - since)
    assert 300 * px_per_s < 1, "a 5-minute window is a sliver at this scale"
    xs = [left + (_ts(x["start"]) + 150 - since) * px_per_s for x in on]
    solid = evaluate(browser, SOLID_NEAR % json.dumps(xs))
    blank = [x["start"] for x, ok in zip(on, solid, strict=True) if not ok]
    assert not blank, f"windows with motion but no visible pixels: {blank}"
    # hovering the middle of a step inside the longest run names the run (start and end,
    # UTC) and the step's on-time (the on seconds of the windows starting in the step)
    label = evaluate(
        browser, "document.querySelector('.chart .u-legend .u-series:nth-child(3) th').textContent"
    )
    n, unit = label.split("on per ")[1].split()
    step = int(n) * {"min": 60, "h": 3600}[unit]
    a, b = max(runs, key=lambda r: r[1] - r[0])
    x = left + ((a + b) / 2 - since) * px_per_s
    browser.call(
        "Input.dispatchMouseEvent", browser.session, type="mouseMoved", x=x, y=top + height / 2
    )
    text = browser.wait_for(
        "(function(){var v=document.querySelector('.chart .u-legend .u-series:nth-child(2)"
        " .u-value'); return v && /–/.test(v.textContent) ? v.textContent : '';})()"
    )
    start, end = datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)
    want = f"{start:{fmt}}–" + (f"{end:%H:%M}" if end.date() == start.date() else f"{end:{fmt}}")
    assert text.startswith(want), (text, want)
    # a step is about a pixel: the step is the one holding the time the legend names
    # (the cursor's, to the minute; steps start on whole minutes)
    cursor = evaluate(
        browser,
        "document.querySelector('.chart .u-legend .u-series:nth-child(1) .u-value').textContent",
    )
    t0 = _ts(cursor.replace(" ", "T") + ":00Z") // step * step
    on_in_step = sum(x["on_s"] for x in on if t0 <= _ts(x["start"]) < t0 + step)
    per_step = evaluate(
        browser,
        "document.querySelector('.chart .u-legend .u-series:nth-child(3) .u-value').textContent",
    )
    assert per_step == f"{round(on_in_step / 60)} min of {n} {unit}", (per_step, on_in_step)
    browser.call("Page.captureScreenshot", browser.session, format="png")  # paint first
    data = browser.call("Page.captureScreenshot", browser.session, format="png")
    (shots / f"history-motion-7d-{name}.png").write_bytes(base64.b64decode(data["data"]))
    no_errors(browser)


def test_live_feed_shows_a_new_observation(server, vault, browser, shots):
    v, _ = vault
    viewport(browser, "phone")
    browser.goto(server.url + "/live")
    assert browser.wait_for("document.getElementById('live-dot').className === 'dot'")

    def write() -> None:
        time.sleep(0.5)
        v.write_observation(
            "The office was empty all afternoon.",
            title="Quiet afternoon",
            sensors=["office-light"],
            created=datetime(2015, 2, 4, 16, 0, tzinfo=UTC),
        )

    threading.Thread(target=write).start()
    assert browser.wait_for(
        "document.getElementById('feed').textContent.includes('Quiet afternoon')", 20
    )
    screenshot(browser, shots / "live-phone.png")
    no_errors(browser)
