"""The site's pages: view functions from catalog data to a template's context.

Each function gathers what its page shows and renders a Jinja2 template
(``templates/*.md.j2``, :mod:`.render`) with autoescaping: the result is the page's
Markdown (front matter, then body). Links between pages are relative: Markdown links to
``.md`` paths that MkDocs checks, or ``.html`` hrefs inside raw HTML.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from markupsafe import Markup

from ..vault import layout
from ..vault.records import Observation, Rollup
from . import urls
from .catalog import Catalog, DaySummary, NoteMeta, SensorDay
from .charts import (
    HEIGHT,
    WIDTH,
    chart_digest,
    day_chart,
    fmt_num,
    points_from_rollups,
    window_chart,
)
from .kb import KbNote
from .render import (
    duration,
    environment,
    hhmm,
    href,
    markdown_source,
    render,
    when,
    window_label,
)
from .sessions import SessionDay

LATEST_ON_HOME = 12
RECENT_DATES_ON_HOME = 14
TIMELINE_ON_NODE = 100
MD_LINK_RE = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]+>")
VAULT_PATH_RE = re.compile(
    r"(?<![\w/.-])((?:agents|knowledge-base|interactions|shared-memory)/[^\s`'\"<>()\[\]]+)"
)


@dataclass(frozen=True)
class NodeStatus:
    """What the home page says about a node (from ``query.status``, see
    :mod:`.status`): times are UTC ISO 8601 or None; ``stale`` is how long ago it was
    last seen ("3 days") when that is more than a day, else ""; ``agent`` its agent's
    state in words ("up (last write 3 min ago)")."""

    node: str
    last_seen: str | None
    last_sync: str | None
    sensors: int
    days: int
    observations: int
    stale: str = ""
    agent: str = ""


def esc(text: Any) -> str:
    """HTML-escape a value (for labels handed to MkDocs outside the templates)."""
    from markupsafe import escape

    return str(escape(str(text)))


def last_value_text(s: SensorDay) -> str:
    """A sensor's last value with its unit (binary: events and time on that day)."""
    if s.binary:
        return f"{s.events or 0} events, {duration(s.on_s)} on"
    return f"{fmt_num(s.last)} {s.unit}".strip()


environment().filters["last_value"] = last_value_text


def _note_time(n: NoteMeta) -> tuple[str, str]:
    """Timeline order: by window start (the time the label shows), else when written."""
    return (n.start or n.created, n.id)


def _groups(
    notes: Sequence[NoteMeta], by_day: bool, day_links: dict[str, str] | None = None
) -> list[tuple[str, str | None, list[NoteMeta]]]:
    """Timeline groups: (label, day page or None, notes); newest day first when grouped."""
    if not notes:
        return []
    if not by_day:
        return [("", None, list(notes))]
    groups: dict[str, list[NoteMeta]] = defaultdict(list)
    for n in notes:
        groups[n.day].append(n)
    return [
        (d, (day_links or {}).get(d), sorted(groups[d], key=_note_time))
        for d in sorted(groups, reverse=True)
    ]


# -- home and dates -------------------------------------------------------------------------------
def home_page(
    vault_name: str,
    statuses: Sequence[NodeStatus],
    latest: Sequence[NoteMeta],
    conflicts: Sequence[str],
    cat: Catalog,
    built_from: str | None,
) -> str:
    """The home page: nodes (stale ones marked), latest observations, open conflict
    copies, recent dates."""
    frm = urls.HOME
    return render(
        "home.md.j2",
        frm=frm,
        vault_name=vault_name,
        commit=(built_from or "none")[:10],
        statuses=statuses,
        latest=_groups(latest, False),
        conflicts=conflicts,
        dates=dates_list(frm, cat, limit=RECENT_DATES_ON_HOME),
    )


def dates_list(frm: str, cat: Catalog, limit: int | None = None) -> Markup:
    """Dates with data, newest first, each with its nodes' day pages (Markdown)."""
    by_date: dict[str, list[str]] = defaultdict(list)
    for d in cat.days.values():
        by_date[d.day].append(d.node)
    obs_count: dict[tuple[str, str], int] = defaultdict(int)
    for n in cat.notes.values():
        if n.kind == "observation":
            obs_count[(n.node, n.day)] += 1
    days = sorted(by_date, reverse=True)[:limit] if limit else sorted(by_date, reverse=True)
    months: list[tuple[str, list]] = []
    for day in days:
        month = "" if limit else day[:7]
        if not months or months[-1][0] != month:
            months.append((month, []))
        nodes = [(n, obs_count.get((n, day), 0)) for n in sorted(by_date[day])]
        months[-1][1].append((day, nodes))
    return Markup(render("dates_list.md.j2", frm=frm, days=months))


