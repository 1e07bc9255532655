"""Helpers shared by the site tests (no tests here): a vault filled by replaying real data,
HTML parsing."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from tests.support import shared
from vault_agent.ask.interactions import write_interaction
from vault_agent.resources import project_path
from vault_agent.sensors.replay import configure_node, replay
from vault_agent.vault import Vault, layout

DATATEST = project_path("datasets") / "occupancy-detection" / "datatest.txt"
ROOM = project_path("datasets") / "room-occupancy-estimation" / "Occupancy_Estimation.csv"
KB_NOTE = "Heizung/Wohnzimmer Überblick.md"


def make_vault(root: Path) -> tuple[Vault, dict]:
    """A copy at ``root`` of the run's shared vault built by :func:`build_vault` (built
    once per run, see :mod:`tests.support.shared`): (vault as node ``office``, facts)."""
    facts = shared.copy("site-office-pir6", build_vault, root)
    return Vault(root, "office"), facts


def build_vault(root: Path) -> dict:
    """A vault replaying the UCI occupancy-detection test file (3 days, 5 sensors, node
    ``office``), with observations, a memory fact, knowledge-base notes with spaces and
    non-ASCII names, a logged ``vault ask`` and a conflict copy; plus node ``pir-6``
    replaying the PIR motion sensor S6 of UCI room-occupancy-estimation (a binary sensor).
    Returns the facts (paths and ids of what it wrote, the replay's stats)."""
    v, _ = Vault.init(root, "office")
    stats = replay(v, DATATEST, configure_node(v, DATATEST), backfill=True, commit=True)
    pir = Vault(v.root, "pir-6")
    replay(pir, ROOM, configure_node(pir, ROOM, "S6"), backfill=True, commit=True)
    day = "2015-02-03"
    src = f"agents/office/sensors/2015/02/{day}.jsonl"
    obs_rel, obs = v.write_observation(
        "CO2 rose to 1402 ppm at 17:03 while the office was occupied.",
        title="CO2 peak in the afternoon",
        sensors=["office-co2", "office-temperature"],
        window={"start": f"{day}T16:00:00Z", "end": f"{day}T17:00:00Z"},
        confidence=0.8,
        model="rules/v1",
        sources=[src],
        created=datetime(2015, 2, 3, 17, 5, tzinfo=UTC),
        extra={"facts": {"co2_max": 1402}},
    )
    early_rel, _ = v.write_observation(
        "Lights came on at 07:50.",
        title="Lights on",
        sensors=["office-light"],
        window={"start": f"{day}T07:00:00Z", "end": f"{day}T08:00:00Z"},
        confidence=0.3,
        created=datetime(2015, 2, 3, 8, 0, tzinfo=UTC),
    )
    mem_rel, _ = v.write_observation(
        "Occupied on weekdays from 08:00 to 18:00.",
        kind="memory",
        title="Weekday occupancy",
        created=datetime(2015, 2, 4, 0, 0, tzinfo=UTC),
    )
    kb = v.path("knowledge-base")
    (kb / "Heizung").mkdir(parents=True, exist_ok=True)
    (kb / KB_NOTE).write_text(
        "# Wohnzimmer\n\nSee [[Office notes|the office]], [[Office notes#CO2 levels]] and "
        "[[Missing page]].\n\n```\n[[inside code]]\n```\n\n## Thermostat\n\nSet to 21 °C.\n",
        encoding="utf-8",
    )
    (kb / "Office notes.md").write_text(
        "# Office notes\n\n## CO2 levels\n\nAbove 1000 ppm open a window. Back to "
        "[[Wohnzimmer Überblick#Thermostat]]. `[[not a link]]`\n",
        encoding="utf-8",
    )
    (kb / "Office notes.sync-conflict-20150204-101500-llama.md").write_text(
        "# Office notes\n\nTheir version.\n", encoding="utf-8"
    )
    v.commit("Knowledge base notes", "edit")
    ask_rel = write_interaction(
        v,
        "When was CO2 highest on 2015-02-03?",
        "It peaked at 1402 ppm at 17:03 [1].",
        "rules/v1",
        [obs_rel, src],
        created=datetime(2015, 2, 5, 9, 0, tzinfo=UTC),
    )
    v.close()
    pir.close()
    return {
        "stats": stats,
        "obs_rel": obs_rel,
        "obs_id": obs.id,
        "early_rel": early_rel,
        "mem_rel": mem_rel,
        "ask_rel": ask_rel,
        "day": day,
        "src": src,
    }


def expected_day(v: Vault, rel: str) -> dict[str, dict]:
    """Per-sensor day figures computed straight from the JSONL file (independently of the
    site code): windows, count-weighted mean, min, max, last."""
    acc: dict[str, list[dict]] = defaultdict(list)
    for line in v.path(rel).read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        acc[d["sensor"]].append(d)
    out = {}
    for s, rows in acc.items():
        rows.sort(key=lambda d: d["start"])
        w = sum(d["count"] for d in rows)
        out[s] = {
            "windows": len(rows),
            "mean": sum(d["mean"] * d["count"] for d in rows) / w,
            "min": min(d["min"] for d in rows),
            "max": max(d["max"] for d in rows),
            "last": rows[-1]["last"],
            "unit": rows[-1]["unit"],
        }
    return out


class Page(HTMLParser):
    """Parsed HTML: links, loads (script/link/img/iframe sources), ids, tables, svgs, text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.loads: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.tables: list[list[list[str]]] = []
        self.svgs: list[dict[str, str]] = []
        self.imgs: list[dict[str, str]] = []
        self.polylines: list[str] = []
        self.text_parts: list[str] = []
        self.classes: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        self.classes += a.get("class", "").split()
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.loads.append((tag, a["src"]))
        if (
            tag == "link"
            and a.get("href")
            and any(
                r in a.get("rel", "")
                for r in (
                    "stylesheet",
                    "preload",
                    "preconnect",
                    "icon",
                    "modulepreload",
                    "manifest",
                )
            )
        ):
            self.loads.append(("link", a["href"]))
        if tag == "svg":
            self.svgs.append(a)
        if tag == "img":
            self.imgs.append(a)
        if tag == "polyline":
            self.polylines.append(a.get("points", ""))
        if tag == "table":
            self.tables.append([])
        if tag == "tr" and self.tables:
            self._row = []
            self.tables[-1].append(self._row)
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        """All text, whitespace collapsed."""
        return " ".join(" ".join(self.text_parts).split())


def parse(path: Path) -> Page:
    """Parse one built HTML file."""
    return Page(path.read_text(encoding="utf-8"))


def charts_of(page_path: Path) -> dict[str, tuple[dict[str, str], Page]]:
    """The charts of a built page, inlined as ``<svg class="va-chart">`` with a
    ``data-file`` link to the standalone SVG: id → (inline svg attributes, parsed SVG file)."""
    from urllib.parse import unquote

    out = {}
    for svg in parse(page_path).svgs:
        if "va-chart" in svg.get("class", "").split():
            out[svg["id"]] = (svg, parse(page_path.parent / unquote(svg["data-file"])))
    return out


def day_html(html: Path, node: str, day: str) -> Path:
    """The built HTML of a node's day page."""
    return html / "nodes" / node / "days" / f"{day}.html"


__all__ = ["layout"]
