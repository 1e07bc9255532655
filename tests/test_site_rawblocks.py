"""Generated raw HTML blocks skip Markdown's HTML parser and render the same.

Truth: Python-Markdown itself, with the site's extensions and without ours."""

from __future__ import annotations

import functools
import re

import markdown
import yaml

from tests.test_site_helpers import make_vault
from vault_agent.resources import project_path
from vault_agent.site.build import build_site
from vault_agent.site.rawblocks import GeneratedBlocksExtension


@functools.cache
def site_extensions() -> tuple[tuple[str, ...], dict]:
    """The Markdown extensions and their settings of the site's mkdocs.yml."""
    cfg = yaml.safe_load((project_path("site") / "mkdocs.yml").read_text())
    names, configs = [], {}
    for e in cfg["markdown_extensions"]:
        name = next(iter(e)) if isinstance(e, dict) else e
        names.append(name)
        if isinstance(e, dict):
            configs[name] = e[name]
    return tuple(names), configs


def convert(text: str, ours: bool) -> str:
    names, configs = site_extensions()
    exts = [*names, *([GeneratedBlocksExtension()] if ours else [])]
    html = markdown.Markdown(extensions=exts, extension_configs=configs).convert(text)
    return re.sub(r"\n+", "\n", html)  # a stashed block keeps no blank line after it


def body(path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("---", 2)[2] if text.startswith("---") else text


def test_every_generated_page_renders_the_same(tmp_path):
    v, _ = make_vault(tmp_path / "v")
    rep = build_site(v)
    pages = sorted((v.root / ".vault" / "site-src").rglob("*.md"))
    assert len(pages) == rep.pages_written + rep.pages_skipped > 30
    stashed = 0
    for p in pages:
        text = body(p)
        assert convert(text, True) == convert(text, False), p
        stashed += text.count('\n<div class="va-')
    assert stashed > 20  # the pages do hold generated blocks


def test_blocks_markdown_must_see_are_left_to_it():
    inside_blank = '<details class="va-conflict"><summary>x</summary><pre><code># A\n\nB</code></pre></details>'  # noqa: E501
    with_md = '<div class="va-memory" markdown>\n\n**bold**\n\n</div>'
    for text in (inside_blank, with_md, "intro\n" + '<p class="va-sub">glued to a paragraph</p>'):
        assert convert(text, True) == convert(text, False), text
    assert "<strong>bold</strong>" in convert(with_md, True)
