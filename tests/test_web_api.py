"""`vault serve` over HTTP: every page and /api endpoint against a real uvicorn server on
127.0.0.1, on a vault replaying the bundled UCI data sets (tests/test_site_helpers).

Truth is computed here from the JSONL/Markdown files (plain json parsing and arithmetic),
never by the query layer the server uses.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import frontmatter
import httpx
import pytest

from tests.support.asgi import UvicornThread
from tests.test_site_helpers import make_vault
from vault_agent.web import create_app

OFFICE_DAY = "agents/office/sensors/2015/02/2015-02-03.jsonl"


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    v, facts = make_vault(root / "vault")
    return v, facts


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    (d / "index.html").write_text("<!doctype html><title>site</title><p>static site home</p>")
    return d


@pytest.fixture(scope="module")
def server(vault, site_dir):
    v, _ = vault
    with UvicornThread(create_app(v, site_dir=site_dir, poll_s=0.2)) as srv:
        yield srv


def get(server, path: str, **kw) -> httpx.Response:
    return httpx.get(server.url + path, timeout=30, **kw)


def lines_of(v, rel: str) -> list[dict]:
    return [json.loads(x) for x in v.path(rel).read_text("utf-8").splitlines() if x.strip()]


def all_lines(v, node: str) -> list[dict]:
    out = []
    for p in sorted((v.root / "agents" / node / "sensors").rglob("*.jsonl")):
        out += [json.loads(x) for x in p.read_text("utf-8").splitlines() if x.strip()]
    return out


# -- pages and static files -------------------------------------------------------------
def test_pages_render(server):
    home = get(server, "/")
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    assert 'data-node="office"' in home.text and 'data-node="pir-6"' in home.text
    assert "stale" in home.text  # 2015 and 2017 data: both nodes are stale today
    for path, needle in [
        ("/history", "uPlot.iife.min.js"),
        ("/live", "/static/live.js"),
        ("/ask", "/static/ask.js"),
    ]:
        r = get(server, path)
        assert r.status_code == 200 and needle in r.text, path
    frag = get(server, "/fragments/status")
    assert frag.status_code == 200 and 'data-node="office"' in frag.text
    assert "<html" not in frag.text


def test_static_files_and_site(server, site_dir):
    import vault_agent.web as web

    vendored = Path(web.__file__).parent / "static" / "vendor" / "uplot" / "uPlot.iife.min.js"
    r = get(server, "/static/vendor/uplot/uPlot.iife.min.js")
    assert r.status_code == 200 and r.content == vendored.read_bytes()
    assert get(server, "/static/vendor/uplot/LICENSE").text.startswith("The MIT License")
    assert get(server, "/static/app.css").status_code == 200
    assert "static site home" in get(server, "/site/").text
    missing = get(server, "/site/nope.html")
    assert missing.status_code == 404 and len(missing.text.strip().splitlines()) == 1


def test_templates_escape_vault_content(tmp_path):
    """A node name cannot carry HTML, but error text from the vault can: it is escaped."""
    from vault_agent.query.status import vault_status
    from vault_agent.vault import Vault

    v, _ = Vault.init(tmp_path / "v", "esc")
    cache = v.cache_dir()
    (cache / "agent.log").write_text("2025-01-01 00:00:00 level=ERROR <script>alert(1)</script>\n")
    app = create_app(v)
    html = (
        app.state.web.templates.get_template("_status_nodes.html")
        .render(st=vault_status(v), site=False)
    )
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


# -- status -----------------------------------------------------------------------------
def test_status_json(server, vault):
    v, _ = vault
    st = get(server, "/api/status").json()
    by = {n["node"]: n for n in st["nodes"]}
    assert set(by) == {"office", "pir-6"}
    for node in by:
        newest_day = max(p.name for p in (v.root / "agents" / node / "sensors").rglob("*.jsonl"))
        rel = next(
            v.rel(p) for p in (v.root / "agents" / node / "sensors").rglob(newest_day)
        )
        assert by[node]["last_reading"] == max(x["end"] for x in lines_of(v, rel))
        assert by[node]["stale"] is True
    assert by["office"]["local"] is True and by["office"]["agent"] == "stopped"
    assert by["pir-6"]["agent"] == "unknown"
    assert by["office"]["sensors"] == len({x["sensor"] for x in all_lines(v, "office")})
    assert st["disk"]["total"] > st["disk"]["git"] > 0
    assert any(c["original"].endswith("Office notes.md") for c in st["conflicts"])


# -- history ----------------------------------------------------------------------------
def test_history_numeric_matches_the_files(server, vault):
    v, _ = vault
    r = get(
        server,
        "/api/history",
        params={
            "sensor": "office-temperature",
            "since": "2015-02-03T00:00:00Z",
            "until": "2015-02-04T00:00:00Z",
            "every": "1h",
        },
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["sensor"] == "office/office-temperature" and d["unit"] == "°C"
    assert d["every"] == 3600 and d["binary"] is False
    buckets: dict[str, list[dict]] = defaultdict(list)
    for x in lines_of(v, OFFICE_DAY):
        if x["sensor"] == "office-temperature" and x["count"] > 0:
            buckets[x["start"][:13] + ":00:00Z"].append(x)
    assert [p["t"] for p in d["points"]] == sorted(buckets)
    for p in d["points"]:
        xs = buckets[p["t"]]
        mean = sum(x["mean"] * x["count"] for x in xs) / sum(x["count"] for x in xs)
        assert p["mean"] == pytest.approx(mean, abs=1e-6)
        assert p["min"] == pytest.approx(min(x["min"] for x in xs), abs=1e-9)
        assert p["max"] == pytest.approx(max(x["max"] for x in xs), abs=1e-9)
        assert p["count"] == sum(x["count"] for x in xs)


def test_history_downsamples_to_the_width(server, vault):
    v, _ = vault
    d = get(
        server, "/api/history", params={"sensor": "office-co2", "range": "7d", "width": "390"}
    ).json()
    newest = max(x["end"] for x in all_lines(v, "office"))
    assert d["until"] == newest  # a stopped node's range ends at its newest reading
    span = (
        datetime.fromisoformat(d["until"].replace("Z", "+00:00"))
        - datetime.fromisoformat(d["since"].replace("Z", "+00:00"))
    ).total_seconds()
    assert span == 7 * 86400
    assert span / d["every"] <= 390 and 0 < len(d["points"]) <= 390
    co2 = [x for x in all_lines(v, "office") if x["sensor"] == "office-co2" and x["count"]]
    assert max(p["max"] for p in d["points"]) == pytest.approx(max(x["max"] for x in co2))
    assert min(p["min"] for p in d["points"]) == pytest.approx(min(x["min"] for x in co2))


def test_history_binary_as_intervals(server, vault):
    v, _ = vault
    since, until = "2017-12-23T00:00:00Z", "2017-12-24T00:00:00Z"
    d = get(
        server, "/api/history", params={"sensor": "s6-motion", "since": since, "until": until}
    ).json()
    assert d["binary"] is True and "points" not in d
    lines = sorted(
        (x for x in all_lines(v, "pir-6") if since <= x["start"] < until),
        key=lambda x: x["start"],
    )
    truth: list[list] = []
    for x in lines:
        if (x.get("on_s") or 0) > 0:
            if truth and truth[-1][1] == x["start"]:
                truth[-1][1] = x["end"]
                truth[-1][2] += x["on_s"]
            else:
                truth.append([x["start"], x["end"], x["on_s"]])
    assert truth, "the test day has motion"
    got = [[i["start"], i["end"], i["on_s"]] for i in d["intervals"]]
    assert got == [[a, b, pytest.approx(s)] for a, b, s in truth]


@pytest.mark.parametrize(
    "query,needle",
    [
        ({}, "sensor is required"),
        ({"sensor": "office-co2", "since": "yesterdayish"}, "since='yesterdayish'"),
        ({"sensor": "office-co2", "range": "2d"}, "range='2d'"),
        ({"sensor": "office-co2", "every": "-5"}, "every='-5'"),
        ({"sensor": "office-co2", "width": "abc"}, "width='abc'"),
        ({"sensor": "office-co2", "width": "5"}, "width=5 is out of range"),
        (
            {"sensor": "office-co2", "since": "2015-02-04", "until": "2015-02-03"},
            "must be before until",
        ),
        ({"sensor": "office-co2", "range": "1y", "every": "300"}, "points over this range"),
    ],
)
def test_history_bad_parameters(server, query, needle):
    r = get(server, "/api/history", params=query)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/plain")
    assert needle in r.text and len(r.text.strip().splitlines()) == 1


def test_history_unknown_sensor_names_the_known_ones(server):
    r = get(server, "/api/history", params={"sensor": "garage-humidity"})
    assert r.status_code == 404 and len(r.text.strip().splitlines()) == 1
    assert "garage-humidity" in r.text and "office-co2" in r.text


def test_sensors_list(server, vault):
    v, _ = vault
    keys = {s["key"] for s in get(server, "/api/sensors").json()["sensors"]}
    truth = {f"{x['node']}/{x['sensor']}" for n in ("office", "pir-6") for x in all_lines(v, n)}
    assert keys == truth


# -- observations -----------------------------------------------------------------------
def test_observations_in_a_window(server, vault):
    v, facts = vault
    since, until = "2015-02-03T00:00:00Z", "2015-02-03T23:59:59Z"
    d = get(
        server, "/api/observations", params={"node": "office", "since": since, "until": until}
    ).json()
    truth = sorted(
        (frontmatter.load(p)["created"], v.rel(p))
        for p in (v.root / "agents/office/observations").rglob("*.md")
        if since <= str(frontmatter.load(p)["created"]) <= until
    )
    assert [o["path"] for o in d["observations"]] == [rel for _, rel in truth]
    assert {facts["obs_rel"], facts["early_rel"]} == {o["path"] for o in d["observations"]}
    peak = next(o for o in d["observations"] if o["path"] == facts["obs_rel"])
    assert peak["title"] == "CO2 peak in the afternoon"
    assert peak["url"] == f"/site/nodes/office/observations/{facts['obs_id']}.html"
    r = get(server, "/api/observations", params={"node": "Bad Node"})
    assert r.status_code == 400 and "node" in r.text


# -- live events ------------------------------------------------------------------------
def read_events(lines, stop, timeout_s: float = 20.0):
    """(event, data) pairs from an SSE response's line iterator until ``stop(event, data)``
    is true."""
    event, out = "", []
    deadline = time.monotonic() + timeout_s
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip())
            out.append((event, data))
            if stop(event, data):
                return out
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"no matching event within {timeout_s} s; got {out}")


def test_events_deliver_a_new_observation_and_log_line(server, vault):
    v, _ = vault
    url = server.url + "/api/events?kinds=observation,log&node=office"
    with httpx.stream("GET", url, timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.iter_lines()
        read_events(lines, lambda e, d: e == "hello")

        def write() -> None:
            time.sleep(0.5)
            v.write_observation(
                "Humidity fell to 19 % in the office.",
                title="Dry air",
                sensors=["office-humidity"],
                created=datetime(2015, 2, 4, 12, 0, tzinfo=UTC),
            )
            with open(v.cache_dir() / "agent.log", "a") as fh:
                fh.write("2026-01-01 00:00:00 level=INFO logger=x event=commit id=abc\n")

        threading.Thread(target=write).start()
        got = read_events(lines, lambda e, d: e == "log")
    kinds = [e for e, _ in got]
    obs = next(d for e, d in got if e == "observation")
    assert obs["text"].startswith("Dry air: Humidity fell") and obs["node"] == "office"
    assert obs["url"].startswith("/site/nodes/office/observations/")
    log_ev = next(d for e, d in got if e == "log")
    assert "event=commit" in log_ev["text"] and log_ev["level"] == "INFO"
    assert kinds.index("observation") < kinds.index("log")


def test_events_filter_and_bad_kinds(server):
    r = get(server, "/api/events", params={"kinds": "gossip"})
    assert r.status_code == 400 and "kinds='gossip'" in r.text
    with httpx.stream("GET", server.url + "/api/events?kinds=status", timeout=30) as resp:
        got = read_events(resp.iter_lines(), lambda e, d: e == "status")
    status = got[-1][1]
    assert {n["node"] for n in status["nodes"]} == {"office", "pir-6"}


# -- tokens -----------------------------------------------------------------------------
def test_token_required_when_set(vault):
    v, _ = vault
    with UvicornThread(create_app(v, token="s3cret")) as srv:
        r = httpx.get(srv.url + "/api/status")
        assert r.status_code == 401 and len(r.text.strip().splitlines()) == 1
        assert httpx.get(srv.url + "/", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = httpx.get(srv.url + "/api/status", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        # a browser: ?token= once, then the HttpOnly cookie
        with httpx.Client(base_url=srv.url) as browser:
            first = browser.get("/?token=s3cret")
            assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
            assert browser.get("/api/status").status_code == 200
        assert httpx.get(srv.url + "/?token=wrong").status_code == 401


def test_cli_refuses_lan_without_token(vault, monkeypatch):
    from tests.support.core_fixtures import cli

    v, _ = vault
    monkeypatch.delenv("VAULT_WEB_TOKEN", raising=False)
    monkeypatch.delenv("VAULT_DEBUG", raising=False)
    r = cli("serve", "--host", "0.0.0.0", "--vault", str(v.root))
    assert r.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without a token" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert "--port" in cli("serve", "--help").output
