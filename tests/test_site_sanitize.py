"""The site's HTML allowlist (vault_agent/site/sanitize.py) on its own, and a real build
of a vault seeded with hostile content (no browser: the built HTML is parsed)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.hostile_site import EXTERNAL_IMAGE, PAYLOADS, make_hostile_vault
from vault_agent.site.build import build_site
from vault_agent.site.sanitize import external_media_enabled, is_external, sanitize_html
from vault_agent.vault import Vault

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "style", "svg", "math", "form", "meta"}


class Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def dangers(fragment: str) -> list[str]:
    """Tags, event handlers and script URLs left in an HTML fragment."""
    out = []
    for tag, attrs in Elements(fragment).found:
        if tag in DANGEROUS_TAGS:
            out.append(tag)
        for k, v in attrs.items():
            if k.startswith("on"):
                out.append(f"{tag}@{k}")
            if k in ("href", "src", "action", "formaction") and v.strip().lower().startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                out.append(f"{tag}@{k}={v[:20]}")
    return out


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_payload_is_defused(name):
    raw = PAYLOADS[name]
    assert dangers(raw) or name == "js-link", "the payload itself should be dangerous"
    assert dangers(sanitize_html(raw)) == []
    assert dangers(sanitize_html(raw, external_media=True)) == []


@pytest.mark.parametrize(
    "raw",
    [
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<img src="x" onerror  =  "alert(1)">',
        "<IMG SRC=x OnError=alert(1)>",
        '<a href="vbscript:msgbox(1)">x</a>',
        "<scr<script>ipt>alert(1)</script>",
        '<div style="background:url(javascript:alert(1))">x</div>',
        '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    ],
)
def test_obfuscated_payloads(raw):
    out = sanitize_html(raw)
    assert dangers(out) == [] and "style=" not in out, out


def test_ordinary_markup_is_kept():
    raw = (
        '<table><thead><tr><th style="text-align: right;">a</th></tr></thead>'
        "<tbody><tr><td>1</td></tr></tbody></table>"
        "<details open><summary>More</summary><p>x</p></details>"
        '<p><kbd>Ctrl</kbd> <img src="plan.png" alt="plan" width="10"> '
        '<a href="other.html#h" title="t">link</a> <a href="https://example.org/">ext</a></p>'
        '<ul><li><input type="checkbox" checked disabled> done</li></ul>'
        '<h2 id="h">H<a class="headerlink" href="#h">#</a></h2>'
        '<figure class="va-figure" data-search-exclude="true"><figcaption>c</figcaption></figure>'
    )
    out = sanitize_html(raw)
    tags = [t for t, _ in Elements(out).found]
    for t in (
        "table",
        "th",
        "td",
        "details",
        "summary",
        "kbd",
        "img",
        "a",
        "input",
        "h2",
        "figure",
    ):
        assert t in tags, (t, out)
    attrs = dict(Elements(out).found)
    assert attrs["img"] == {"src": "plan.png", "alt": "plan", "width": "10"}
    assert attrs["th"] == {"style": "text-align:right"}
    assert attrs["details"].keys() == {"open"}
    assert attrs["figure"]["data-search-exclude"] == "true"
    assert 'href="https://example.org/"' in out and 'href="other.html#h"' in out


@pytest.mark.parametrize("src", [EXTERNAL_IMAGE, "https://x.example/a.png", "//x.example/a.png"])
def test_external_images_become_links_unless_enabled(src):
    raw = f'<p><img src="{src}" alt="a tracker"></p>'
    out = sanitize_html(raw)
    assert "<img" not in out and f'<a class="va-external" href="{src}">a tracker</a>' in out
    kept = sanitize_html(raw, external_media=True)
    assert f'<img src="{src}" alt="a tracker">' in kept


def test_embeds_become_links_unless_enabled():
    raw = '<iframe src="https://video.example/e/1" title="A talk"></iframe><p>after</p>'
    out = sanitize_html(raw)
    assert "<iframe" not in out and '<a class="va-external" href="https://video.example/e/1">'
    assert ">A talk</a>" in out and "<p>after</p>" in out
    kept = sanitize_html(raw, external_media=True)
    assert '<iframe src="https://video.example/e/1"' in kept and 'sandbox="allow-scripts' in kept
    assert "allow-same-origin" not in kept
    # a relative or plain-http frame is never kept: it could frame this site itself
    for src in ("kb/page.html", "http://video.example/e/1", "javascript:alert(1)"):
        out = sanitize_html(f'<iframe src="{src}"></iframe>', external_media=True)
        assert f'src="{src}"' not in out, out


def test_helpers():
    assert is_external("HTTPS://a/b") and is_external("//a/b") and is_external("mailto:x@y")
    assert not is_external("img/a.png") and not is_external("../a.png")
    assert external_media_enabled({"site": {"external_media": True}})
    assert not external_media_enabled({"site": {"external_media": "yes"}})
    assert not external_media_enabled({})


# -- a real build -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-build")
    v, facts = make_hostile_vault(root / "vault")
    return v, facts, build_site(v)


def content_of(path: Path) -> str:
    """The page body MkDocs rendered from our Markdown (between the article tags)."""
    text = path.read_text(encoding="utf-8")
    start = text.index('<article class="md-content__inner md-typeset">')
    return text[start : text.index("</article>", start)]


def test_built_pages_hold_no_active_content(built):
    v, facts, report = built
    pages = [p for p in report.html_dir.rglob("*.html") if "search" not in p.parts]
    assert len(pages) >= 10
    for p in pages:
        assert dangers(content_of(p)) == [], p


def test_kb_front_matter_and_active_files_do_not_reach_the_site(built):
    v, facts, report = built
    page = report.html_dir / "kb" / "hostile.html"
    text = page.read_text(encoding="utf-8")
    # the note's 'template: 404.html' was not obeyed; its title is text
    assert "md-content__inner" in text and "kbmarker" in content_of(page)
    title = text[text.index("<title>") : text.index("</title>")]
    assert "&lt;img" in title and "<img" not in title
    assert not (report.html_dir / "kb" / "evil.html").exists()
    assert not (report.html_dir / "kb" / "evil.svg").exists()
    assert (report.html_dir / "kb" / "plan.png").is_file()
    assert any("evil.html: not published" in p for p in report.problems)


def test_site_name_and_titles_are_escaped(tmp_path):
    v, _ = make_hostile_vault(tmp_path / "v")
    toml = v.path("vault.toml")
    text = toml.read_text(encoding="utf-8")
    name_line = next(ln for ln in text.splitlines() if ln.startswith("name"))
    toml.write_text(
        text.replace(name_line, 'name = "<img src=x onerror=alert(1)>"')
        + "\n[site]\nexternal_media = true\n",
        encoding="utf-8",
    )
    v2 = Vault(v.root, v.node)
    report = build_site(v2, clean=True)
    home = (report.html_dir / "index.html").read_text(encoding="utf-8")
    assert "<img src=x onerror" not in home and "&lt;img src=x onerror=alert(1)&gt;" in home
    kb = content_of(report.html_dir / "kb" / "hostile.html")
    assert f'<img src="{EXTERNAL_IMAGE}"' in kb, "external_media = true keeps external images"
    # the https embed stays, sandboxed; nothing else active does
    assert [d for d in dangers(kb) if d != "iframe"] == []
    frames = [a for t, a in Elements(kb).found if t == "iframe"]
    assert frames == [
        {
            "src": "https://video.example/embed/1",
            "title": "a video",
            "sandbox": "allow-scripts allow-popups allow-presentation",
        }
    ]
