"""Where each generated page lives in the site source (``.vault/site-src/``).

Page paths are ``/``-separated Markdown paths relative to the site source; MkDocs turns
``a/b.md`` into ``a/b.html``. Node ids are already safe path parts; knowledge-base notes
keep their names as written (spaces and non-ASCII included: MkDocs percent-encodes them).
"""

from __future__ import annotations

import posixpath
import re

from ..vault import layout
from .wikilinks import md_link_target

HOME = "index.md"
DATES = "dates.md"
KB_INDEX = "knowledge-base.md"
INTERACTIONS_INDEX = "interactions.md"
CONFLICTS = "conflicts.md"


def node_page(node: str) -> str:
    """A node's overview page."""
    return f"nodes/{node}/index.md"


def node_days_page(node: str) -> str:
    """A node's list of every day."""
    return f"nodes/{node}/days.md"


def day_page(node: str, day: str) -> str:
    """A node's day page (``day`` is ``YYYY-MM-DD``)."""
    return f"nodes/{node}/days/{day}.md"


def chart_file(node: str, day: str, sensor: str) -> str:
    """The SVG chart of a sensor's day (beside the day page, named by the sensor's slug)."""
    return f"nodes/{node}/days/{day}/{sensor_anchor(sensor)[7:]}.svg"


def sessions_page(node: str) -> str:
    """A node's list of agent session days (MCP tool calls)."""
    return f"nodes/{node}/sessions.md"


def session_day_page(node: str, day: str) -> str:
    """A node's agent session log of one UTC day (``day`` is ``YYYY-MM-DD``)."""
    return f"nodes/{node}/sessions/{day}.md"


def observation_page(node: str, oid: str) -> str:
    """An observation's page, named by its id."""
    return f"nodes/{node}/observations/{oid}.md"


def observation_chart_file(node: str, oid: str, sensor: str) -> str:
    """The SVG chart of a sensor over an observation's window (beside its page)."""
    return f"nodes/{node}/observations/{oid}/{sensor_anchor(sensor)[7:]}.svg"


def kb_page(note: str) -> str:
    """A knowledge-base file's page (``note`` relative to ``knowledge-base/``)."""
    return f"kb/{note}"


def interaction_page(rel: str) -> str:
    """An ``interactions/…`` file's page (same relative path)."""
    return rel


def sensor_anchor(sensor: str) -> str:
    """The HTML id of a sensor's section on a day page (``sensor-<slug>``)."""
    slug = re.sub(r"[^\w-]+", "-", sensor.strip().lower(), flags=re.UNICODE).strip("-")
    return f"sensor-{slug or 'x'}"


def link(from_page: str, to_page: str, anchor: str = "") -> str:
    """A Markdown link destination from one page to another (relative, ``<>`` when needed)."""
    rel = posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")
    return md_link_target(rel + (f"#{anchor}" if anchor else ""))


def page_for_vault_path(rel: str, obs_ids: dict[str, str] | None = None) -> tuple[str, str] | None:
    """The (page, anchor) showing a vault path, or None if the site has no page for it.

    ``rel`` may carry a ``#chunk-n`` suffix (search citations); it is dropped. ``obs_ids``
    maps observation paths to ids (otherwise the id is read from the file name).
    """
    rel = rel.split("#", 1)[0].strip().lstrip("/")
    parts = rel.split("/")
    info = layout.classify(rel)
    name = parts[-1]
    if info.kind == layout.PathKind.ROLLUP and layout.ROLLUP_NAME_RE.match(name):
        return day_page(parts[1], name[:10]), ""
    if info.kind == layout.PathKind.DAILY and layout.DAILY_NAME_RE.match(name):
        return day_page(parts[1], name[:10]), ""
    if info.kind == layout.PathKind.OBSERVATION:
        oid = (obs_ids or {}).get(rel)
        m = layout.OBSERVATION_NAME_RE.match(name)
        if oid is None and m:
            oid = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
        return (observation_page(parts[1], oid), "") if oid else None
    if info.kind == layout.PathKind.MEMORY:
        return node_page(parts[1]), "memory"
    if info.kind == layout.PathKind.NODE_CONFIG:
        return node_page(parts[1]), ""
    if info.kind == layout.PathKind.KNOWLEDGE:
        return kb_page("/".join(parts[1:])), ""
    if info.kind == layout.PathKind.INTERACTION and rel.endswith(".md"):
        return interaction_page(rel), ""
    if info.kind == layout.PathKind.CONFLICT_COPY:
        return CONFLICTS, ""
    return None