def dates_page(cat: Catalog) -> str:
    """Every date with data, grouped by month."""
    return render("dates.md.j2", dates=dates_list(urls.DATES, cat))


# -- node ---------------------------------------------------------------------------------------
def latest_sensors(days: Sequence[DaySummary]) -> list[tuple[SensorDay, str]]:
    """Each sensor's most recent day summary (with its day), newest days searched first."""
    seen: dict[str, tuple[SensorDay, str]] = {}
    for d in sorted(days, key=lambda d: d.day, reverse=True):
        for s in d.sensors:
            seen.setdefault(s.sensor, (s, d.day))
    return [seen[k] for k in sorted(seen)]


@dataclass(frozen=True)
class MemoryItem:
    """A learned fact on the node page; the same text learned again is shown once."""

    title: str
    body: Markup
    created: str
    first: str
    repeats: int


def memory_items(memory: Sequence[NoteMeta], bodies: dict[str, str]) -> list[MemoryItem]:
    """Memory facts newest first, identical texts merged (with how often and since when)."""
    by_text: dict[str, list[NoteMeta]] = defaultdict(list)
    for m in memory:
        text = bodies.get(m.rel, m.excerpt).strip()
        by_text[" ".join(text.split())].append(m)
    items = []
    for _, ms in by_text.items():
        ms.sort(key=lambda m: m.created)
        newest = ms[-1]
        body = bodies.get(newest.rel, newest.excerpt).strip()
        items.append(
            MemoryItem(newest.title, markdown_source(body), newest.created, ms[0].created, len(ms))
        )
    return sorted(items, key=lambda i: i.created, reverse=True)


def node_page(
    node: str,
    cat: Catalog,
    status: NodeStatus,
    memory: Sequence[NoteMeta],
    memory_bodies: dict[str, str],
    sensor_pages: dict[str, list[tuple[str, str]]] | None = None,
    session_days: Sequence[tuple[str, int]] = (),
) -> str:
    """A node's page: status, sensors with last values, memory facts (their Markdown kept),
    agent sessions, observations timeline. ``sensor_pages``: sensor → [(label, page)] of
    its week/month pages; ``session_days``: (YYYY-MM-DD, calls) of its session logs."""
    frm = urls.node_page(node)
    days = cat.days_of(node)
    obs = cat.observations(node)
    shown = obs[-TIMELINE_ON_NODE:]
    day_links = {d.day: urls.day_page(node, d.day) for d in days}
    return render(
        "node.md.j2",
        frm=frm,
        node=node,
        status=status,
        days=days,
        span=f"{days[0].day} → {days[-1].day}" if days else "no data",
        sensors=latest_sensors(days),
        sensor_pages=sensor_pages or {},
        memory=memory_items(memory, memory_bodies),
        session_days=sorted(session_days, reverse=True),
        recent=days[-RECENT_DATES_ON_HOME:][::-1],
        hidden=len(obs) > len(shown),
        shown=len(shown),
        total=len(obs),
        groups=_groups(shown, True, day_links),
    )


def node_days_page(node: str, cat: Catalog) -> str:
    """Every day of a node, grouped by month, with observation counts."""
    obs_by_day: dict[str, int] = defaultdict(int)
    for n in cat.observations(node):
        obs_by_day[n.day] += 1
    months: list[tuple[str, list[tuple[str, int]]]] = []
    for d in reversed(cat.days_of(node)):
        if not months or months[-1][0] != d.day[:7]:
            months.append((d.day[:7], []))
        months[-1][1].append((d.day, obs_by_day.get(d.day, 0)))
    return render("node_days.md.j2", frm=urls.node_days_page(node), node=node, months=months)


# -- day ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A chart on a page: the ``<img>`` the build inlines, and its caption."""

    sensor: str
    chart_id: str
    src: str
    alt: str
    caption: str
    digest: str
    width: int = WIDTH
    height: int = HEIGHT
    day_href: str = ""


def caption_of(s: SensorDay) -> str:
    """A chart caption: the day's figures in words."""
    what = s.quantity or s.sensor
    if s.binary:
        return f"{what}: {s.events or 0} events, on for {duration(s.on_s)}"
    return (
        f"{what}: mean {fmt_num(s.mean)} {s.unit}, min {fmt_num(s.min)} at {hhmm(s.min_at)}, "
        f"max {fmt_num(s.max)} at {hhmm(s.max_at)}"
    )


