"""``vault site serve``: serves the built site on 127.0.0.1 and rebuilds when the vault
changes (a real watchdog observer, a real HTTP server on a free port)."""

from __future__ import annotations

import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from vault_agent.site.serve import make_server, serve
from vault_agent.vault import Rollup, Vault


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - 127.0.0.1 only
        return r.status, r.read().decode("utf-8")


def test_serve_then_rebuild_on_change(tmp_path):
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    t0 = datetime(2025, 10, 14, 6, tzinfo=UTC)
    f = "%Y-%m-%dT%H:%M:%SZ"

    def rollup(i: int, value: float) -> Rollup:
        s = t0 + timedelta(minutes=5 * i)
        return Rollup(
            node="alpaca-1",
            sensor="hall-temp",
            quantity="temperature",
            unit="°C",
            start=s.strftime(f),
            end=(s + timedelta(minutes=5)).strftime(f),
            count=5,
            mean=value,
            min=value,
            max=value,
            last=value,
        )

    v.append_rollups([rollup(i, 20.0 + i) for i in range(3)])
    v.commit("rollups", "rollup")
    urls: list[str] = []
    stop = threading.Event()
    th = threading.Thread(
        target=serve, kwargs=dict(vault=v, port=0, stop=stop, announce=urls.append), daemon=True
    )
    th.start()
    try:
        deadline = time.monotonic() + 60
        while not urls and time.monotonic() < deadline:
            time.sleep(0.1)
        assert urls and urls[0].startswith("http://127.0.0.1:")
        status, body = get(urls[0] + "index.html")
        assert status == 200 and "alpaca-1" in body
        day = urls[0] + "nodes/alpaca-1/days/2025-10-14.html"
        assert ">22</td>" in get(day)[1]  # max of the three windows
        v.append_rollups([rollup(10, 31.25)])
        v.commit("one more", "rollup")
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            body = get(day)[1]
            if "31.25" in body:
                break
            time.sleep(0.5)
        assert "31.25" in body, "the site was not rebuilt after the vault changed"
    finally:
        stop.set()
        th.join(timeout=20)
    assert not th.is_alive()


def test_a_request_waits_for_a_rebuild_in_progress(tmp_path):
    """MkDocs writes pages in place: while a rebuild holds the site lock a request waits,
    so a reader never gets half a page."""
    (tmp_path / "page.html").write_text("<p>whole page</p>")
    lock = threading.Lock()
    server = make_server(tmp_path, "127.0.0.1", 0, lock)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page.html"
    got: list[str] = []
    try:
        with lock:  # what Rebuilder.rebuild holds around build_site
            reader = threading.Thread(target=lambda: got.append(get(url)[1]), daemon=True)
            reader.start()
            time.sleep(0.5)
            assert reader.is_alive() and not got  # waiting, not reading a page being written
            (tmp_path / "page.html").write_text("<p>rebuilt page</p>")
        reader.join(10)
        assert got == ["<p>rebuilt page</p>"]
    finally:
        server.shutdown()
        server.server_close()
