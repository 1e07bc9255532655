"""The Jinja2 environment of the site's page templates (``vault_agent/site/templates/``).

Templates are package data read with :mod:`importlib.resources`, so a wheel install
works as well as an editable one. Autoescaping is on for every template: a value from
the vault is escaped wherever it is printed, and only helpers that build links
(:func:`md_link`, :func:`href`) or text the sanitiser will clean later (Markdown bodies,
marked with :func:`markdown_source`) produce :class:`markupsafe.Markup`.

The pages are Markdown with raw HTML in it; HTML escaping is right for both (Markdown
passes entities through), and the rendered HTML is sanitised again (:mod:`.sanitize`).
"""

from __future__ import annotations

import functools
import json
import posixpath
from importlib import resources
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from ..vault import layout
from . import urls
from .charts import fmt_num

TEMPLATE_PACKAGE = "vault_agent.site"
TEMPLATE_DIR = "templates"


def _load(name: str) -> str:
    path = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR, name)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise jinja2.TemplateNotFound(name) from None


def template_texts() -> list[tuple[str, bytes]]:
    """(name, bytes) of every template, for the build's template hash."""
    base = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR)
    return sorted((p.name, p.read_bytes()) for p in base.iterdir() if p.name.endswith(".j2"))


# -- filters and helpers --------------------------------------------------------------------------
def when(ts: str | None) -> str:
    """``YYYY-MM-DD HH:MM`` (UTC) of an ISO time, or an en dash."""
    if not ts:
        return "–"
    try:
        return layout.parse_iso(str(ts)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(ts)


def hhmm(ts: str | None, day: str | None = None) -> str:
    """``HH:MM`` of a UTC ISO 8601 time; the midnight that ends ``day`` is ``24:00``."""
    if not ts:
        return "–"
    try:
        t = layout.parse_iso(str(ts))
    except ValueError:
        return str(ts)
    if day and t.strftime("%H:%M:%S") == "00:00:00" and t.date().isoformat() > day:
        return "24:00"
    return t.strftime("%H:%M")


window_label = layout.window_label  # the one label (CLI, day notes, site)


def note_when(note: Any, with_date: bool = False) -> str:
    """A timeline label of a catalog note: its window (:func:`window_label`), else when it
    was written (``HH:MM``, or ``YYYY-MM-DD HH:MM`` with the date)."""
    if getattr(note, "start", ""):
        return window_label(note.start, note.end, with_date)
    return when(note.created) if with_date else hhmm(note.created)


def local_hhmm(ts: str | None, tz: str) -> str:
    """``HH:MM`` of a UTC ISO 8601 time in zone ``tz`` (IANA name); an en dash for none."""
    if not ts:
        return "–"
    try:
        return layout.parse_iso(str(ts)).astimezone(ZoneInfo(tz)).strftime("%H:%M")
    except (ValueError, KeyError):
        return str(ts)


def hhmm_ss(ts: str | None) -> str:
    """``HH:MM:SS`` (UTC) of an ISO time, the text as it is when it is not one."""
    if not ts:
        return "–"
    try:
        return layout.parse_iso(str(ts)).strftime("%H:%M:%S")
    except ValueError:
        return str(ts)


def size_text(n: int | None) -> str:
    """A byte count for people: ``812 B``, ``12.4 kB``, ``3.1 MB`` (powers of 1000)."""
    if n is None:
        return "–"
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def duration(seconds: float | None) -> str:
    """A time span for people: ``45 s``, ``12 min``, ``3 h 05 min``."""
    s = float(seconds or 0)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    h, m = divmod(round(s / 60), 60)
    return f"{h} h {m:02d} min"


def weekday(day: str) -> str:
    """``Mon 02`` for ``YYYY-MM-DD``."""
    from datetime import date

    return date.fromisoformat(day).strftime("%a %d")


def href(frm: str, to: str, anchor: str = "") -> str:
    """An href for raw HTML (MkDocs does not rewrite those): ``.html`` and relative."""
    target = to[:-3] + ".html" if to.endswith(".md") else to
    rel = posixpath.relpath(target, posixpath.dirname(frm) or ".")
    return quote(rel) + (f"#{quote(anchor)}" if anchor else "")


def md_link(frm: str, to: str, text: Any, anchor: str = "") -> Markup:
    """A Markdown link ``[text](dest)`` (text escaped, ``[``/``]`` too) that MkDocs checks."""
    label = str(escape(" ".join(str(text).split()))).replace("[", "&#91;").replace("]", "&#93;")
    return Markup(f"[{label}]({urls.link(frm, to, anchor)})")


def markdown_source(text: str) -> Markup:
    """Markdown from a vault file, with its raw HTML escaped (shown as text) but its
    Markdown (lists, emphasis, links) kept."""
    return Markup(str(escape(text)).replace("&#39;", "'").replace("&#34;", '"'))


def yaml_meta(
    meta: dict[str, Any], hide: Any = (), search_exclude: bool = False, boost: Any = None
) -> Markup:
    """The YAML between a page's ``---`` lines. The title arrives escaped by the template
    engine's rules (the theme prints it unescaped in ``<title>``, header and search).

    Each value is written as JSON (``title: "…"``), which YAML reads as the same value:
    JSON is YAML's flow style, and with ``ensure_ascii`` every character outside ASCII is
    a ``\\uXXXX`` escape, which YAML's double-quoted strings share (YAML 1.1 §5.7,
    the version PyYAML and MkDocs read): 0.01 ms a page against 1 ms for ``yaml.safe_dump``,
    which mattered on sites of thousands of day pages.
    """
    data: dict[str, Any] = {"title": str(escape(meta["title"]))}
    if hide:
        data["hide"] = list(hide)
    if search_exclude:
        data["search"] = {"exclude": True}
    elif boost is not None:
        data["search"] = {"boost": boost}
    return Markup("\n".join(f"{k}: {json.dumps(v)}" for k, v in data.items()))


@functools.cache
def environment() -> jinja2.Environment:
    """The site's template environment (autoescape on, loaded from package data)."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        when=when,
        hhmm=hhmm,
        hhmm_ss=hhmm_ss,
        local_hhmm=local_hhmm,
        bytes=size_text,
        window_label=window_label,
        note_when=note_when,
        num=fmt_num,
        duration=duration,
        yaml_meta=yaml_meta,
        weekday=weekday,
    )
    env.globals.update(
        href=href,
        link=md_link,
        node_page=urls.node_page,
        node_days_page=urls.node_days_page,
        day_page=urls.day_page,
        observation_page=urls.observation_page,
        sessions_page=urls.sessions_page,
        session_day_page=urls.session_day_page,
        interaction_page=urls.interaction_page,
        kb_page=urls.kb_page,
        sensor_anchor=urls.sensor_anchor,
    )
    return env


def render(name: str, **context: Any) -> str:
    """Render template ``name`` with ``context``."""
    return environment().get_template(name).render(**context)