def day_charts(
    node: str, day: str, rollups: Sequence[Rollup], sensors: Sequence[SensorDay]
) -> tuple[list[Figure], dict[str, str]]:
    """One chart per sensor of a day: (figures for the page, {chart file: SVG})."""
    frm = urls.day_page(node, day)
    by_sensor: dict[str, list[Rollup]] = defaultdict(list)
    for r in rollups:
        by_sensor[r.sensor].append(r)
    d = date.fromisoformat(day)
    figures, files = [], {}
    for s in sensors:
        pts = points_from_rollups(by_sensor.get(s.sensor, []), d, binary=s.binary)
        chart_rel = urls.chart_file(node, day, s.sensor)
        chart_id = f"chart-{urls.sensor_anchor(s.sensor)[7:]}"
        svg = day_chart(
            pts,
            label=s.sensor,
            unit="on" if s.binary else s.unit,
            binary=s.binary,
            chart_id=chart_id,
            standalone=True,
        )
        files[chart_rel] = svg
        figures.append(
            Figure(
                s.sensor,
                chart_id,
                href(frm, chart_rel),
                f"Chart of {s.sensor} on {day}",
                caption_of(s),
                chart_digest(svg),
            )
        )
    return figures, files


def hourly_means(rollups: Sequence[Rollup], sensors: Sequence[SensorDay]) -> dict | None:
    """Hourly count-weighted means per numeric sensor (up to 8): ``{"sensors", "rows"}``."""
    numeric = [s.sensor for s in sensors if not s.binary][:8]
    if not numeric:
        return None
    acc: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rollups:
        if r.sensor in numeric and r.mean is not None and r.count > 0:
            h = int(r.start[11:13]) if r.start[10:11] == "T" else layout.parse_iso(r.start).hour
            acc[(h, r.sensor)][0] += r.mean * r.count
            acc[(h, r.sensor)][1] += r.count
    hours = sorted({h for h, _ in acc})
    rows = []
    for h in hours:
        vals = []
        for s in numeric:
            tot, w = acc.get((h, s), (0.0, 0.0))
            vals.append(tot / w if w else None)
        rows.append((h, vals))
    return {"sensors": numeric, "rows": rows}


def day_page(
    node: str,
    day: str,
    rollups: Sequence[Rollup],
    summary: DaySummary | None,
    notes: Sequence[NoteMeta],
    prev_day: str | None,
    next_day: str | None,
    day_note: str | None = None,
) -> tuple[str, dict[str, str]]:
    """A node's day: observations in time order, the rollup tables (numeric sensors,
    then binary ones with events and time on), a chart per sensor, hourly means.

    Returns:
        (Markdown, {chart file path: SVG text}). Charts are separate SVG files referenced
        by ``<img>`` with the SVG's digest; the build inlines them into the rendered HTML
        (:func:`.mkdocs_run.inline_page_charts`) when the digest matches.
    """
    sensors = summary.sensors if summary else ()
    figures, files = day_charts(node, day, rollups, sensors) if sensors else ([], {})
    text = render(
        "day.md.j2",
        frm=urls.day_page(node, day),
        node=node,
        day=day,
        prev_day=prev_day,
        next_day=next_day,
        day_note=day_note,
        groups=_groups(sorted(notes, key=_note_time), False),
        numeric=[s for s in sensors if not s.binary],
        binary=[s for s in sensors if s.binary],
        windows=len({r.start for r in rollups}),
        first=summary.first if summary else None,
        last=summary.last if summary else None,
        bad_lines=summary.bad_lines if summary else 0,
        figures=figures,
        hourly=hourly_means(rollups, sensors) if sensors else None,
    )
    return text, files


# -- observation --------------------------------------------------------------------------------
MAX_WINDOW_CHART_S = 2 * 86400
"""Longest observation window drawn as a chart of its own (longer ones link the day pages)."""


def observation_window(obs: Observation) -> tuple[datetime, datetime] | None:
    """(start, end) of an observation's window (aware UTC) when it can be charted: both
    ends valid, end after start, at most :data:`MAX_WINDOW_CHART_S` long; else None."""
    w = obs.window or {}
    try:
        a, z = layout.parse_iso(str(w.get("start"))), layout.parse_iso(str(w.get("end")))
    except (TypeError, ValueError):
        return None
    if not 0 < (z - a).total_seconds() <= MAX_WINDOW_CHART_S:
        return None
    return a, z


