"""A real uvicorn server on 127.0.0.1 in a background thread, for tests of ASGI apps.

Example::

    with UvicornThread(app) as srv:
        httpx.get(srv.url + "/")

The port is chosen by the kernel (port 0); ``srv.url`` is ``http://127.0.0.1:<port>``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class UvicornThread:
    """Run ``app`` with uvicorn on 127.0.0.1 (a free port) until the ``with`` block ends."""

    def __init__(self, app: Any, host: str = "127.0.0.1", startup_timeout_s: float = 20.0):
        self.app = app
        self.host = host
        self.timeout = startup_timeout_s
        self.url = ""
        self.port = 0
        config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="auto")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> UvicornThread:
        self._thread.start()
        deadline = time.monotonic() + self.timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
