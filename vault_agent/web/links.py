"""Links from the dashboard to the static site's pages (served under ``/site/``)."""

from __future__ import annotations

from ..site.urls import page_for_vault_path

SITE_PREFIX = "/site/"


def site_url(rel: str) -> str | None:
    """The URL of the site page showing vault path ``rel`` (``#chunk-n`` suffixes are
    dropped), or None when the site has no page for it."""
    hit = page_for_vault_path(rel)
    if not hit:
        return None
    page, anchor = hit
    return SITE_PREFIX + page[: -len(".md")] + ".html" + (f"#{anchor}" if anchor else "")