def window_caption(s: SensorDay, start: datetime, end: datetime) -> str:
    """A window chart's caption: the window's figures in words (extremes with their time)."""
    what = s.quantity or s.sensor
    span = f"{start:%H:%M}–{hhmm(layout.iso(end), start.date().isoformat())} UTC"
    if s.binary:
        return f"{what}, {span}: {s.events or 0} events, on for {duration(s.on_s)}"
    return (
        f"{what}, {span}: mean {fmt_num(s.mean)} {s.unit}, min {fmt_num(s.min)} at "
        f"{hhmm(s.min_at)}, max {fmt_num(s.max)} at {hhmm(s.max_at)}"
    )


def window_charts(
    obs: Observation, by_sensor: dict[str, list[Rollup]]
) -> tuple[list[Figure], dict[str, str]]:
    """One chart per sensor of an observation over its window: (figures, {file: SVG}).

    Args:
        by_sensor: the sensor's rollup lines whose window starts inside the observation's
            window (from the query layer), keyed by the names the observation uses.
    """
    from .catalog import summarize_sensor

    span = observation_window(obs)
    if span is None:
        return [], {}
    start, end = span
    frm = urls.observation_page(obs.node, obs.id)
    figures, files = [], {}
    for name in obs.sensors:
        rollups = by_sensor.get(str(name)) or []
        if not rollups:
            continue
        stats = summarize_sensor(str(name), rollups)
        pts = points_from_rollups(rollups, start, binary=stats.binary)
        chart_rel = urls.observation_chart_file(obs.node, obs.id, str(name))
        chart_id = f"chart-{urls.sensor_anchor(str(name))[7:]}"
        svg = window_chart(
            pts,
            start,
            end,
            label=str(name),
            unit="on" if stats.binary else stats.unit,
            binary=stats.binary,
            chart_id=chart_id,
            standalone=True,
        )
        files[chart_rel] = svg
        figures.append(
            Figure(
                str(name),
                chart_id,
                href(frm, chart_rel),
                f"Chart of {name} from {window_label(layout.iso(start), layout.iso(end), True)}",
                window_caption(stats, start, end),
                chart_digest(svg),
                day_href=href(
                    frm,
                    urls.day_page(obs.node, start.date().isoformat()),
                    urls.sensor_anchor(str(name)),
                ),
            )
        )
    return figures, files


def observation_page(
    rel: str,
    obs: Observation,
    day_has_rollups: bool,
    by_sensor: dict[str, list[Rollup]] | None = None,
) -> tuple[str, dict[str, str]]:
    """One observation: its text first, a chart of each of its sensors over the window
    (not the whole day), its sources, then the metadata folded away.

    Returns:
        (Markdown, {chart file path: SVG}); the build inlines the charts as on day pages.
    """
    from .catalog import note_day

    frm = urls.observation_page(obs.node, obs.id)
    day = note_day(obs)
    day_pg = urls.day_page(obs.node, day)
    rows: list[tuple[str, str, str]] = [
        ("id", obs.id, ""),
        ("node", obs.node, ""),
        ("kind", obs.kind, ""),
        ("created", obs.created, ""),
    ]
    if obs.window:
        rows.append(("window", f"{obs.window.get('start', '')} → {obs.window.get('end', '')}", ""))
    for s in obs.sensors:
        rows.append(("sensor", str(s), href(frm, day_pg, urls.sensor_anchor(str(s)))))
    if obs.confidence is not None:
        rows.append(("confidence", fmt_num(obs.confidence), ""))
    if obs.model:
        rows.append(("model", obs.model, ""))
    for s in obs.sources:
        target = urls.page_for_vault_path(str(s))
        rows.append(("source", str(s), href(frm, *target) if target else ""))
    if obs.hlc:
        rows.append(("hlc", obs.hlc, ""))
    for k, val in obs.extra.items():
        text = val if isinstance(val, str) else json.dumps(val, ensure_ascii=False, default=str)
        rows.append((str(k), text, ""))
    rows.append(("file", rel, ""))
    links: list[tuple[str, str, str]] = []
    if day_has_rollups:
        links.append((f"Rollups of {obs.node} · {day}", day_pg, ""))
        links += [(f"Day chart of {s}", day_pg, urls.sensor_anchor(str(s))) for s in obs.sensors]
    else:
        links.append((f"Day page {obs.node} · {day}", day_pg, ""))
    figures, files = window_charts(obs, by_sensor or {})
    text = render(
        "observation.md.j2",
        frm=frm,
        title=obs.title or obs.id,
        created=obs.created,
        node=obs.node,
        window=obs.window or None,
        day=day,
        confidence=obs.confidence,
        body=markdown_source(obs.body.strip()),
        figures=figures,
        links=links,
        rows=rows,
    )
    return text, files


