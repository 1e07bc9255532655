"""Running MkDocs over the generated Markdown: configuration, the vault plugin, logging.

The vault plugin is where the site's safety lives (see :mod:`.sanitize`):

* ``on_page_content``: every page body is passed through the allowlist sanitiser before
  the theme wraps it and before the search plugin indexes it, and the table of contents'
  titles (HTML the theme prints as is) are sanitised the same way;
* ``on_post_page``: generated day pages get their chart SVGs inlined, and only when the
  SVG file is the one the page was generated with (its digest matches), so no file from
  the vault is ever inlined as markup.

Titles and names that reach the theme outside the page body (``site_name``, nav labels,
page titles in the front matter) are HTML-escaped by the page writers and here.
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jinja2
import jinja2.bccache
import yaml

from .charts import chart_digest, inline_charts
from .errors import SiteBuildError
from .rawblocks import GeneratedBlocksExtension
from .sanitize import sanitize_html
from .write import write_if_changed

DAY_PAGE_RE = re.compile(r"^nodes/[^/]+/(?:days/\d{4}-\d{2}-\d{2}|observations/[\w-][\w.-]*)\.md$")
"""Site-source paths of generated day and observation pages (the only pages with inlined
charts)."""
CHART_SRC_RE = re.compile(r"^[\w-][\w.-]*/[\w-][\w.-]*\.svg$")
"""A chart ``src`` as those pages write it: ``<day or observation id>/<sensor slug>.svg``
(one folder down from the page, never ``..``)."""


def write_mkdocs_config(
    name: str, state_dir: Path, src: Path, html_dir: Path, site_tpl: Path, nav: list[Any]
) -> Path:
    """Fill the ``site/mkdocs.yml`` template for a vault; returns the config file path.

    Args:
        name: the vault's name (from ``vault.toml``; escaped here, the theme prints it raw).
        state_dir: where the filled config is written (``.vault/``).
        src, html_dir: MkDocs' ``docs_dir`` and ``site_dir``.
        site_tpl: the folder holding ``mkdocs.yml`` and ``overrides/``.
        nav: the nav (labels already escaped by the caller).
    """
    cfg = yaml.safe_load((site_tpl / "mkdocs.yml").read_text(encoding="utf-8"))
    cfg["site_name"] = html.escape(name)
    cfg["docs_dir"] = str(src)
    cfg["site_dir"] = str(html_dir)
    cfg.setdefault("theme", {})["custom_dir"] = str(site_tpl / "overrides")
    cfg["nav"] = nav
    path = state_dir / "site-mkdocs.yml"
    write_if_changed(path, yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False).encode())
    return path


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "'dirty' build" not in msg:
            self.messages.append(msg)


@contextmanager
def _quiet_mkdocs() -> Iterator[_Collect]:
    logger = logging.getLogger("mkdocs")
    handler = _Collect()
    old = (logger.level, logger.propagate, list(logger.handlers))
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        logger.setLevel(old[0])
        logger.propagate = old[1]
        logger.handlers = old[2]


def _sanitize_toc(items: Any, external_media: bool) -> None:
    for item in items:
        item.title = sanitize_html(item.title, external_media)
        _sanitize_toc(item.children, external_media)


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled theme templates kept in this process's memory between builds.

    MkDocs makes a new Jinja environment for every build and compiles the theme's
    templates again (~1 s for Material on a 2-core machine: most of a small incremental
    build). A process that builds more than once (``vault agent run``, ``vault site serve``)
    reuses the compiled code; Jinja keys each entry by template name and source checksum,
    so an edited template is compiled again. Never written to disk.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_THEME_BYTECODE = _MemoryBytecodeCache()


def _make_plugin(external_media: bool, on_page: Callable[[], None] | None) -> Any:
    from mkdocs.plugins import BasePlugin

    class VaultPlugin(BasePlugin):
        """Sanitises every page body, inlines generated charts, counts pages."""

        rendered = 0

        def on_config(self, config: Any) -> Any:
            config.markdown_extensions.append(GeneratedBlocksExtension())
            return config

        def on_env(self, env: Any, config: Any, files: Any) -> Any:
            env.bytecode_cache = _THEME_BYTECODE
            return env

        def on_page_content(self, html_text: str, page: Any, config: Any, files: Any) -> str:
            if page.toc:
                _sanitize_toc(page.toc, external_media)
            return sanitize_html(html_text, external_media)

        def on_post_page(self, output: str, page: Any, config: Any) -> str:
            self.rendered += 1
            if on_page is not None:
                on_page()
            # after the search plugin has indexed the page: the SVG is never parsed as text
            rel = page.file.src_uri
            src = getattr(page.file, "abs_src_path", None)
            if not src or not DAY_PAGE_RE.match(rel):
                return output
            return inline_page_charts(output, Path(src).parent)

    return VaultPlugin()


def run_mkdocs(
    config_file: Path,
    dirty: bool,
    on_page: Callable[[], None] | None = None,
    external_media: bool = False,
) -> tuple[int, list[str]]:
    """Render HTML with MkDocs; returns (pages rendered, warnings).

    Args:
        config_file: from :func:`write_mkdocs_config`.
        dirty: render only pages whose Markdown is newer than their HTML.
        on_page: called once per rendered page (progress).
        external_media: ``[site] external_media`` (see :mod:`.sanitize`).
    Raises:
        SiteBuildError: MkDocs reported an error.
    """
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    plugin = _make_plugin(external_media, on_page)
    with _quiet_mkdocs() as collected:
        try:
            cfg = load_config(config_file=str(config_file))
            cfg.plugins["vault-site"] = plugin
            cfg.plugins.on_startup(command="build", dirty=dirty)
            try:
                build(cfg, dirty=dirty)
            finally:
                cfg.plugins.on_shutdown()
        except (MkDocsException, yaml.YAMLError) as e:
            raise SiteBuildError(f"mkdocs build failed: {e}") from e
    return plugin.rendered, collected.messages


def inline_page_charts(html_text: str, page_dir: Path) -> str:
    """Inline the chart SVGs of one rendered day page (see :func:`.charts.inline_charts`).

    ``page_dir`` is the folder of the page's Markdown, which chart ``src`` paths are
    relative to. Only a ``src`` of the form ``<day>/<slug>.svg`` whose file's digest
    equals the ``<img>``'s ``data-digest`` is inlined; any other stays an ``<img>``
    (an image never runs script).
    """

    def read(src: str, digest: str) -> str | None:
        path = unquote(src)
        if not CHART_SRC_RE.match(path):
            return None
        try:
            text = (page_dir / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        return text if chart_digest(text) == digest else None

    return inline_charts(html_text, read)
