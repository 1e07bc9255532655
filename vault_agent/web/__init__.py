"""``vault serve``: the live dashboard (Starlette + uvicorn) beside the static site.

Pages (Jinja2 templates with autoescape, package data): Status, History, Live, Ask.
JSON API under ``/api/`` (documented in docs/dashboard.md); server-sent events for the
live parts; the already-built static site under ``/site/``. Beyond loopback every
request needs the bearer token (:mod:`vault_agent.httpauth`).
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