# -- agent sessions -----------------------------------------------------------------------------
def sessions_index_page(node: str, days: Sequence[tuple[str, int]]) -> str:
    """A node's agent session days, newest first: (YYYY-MM-DD, calls)."""
    return render(
        "sessions.md.j2",
        frm=urls.sessions_page(node),
        node=node,
        days=sorted(days, reverse=True),
    )


def session_day_page(day: SessionDay) -> str:
    """One node's MCP tool calls of one UTC day: time, client, tool, arguments (compact
    JSON, escaped by the template engine), result size, duration, allowed or denied."""
    return render(
        "session_day.md.j2",
        frm=urls.session_day_page(day.node, day.day),
        node=day.node,
        day=day.day,
        s=day,
    )


# -- knowledge base, interactions, conflicts -----------------------------------------------------
def kb_index_page(notes: Sequence[str], broken: Iterable[Any]) -> str:
    """The knowledge base's table of contents and its broken wikilinks."""
    folders: list[tuple[str, list[tuple[str, str]]]] = []
    for n in (n for n in notes if n.lower().endswith(".md")):
        d = n.rsplit("/", 1)[0] if "/" in n else ""
        if not folders or folders[-1][0] != d:
            folders.append((d, []))
        folders[-1][1].append((n, n.rsplit("/", 1)[-1][:-3]))
    prefix = layout.KNOWLEDGE + "/"
    rows = [(b.page.removeprefix(prefix), b.line, b.target) for b in broken]
    return render("kb_index.md.j2", frm=urls.KB_INDEX, folders=folders, broken=rows)


def kb_page(note: KbNote, backlinks: Sequence[str]) -> str:
    """A knowledge-base note: our own front matter (escaped title), its tags under the
    first heading, the body as written (wikilinks rewritten; raw HTML is sanitised after
    rendering), and the notes linking to it."""
    body = note.body.strip() + "\n"
    m = re.search(r"^#[ \t]+.*$", body, flags=re.M)
    head, rest = (body[: m.end()], body[m.end() :]) if m else ("", body)
    return render(
        "kb.md.j2",
        frm=urls.kb_page(note.note),
        title=note.title,
        head=Markup(head),
        body=Markup(rest.strip("\n") + "\n"),
        tags=note.tags,
        backlinks=backlinks,
    )


def link_vault_paths(frm: str, text: str, obs_ids: dict[str, str]) -> str:
    """Turn vault paths mentioned in Markdown text into links to their site pages."""

    def sub(m: re.Match) -> str:
        path = m.group(1).rstrip(".,;:")
        tail = m.group(1)[len(path) :]
        target = urls.page_for_vault_path(path, obs_ids)
        if not target:
            return m.group(0)
        return f"[{path}]({urls.link(frm, target[0], target[1])}){tail}"

    out, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if fence or line.startswith("    "):
            out.append(line)
            continue
        # a path inside backticks loses the backticks so it becomes a link
        line = re.sub(r"`((?:agents|knowledge-base|interactions)/[^`\s]+)`", r"\1", line)
        pieces, pos = [], 0
        for lm in MD_LINK_RE.finditer(line):  # leave existing links alone
            pieces.append(VAULT_PATH_RE.sub(sub, line[pos : lm.start()]))
            pieces.append(lm.group(0))
            pos = lm.end()
        pieces.append(VAULT_PATH_RE.sub(sub, line[pos:]))
        out.append("".join(pieces))
    return "\n".join(out)


def cited_sources(meta: dict[str, Any]) -> list[str]:
    """Vault paths cited by an interaction's frontmatter (``sources``/``citations``: strings
    or mappings with ``path``)."""
    out = []
    for key in ("sources", "citations", "cited"):
        val = meta.get(key) or []
        if isinstance(val, str | dict):
            val = [val]
        for item in val:
            if isinstance(item, dict):
                item = item.get("path") or item.get("source") or item.get("id") or ""
            if item:
                out.append(str(item))
    return list(dict.fromkeys(out))


