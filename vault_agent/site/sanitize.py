"""The site's HTML allowlist: what vault content may put into a page.

Invariant: every page body that MkDocs renders passes through :func:`sanitize_html`
before the theme wraps it (the MkDocs plugin in :mod:`.mkdocs_run` calls it in
``on_page_content``), so whatever Markdown or raw HTML a note, a question or an
observation carries, the page holds only the tags and attributes listed here. Script,
``<style>``, event handlers (``on…``), ``javascript:``/``data:`` URLs, forms, iframes and
``<svg>`` never survive; the theme's own scripts live outside the page body and are not
touched. The sanitiser is nh3 (the Python binding of ammonia, an html5ever-based
allowlist sanitiser): https://nh3.readthedocs.io/.

Third-party requests: an image whose ``src`` is on another host (``http:``, ``https:`` or
protocol-relative ``//``) becomes a link, and an ``<iframe>``/``<embed>``/``<object>``/
``<video>``/``<audio>`` becomes a link to its source, unless the vault opts in with
``[site] external_media = true`` in ``vault.toml``; then such images stay, and https
iframes stay sandboxed (no same-origin access, no forms).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import nh3

TAGS = frozenset(nh3.ALLOWED_TAGS | {"input", "section"})
"""nh3's default allowlist (text, lists, tables, details/summary, kbd, figure, img…)
plus task-list checkboxes and sections."""

CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
)
"""Tags removed together with everything inside them."""

URL_SCHEMES = frozenset({"http", "https", "mailto"})
"""Schemes allowed in ``href``/``src``; relative URLs (vault images, page links) pass."""

_GLOBAL_ATTRS = {"class", "id", "title", "lang", "dir", "data-search-exclude"}
ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": _GLOBAL_ATTRS,
    "details": {"open"},
    "img": {"src", "alt", "width", "height", "loading", "data-digest"},
    "th": {"colspan", "rowspan", "scope", "style"},
    "td": {"colspan", "rowspan", "style"},
    "ol": {"start", "type"},
    "time": {"datetime"},
}
"""Attributes kept per tag (``*``: on every tag). ``style`` is kept only on table cells
and only its ``text-align`` (what Markdown tables write)."""

TAG_ATTRIBUTE_VALUES = {"input": {"type": {"checkbox"}, "checked": {"", "checked"}}}
SET_ATTRIBUTES = {"input": {"disabled": "disabled"}}

_EMBED_RE = re.compile(
    r"<(iframe|embed|object|video|audio|source)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.I
)
_IMG_RE = re.compile(r"<img\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.I)
_EMPTY_IFRAME_RE = re.compile(r"<iframe\b(?![^>]*\bsrc=)[^>]*>.*?</iframe>", re.S)
"""An iframe whose ``src`` the filter dropped (relative, http, javascript…): removed."""
_ATTR_RE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _attrs(text: str) -> dict[str, str]:
    """Attributes of a start tag's inside (names lower-cased, values unescaped)."""
    return {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTR_RE.finditer(text)
    }


def is_external(url: str) -> bool:
    """True for a URL that loads from another host: has a scheme or starts with ``//``.

    >>> is_external("https://example.org/a.png"), is_external("img/a.png")
    (True, False)
    """
    u = url.strip().lower()
    return u.startswith("//") or bool(re.match(r"^[a-z][a-z0-9+.-]*:", u))


def _link(url: str, label: str) -> str:
    return (
        f'<a class="va-external" href="{html.escape(url, quote=True)}">'
        f"{html.escape(label or url)}</a>"
    )


def _embeds_to_links(text: str) -> str:
    """Put a link to the source before each embed's start tag (the embed itself is then
    removed by the sanitiser; a ``javascript:`` source loses its ``href`` there too)."""

    def one(m: re.Match[str]) -> str:
        a = _attrs(m.group(2))
        url = a.get("src") or a.get("data") or ""
        if not url:
            return m.group(0)
        label = a.get("title") or f"{m.group(1).lower()}: {url}"
        return _link(url, label) + m.group(0)

    return _EMBED_RE.sub(one, text)


def _external_images_to_links(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        a = _attrs(m.group(1))
        src = a.get("src", "")
        if not src or not is_external(src):
            return m.group(0)
        return _link(src, a.get("alt") or f"image: {src}")

    return _IMG_RE.sub(one, text)


def sanitize_html(text: str, external_media: bool = False) -> str:
    """Clean one page body (an HTML fragment) with the site's allowlist.

    Args:
        text: HTML as rendered from Markdown (may hold raw HTML from the vault).
        external_media: keep images from other hosts and sandboxed https iframes
            (``[site] external_media``); otherwise they become links.
    Returns:
        the fragment with only allowed tags, attributes and URL schemes.
    """
    tags = set(TAGS)
    attributes = {k: set(v) for k, v in ATTRIBUTES.items()}
    clean_content = set(CLEAN_CONTENT_TAGS)
    set_values: dict[str, dict[str, str]] = {k: dict(v) for k, v in SET_ATTRIBUTES.items()}
    if external_media:
        tags.add("iframe")
        clean_content.discard("iframe")
        attributes["iframe"] = {"src", "width", "height", "allowfullscreen"}
        set_values["iframe"] = {"sandbox": "allow-scripts allow-popups allow-presentation"}
    else:
        text = _embeds_to_links(text)
    out = nh3.clean(
        text,
        tags=tags,
        clean_content_tags=clean_content,
        attributes=attributes,
        attribute_filter=_filter_attribute(external_media),
        tag_attribute_values=TAG_ATTRIBUTE_VALUES,
        set_tag_attribute_values=set_values,
        url_schemes=set(URL_SCHEMES),
        filter_style_properties={"text-align"},
        link_rel=None,
    )
    if external_media:
        return _EMPTY_IFRAME_RE.sub("", out)
    return _external_images_to_links(out)


def _filter_attribute(external_media: bool):
    def keep(tag: str, attr: str, value: str) -> str | None:
        # An iframe (only allowed with external_media) must load over https from
        # another host: a relative src could frame a page of this site with the
        # sandbox's scripts enabled.
        if tag == "iframe" and attr == "src" and not value.strip().lower().startswith("https://"):
            return None
        return value

    return keep


def text_only(fragment: str) -> str:
    """An HTML fragment reduced to escaped text (tags dropped): for titles the theme
    prints without escaping (table-of-contents entries, the page ``<title>``)."""
    return nh3.clean(fragment, tags=set(), clean_content_tags=set(CLEAN_CONTENT_TAGS))


def external_media_enabled(config: Mapping[str, Any]) -> bool:
    """``[site] external_media`` of a parsed ``vault.toml`` (False when absent or not a
    boolean true)."""
    site = config.get("site")
    return isinstance(site, Mapping) and site.get("external_media") is True
