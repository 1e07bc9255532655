"""``vault site serve``: serve the built site on 127.0.0.1 and rebuild when the vault changes.

A plain ``http.server`` serves ``.vault/site/``; a watchdog observer notices changes to
the vault (files and commits) and runs an incremental build after a short quiet period.
Events under ``.vault/`` and ``local-cache/`` (our own output, raw readings) are ignored.
MkDocs writes pages in place, so a request and a rebuild never run at the same time
(one lock): a reader gets the page before or after the rebuild, never half of it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..vault import Vault, layout
from .build import BuildReport, build_site
from .progress import ProgressCallback

log = logging.getLogger("vault_agent.site")
QUIET_S = 1.0


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, site_lock: threading.Lock, **kwargs: Any) -> None:
        self.site_lock = site_lock
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        with self.site_lock:  # never a page a rebuild is writing
            super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        with self.site_lock:
            super().do_HEAD()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        log.debug("%s " + format, self.address_string(), *args)


def make_server(
    html_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    site_lock: threading.Lock | None = None,
) -> ThreadingHTTPServer:
    """An HTTP server for ``html_dir`` (port 0 picks a free one: see ``server_address``).

    ``site_lock``: held while a request is answered; a rebuild holds it too."""
    handler = functools.partial(
        _Handler, directory=str(html_dir), site_lock=site_lock or threading.Lock()
    )
    return ThreadingHTTPServer((host, port), handler)


def ignored(vault_root: Path, path: str) -> bool:
    """True for paths whose change must not trigger a rebuild (derived output, raw cache)."""
    try:
        rel = Path(path).resolve().relative_to(vault_root).as_posix()
    except ValueError:
        return True
    parts = rel.split("/")
    if parts[0] == layout.VAULT_DIR or layout.LOCAL_CACHE in parts:
        return True
    if parts[0] == ".git":
        # commits and merges move refs; objects and the index churn on every status call
        return not (rel in (".git/HEAD",) or rel.startswith(".git/refs/"))
    return rel.endswith(".tmp")


class Rebuilder:
    """Runs an incremental build after vault changes settle for :data:`QUIET_S` seconds."""

    def __init__(
        self,
        vault: Vault,
        out: Path | None = None,
        on_build: Callable[[BuildReport], None] | None = None,
        site_lock: threading.Lock | None = None,
    ) -> None:
        self.vault, self.out, self.on_build = vault, out, on_build
        self.site_lock = site_lock or threading.Lock()  # shared with the server's requests
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        """Note a change; (re)start the quiet-period timer."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(QUIET_S, self.rebuild)
            self._timer.daemon = True
            self._timer.start()

    def rebuild(self) -> BuildReport | None:
        """Build now; errors are logged, never fatal to the server."""
        try:
            with self.site_lock:
                report = build_site(self.vault, out=self.out)
        except Exception as e:  # noqa: BLE001 - keep serving the last good site
            log.error("site rebuild failed: %s", e)
            return None
        if self.on_build:
            self.on_build(report)
        return report

    def cancel(self) -> None:
        """Stop a pending rebuild."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


def watch_vault(vault: Vault, rebuilder: Rebuilder):
    """Start a watchdog observer on the vault that pokes ``rebuilder``; returns the observer."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    root = vault.root

    class _Events(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            paths = [event.src_path, getattr(event, "dest_path", "") or ""]
            if any(p and not ignored(root, p) for p in paths):
                rebuilder.poke()

    obs = Observer()
    obs.schedule(_Events(), str(root), recursive=True)
    obs.daemon = True
    obs.start()
    return obs


def serve(
    vault: Vault,
    host: str = "127.0.0.1",
    port: int = 8000,
    watch: bool = True,
    out: Path | None = None,
    announce: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Build, then serve until interrupted (or ``stop`` is set), rebuilding on change.

    ``on_progress`` receives the first build's progress (see :mod:`.progress`)."""
    report = build_site(vault, out=out, on_progress=on_progress)
    site_lock = threading.Lock()
    server = make_server(report.html_dir, host, port, site_lock)
    url = f"http://{server.server_address[0]}:{server.server_address[1]}/"
    if announce:
        announce(url)
    rebuilder = Rebuilder(vault, out, site_lock=site_lock)
    observer = watch_vault(vault, rebuilder) if watch else None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        rebuilder.cancel()
        if observer is not None:
            observer.stop()
        server.shutdown()
        server.server_close()
