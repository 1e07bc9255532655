"""A vault seeded with hostile HTML where a peer or a questioner can put it: a
knowledge-base note (body, headings, front matter, attribute lists, an HTML file and an
SVG beside it), a ``vault ask`` question and answer, and an observation's title and text.

Every payload, if it ran, would set ``window.__pwned`` (and ``document.title``) to its
number, so a browser test can tell which one got through. ``MARKERS`` are plain words
placed beside the payloads: a page that shows them proves the payload's text was there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from vault_agent.ask.interactions import write_interaction
from vault_agent.vault import Vault


def run(n: int) -> str:
    """JavaScript a payload runs: marks the page as attacked with payload ``n``."""
    return f"window.__pwned={n};document.title='PWNED {n}'"


PAYLOADS = {
    "script": f"<script>{run(1)}</script>",
    "img-onerror": f'<img src="x-missing.png" onerror="{run(2)}">',
    "js-link": f"[click me](javascript:{run(3)})",
    "js-a": f'<a href="javascript:{run(4)}" id="pwn-link">raw js link</a>',
    "svg-onload": f'<svg onload="{run(5)}"><circle r="4"/></svg>',
    "iframe-js": f'<iframe src="javascript:parent.{run(6)}"></iframe>',
    "iframe-srcdoc": f'<iframe srcdoc="<script>parent.{run(7)}</script>"></iframe>',
    "details-ontoggle": f'<details open ontoggle="{run(8)}"><summary>t</summary>x</details>',
    "body-onload": f'<body onload="{run(9)}">',
    "style-import": "<style>@import url('http://127.0.0.1:9/evil.css');</style>",
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "object": '<object data="javascript:alert(1)"></object>',
    "data-url": '<a href="data:text/html,<script>alert(1)</script>" id="data-link">data</a>',
    "math": (
        f'<math><maction actiontype="statusline" xlink:href="javascript:{run(10)}">'
        "m</maction></math>"
    ),
    "form": f'<form><button formaction="javascript:{run(11)}" id="pwn-btn">go</button></form>',
}
"""Hostile snippets by name (Markdown or raw HTML)."""

HEADING_PAYLOAD = f'<img src="x-head.png" onerror="{run(20)}">'
TITLE_PAYLOAD = f'<img src="x-title.png" onerror="{run(21)}">'
ATTR_LIST_PAYLOAD = f'{{: onclick="{run(22)}" onmouseover="{run(22)}" }}'
EXTERNAL_IMAGE = "http://203.0.113.7/tracker.png"  # TEST-NET-3: never routed
MARKERS = ("kbmarker", "askmarker", "obsmarker")

KB_NOTE = "hostile.md"
KB_SAFE_NOTE = "ordinary.md"


def kb_text() -> str:
    """The hostile knowledge-base note."""
    body = "\n\n".join(f"{name}: {snippet}" for name, snippet in PAYLOADS.items())
    return (
        f"---\ntitle: {json.dumps(TITLE_PAYLOAD + ' kbmarker title')}\ntemplate: 404.html\n---\n"
        f"# Hostile note kbmarker\n\n## Heading {HEADING_PAYLOAD}\n\n"
        f"A paragraph with attributes kbmarker\n{ATTR_LIST_PAYLOAD}\n\n{body}\n\n"
        f"![tracker]({EXTERNAL_IMAGE})\n\n"
        f'<img src="{EXTERNAL_IMAGE}" alt="raw tracker">\n\n'
        '<iframe src="https://video.example/embed/1" title="a video"></iframe>\n'
    )


ORDINARY_TEXT = """---
title: Ordinary markup
tags: [heating, how-to]
---
# Ordinary markup

Press <kbd>Ctrl</kbd>+<kbd>C</kbd>. See [[hostile]].

<table class="plain"><tr><th>Room</th><th align="right">°C</th></tr>
<tr><td>Office</td><td align="right">21</td></tr></table>

<details><summary>More</summary>Hidden until opened.</details>

![a plan](plan.png)

| a | b |
|---|--:|
| 1 | 2 |
"""

# a 1×1 PNG, so the vault image really loads
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6e7"
    "b10000000049454e44ae426082"
)


def make_hostile_vault(root: Path) -> tuple[Vault, dict[str, str]]:
    """A small vault holding every payload; returns (vault, facts) where facts name the
    interaction, observation and notes written."""
    v, _ = Vault.init(root, "office")
    kb = v.path("knowledge-base")
    kb.mkdir(parents=True, exist_ok=True)
    (kb / KB_NOTE).write_text(kb_text(), encoding="utf-8")
    (kb / KB_SAFE_NOTE).write_text(ORDINARY_TEXT, encoding="utf-8")
    (kb / "plan.png").write_bytes(PNG_1PX)
    (kb / "evil.html").write_text(f"<script>{run(30)}</script>", encoding="utf-8")
    (kb / "evil.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg"><script>{run(31)}</script></svg>',
        encoding="utf-8",
    )
    v.commit("Hostile knowledge base", "edit")
    day = "2024-05-01"
    obs_rel, obs = v.write_observation(
        f"obsmarker {PAYLOADS['script']} {PAYLOADS['img-onerror']} {PAYLOADS['js-link']}",
        title=f"obsmarker {TITLE_PAYLOAD}</title><script>{run(40)}</script>",
        window={"start": f"{day}T10:00:00Z", "end": f"{day}T11:00:00Z"},
        created=datetime(2024, 5, 1, 11, 0, tzinfo=UTC),
        extra={"note": f"<script>{run(41)}</script>"},
    )
    ask_rel = write_interaction(
        v,
        f"askmarker {PAYLOADS['script']} {PAYLOADS['img-onerror']}",
        f"askmarker answer {PAYLOADS['js-a']} {PAYLOADS['svg-onload']} {PAYLOADS['js-link']}",
        "rules/v1",
        [obs_rel],
        created=datetime(2024, 5, 2, 9, 0, tzinfo=UTC),
    )
    return v, {"obs_rel": obs_rel, "obs_id": obs.id, "ask_rel": ask_rel, "day": day}
