"""`vault serve` over HTTP: pages, static files, status, live events and tokens against
a real uvicorn server on 127.0.0.1 (history and observations: test_web_history.py).

Truth is computed here from the vault's files, never by the code under test.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.support.asgi import UvicornThread
from tests.support.core_fixtures import commit_times
from tests.support.web import (
    OFFICE_DAY,
    all_lines,
    get,
    lines_of,
    read_events,
    server,
    site_dir,
    vault,
)
from vault_agent.web import create_app

__all__ = ["server", "site_dir", "vault"]  # fixtures


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


def test_site_not_built_says_how_to_build(vault, tmp_path):
    v, _ = vault
    with UvicornThread(create_app(v, site_dir=tmp_path / "no-site")) as srv:
        r = httpx.get(srv.url + "/site/")
    assert r.status_code == 404 and "vault site build" in r.text
    assert len(r.text.strip().splitlines()) == 1


def test_templates_escape_vault_content(tmp_path):
    """A node name cannot carry HTML, but error text from the vault can: it is escaped."""
    from vault_agent.query.status import vault_status
    from vault_agent.vault import Vault

    v, _ = Vault.init(tmp_path / "v", "esc")
    cache = v.cache_dir()
    (cache / "agent.log").write_text("2025-01-01 00:00:00 level=ERROR <script>alert(1)</script>\n")
    from vault_agent.web.app import State

    templates = State(v, None, 1.0).templates
    html = templates.get_template("_status_nodes.html").render(st=vault_status(v), site=False)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


# -- status -----------------------------------------------------------------------------
def test_status_json(server, vault):
    v, _ = vault
    st = get(server, "/api/status").json()
    by = {n["node"]: n for n in st["nodes"]}
    assert set(by) == {"office", "pir-6"}
    for node in by:
        newest_day = max(p.name for p in (v.root / "agents" / node / "sensors").rglob("*.jsonl"))
        rel = next(v.rel(p) for p in (v.root / "agents" / node / "sensors").rglob(newest_day))
        assert by[node]["last_reading"] == max(x["end"] for x in lines_of(v, rel))
        assert by[node]["stale"] is True
    assert by["office"]["local"] is True and by["office"]["agent"] == "stopped"
    # pir-6's agent is not this node's: judged from its newest commit (plain git here)
    pir_t = next(t for t, n in commit_times(v.root) if n == "pir-6").timestamp()
    up = time.time() - pir_t <= 3600
    assert by["pir-6"]["agent"] == ("up" if up else "stale")
    assert by["pir-6"]["agent_text"].startswith("up (last write " if up else "stale since ")
    frag = get(server, "/fragments/status").text
    assert by["pir-6"]["agent_text"] in frag and "unknown" not in frag
    # office's last reading (2015), how long ago in whole years, computed here
    years = (time.time() - datetime.fromisoformat(by["office"]["last_reading"]).timestamp()) / (
        365.25 * 86400
    )
    assert f"{years:.0f} years ago" in frag
    assert by["office"]["sensors"] == len({x["sensor"] for x in all_lines(v, "office")})
    assert st["disk"]["total"] > st["disk"]["git"] > 0
    assert any(c["original"].endswith("Office notes.md") for c in st["conflicts"])


# -- live events ------------------------------------------------------------------------
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


def test_every_web_asset_is_package_data():
    """Templates, CSS/JS and the vendored uPlot (with its LICENSE) match the package-data
    globs of pyproject.toml, so a wheel carries them (not only an editable install)."""
    import fnmatch
    import tomllib

    import vault_agent.web as web

    root = Path(web.__file__).parent
    conf = tomllib.loads((root.parent.parent / "pyproject.toml").read_text("utf-8"))
    globs = conf["tool"]["setuptools"]["package-data"]["vault_agent.web"]
    assets = [
        p.relative_to(root).as_posix()
        for sub in ("templates", "static")
        for p in (root / sub).rglob("*")
        if p.is_file()
    ]
    need = {"static/vendor/uplot/LICENSE", "static/vendor/uplot/uPlot.iife.min.js"}
    assert need <= set(assets)

    def matches(path: str, glob: str) -> bool:  # setuptools' globs: * stays in one folder
        a, g = path.split("/"), glob.split("/")
        if len(a) != len(g):
            return False
        return all(fnmatch.fnmatchcase(x, y) for x, y in zip(a, g, strict=True))

    missing = [a for a in assets if not any(matches(a, g) for g in globs)]
    assert missing == []


def test_vault_serve_process(vault, tmp_path):
    """`vault serve` as a real process: announces its URL, serves, needs the token from
    VAULT_WEB_TOKEN, stops on SIGTERM."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    v, _ = vault
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: x for k, x in os.environ.items() if k != "VAULT_DEBUG"}
    env["VAULT_WEB_TOKEN"] = "tok3n"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault_agent.cli", "serve", "--vault", str(v.root)]
        + ["--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(url + "/api/status", timeout=5)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.3)
        assert r.status_code == 401
        ok = httpx.get(url + "/api/status", headers={"Authorization": "Bearer tok3n"})
        assert ok.status_code == 200 and ok.json()["node"] == "office"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert f"serving http://127.0.0.1:{port}/" in err and "token required" in err
    # uvicorn shuts down gracefully, then re-raises the signal (exit by SIGTERM, as
    # systemd expects of a stopped service)
    assert proc.returncode in (0, -signal.SIGTERM) and "Traceback" not in err


def test_vault_serve_port_0_prints_the_bound_port(vault):
    """`vault serve --port 0` as a real process: the announced URL names the port the
    kernel chose (not 0), and that URL answers."""
    import os
    import re
    import signal
    import subprocess
    import sys

    v, _ = vault
    env = {k: x for k, x in os.environ.items() if k not in ("VAULT_DEBUG", "VAULT_WEB_TOKEN")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault_agent.cli", "serve", "--vault", str(v.root), "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the socket is bound
        m = re.search(r"serving (http://127\.0\.0\.1:(\d+)/)", line)
        assert m, f"no URL in {line!r}"
        assert int(m.group(2)) != 0
        r = httpx.get(m.group(1) + "api/status", timeout=30)
        assert r.status_code == 200 and r.json()["node"] == "office"
        page = httpx.get(m.group(1), timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM) and "Traceback" not in err


def test_ask_sensor_question_is_computed(server, vault):
    """A sensor question is answered from the rollup lines (no LLM): the figure and the
    cited line agree with the file."""
    v, _ = vault
    url = server.url + "/api/ask?" + "q=what+was+the+highest+office+co2+on+2015-02-03%3F&log=0"
    with httpx.stream("GET", url, timeout=120) as resp:
        got = read_events(resp.iter_lines(), lambda e, d: e in ("done", "error"), 120)
    kinds = [e for e, _ in got]
    assert kinds[0] == "thinking" and kinds[-1] == "done", got
    text = "".join(d["text"] for e, d in got if e == "piece")
    day = [x for x in lines_of(v, OFFICE_DAY) if x["sensor"] == "office-co2" and x["count"]]
    top = max(x["max"] for x in day)
    assert f"{top:.0f} ppm" in text  # ppm are phrased as whole numbers
    (cites,) = [d for e, d in got if e == "citations"]
    path, _, line = cites[0]["path"].partition("#L")
    assert path == OFFICE_DAY and cites[0]["url"] == "/site/nodes/office/days/2015-02-03.html"
    cited = json.loads(v.path(path).read_text("utf-8").splitlines()[int(line) - 1])
    assert cited["sensor"] == "office-co2" and cited["max"] == top


def test_without_token_only_loopback_host_names_are_served(server):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 gets nothing."""
    r = get(server, "/api/status", headers={"Host": "evil.example:8080"})
    assert r.status_code == 421 and "not loopback" in r.text
    assert get(server, "/api/status", headers={"Host": "localhost:8080"}).status_code == 200
    assert get(server, "/", headers={"Host": "[::1]:8080"}).status_code == 200