def _vault_wikilinks(frm: str, text: str, obs_ids: dict[str, str]) -> str:
    """Resolve ``[[vault/path]]`` and ``[[vault/path|alias]]`` (as ``vault ask`` writes its
    sources) to site links; other wikilinks are left as they are."""
    from .wikilinks import WIKILINK_RE

    def sub(m: re.Match) -> str:
        target = m.group(2).strip()
        page = urls.page_for_vault_path(target, obs_ids)
        if page is None:
            return m.group(0)
        label = m.group(4) or target + (m.group(3) or "")
        return f"[{label}]({urls.link(frm, page[0], page[1])})"

    return WIKILINK_RE.sub(sub, text)


def _numbered_citations(frm: str, text: str, cited: Sequence[str], obs_ids: dict[str, str]) -> str:
    """Link ``[n]`` citation markers in an answer to the n-th cited source's page."""

    def sub(m: re.Match) -> str:
        i = int(m.group(1))
        if not 1 <= i <= len(cited):
            return m.group(0)
        page = urls.page_for_vault_path(cited[i - 1], obs_ids)
        return f"[\\[{i}\\]]({urls.link(frm, *page)})" if page else m.group(0)

    return re.sub(r"(?<![\\\[])\[(\d{1,3})\](?![(\[:])", sub, text)


def interaction_page(
    rel: str, meta: dict[str, Any], body: str, note: NoteMeta, obs_ids: dict[str, str]
) -> str:
    """A logged ``vault ask``: the question, the answer as written (its raw HTML shown as
    text), cited sources linked (``[[path]]`` source lines, ``[n]`` markers and bare vault
    paths become links). In the site search with a low boost, and hidden from its results
    unless "Include logged Q&A" is ticked (``site/overrides/assets/javascripts/search-qa.js``)."""
    frm = urls.interaction_page(rel)
    cited = cited_sources(meta)
    # escape first: the links added next carry destinations that must stay as written
    text = str(markdown_source(body.strip()))
    text = _vault_wikilinks(frm, text, obs_ids)
    text = _numbered_citations(frm, text, cited, obs_ids)
    text = link_vault_paths(frm, text, obs_ids)
    lines = text.splitlines()
    sub = (
        f'<p class="va-sub">Asked on {esc(note.node or "?")} at {esc(when(note.created))}'
        f"{' · model ' + esc(meta['model']) if meta.get('model') else ''}.</p>\n"
    )
    if lines and lines[0].startswith("# "):
        lines.insert(1, "\n" + sub)
    else:
        lines.insert(0, sub)
    has_sources = re.search(r"^##\s+(Sources|Cited sources)\b", body, flags=re.M | re.I)
    return render(
        "interaction.md.j2",
        frm=frm,
        title=note.title,
        has_h1=bool(lines and lines[0].startswith("# ")),
        text=Markup("\n".join(lines)),
        cited=[] if has_sources else [(c, urls.page_for_vault_path(c, obs_ids)) for c in cited],
    )


def interactions_index_page(notes: Sequence[NoteMeta]) -> str:
    """Every logged Q&A, newest first."""
    return render(
        "interactions.md.j2",
        frm=urls.INTERACTIONS_INDEX,
        notes=sorted(notes, key=lambda n: n.created, reverse=True),
    )


def conflicts_page(copies: Sequence[tuple[str, str | None]]) -> str:
    """Open conflict copies: the copy, the file it conflicts with, who and when, its text.

    Args:
        copies: (conflict copy vault path, its text or None if binary/unreadable).
    """
    rows = []
    for rel, text in copies:
        m = layout.CONFLICT_RE.search(rel)
        original = layout.CONFLICT_RE.sub(lambda mm: mm.group(3) or "", rel) if m else rel
        at = (
            f"{m.group(1)[:4]}-{m.group(1)[4:6]}-{m.group(1)[6:8]} {m.group(1)[9:11]}:"
            f"{m.group(1)[11:13]}"
            if m
            else "–"
        )
        target = urls.page_for_vault_path(original)
        link = href(urls.CONFLICTS, *target) if target and target[0] != urls.CONFLICTS else ""
        shown = None
        if text is not None:
            lines = text.splitlines()
            shown = "\n".join(lines[:200]) + ("\n…" if len(lines) > 200 else "")
        rows.append(
            {
                "rel": rel,
                "original": original,
                "target": link,
                "node": m.group(2) if m else "–",
                "at": at,
                "text": shown,
            }
        )
    return render("conflicts.md.j2", copies=rows)
