"""Markdown for each generated page: pure functions from catalog data to text.

Every function returns the page's full Markdown (YAML meta, then body). Links between
pages are relative ``.md`` paths that MkDocs checks and turns into ``.html``. Values from
the vault are escaped where they enter HTML or table cells.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from ..vault import layout
from ..vault.records import Observation, Rollup
from . import urls
from .catalog import Catalog, DaySummary, NoteMeta, SensorDay
from .charts import HEIGHT, WIDTH, chart_digest, day_chart, fmt_num, points_from_rollups
from .kb import KbNote

LATEST_ON_HOME = 12
RECENT_DATES_ON_HOME = 14
TIMELINE_ON_NODE = 100
MD_LINK_RE = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]+>")
VAULT_PATH_RE = re.compile(
    r"(?<![\w/.-])((?:agents|knowledge-base|interactions|shared-memory)/[^\s`'\"<>()\[\]]+)"
)


@dataclass(frozen=True)
class NodeStatus:
    """What the home page says about a node: times are UTC ISO 8601 or None."""

    node: str
    last_seen: str | None
    last_sync: str | None
    sensors: int
    days: int
    observations: int


# -- small helpers ------------------------------------------------------------------------------
def esc(text: Any) -> str:
    """HTML-escape a value for text or attributes."""
    return html.escape(str(text), quote=True)


def cell(text: Any) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return esc(" ".join(str(text).split())).replace("|", "&#124;")


def meta_block(**meta: Any) -> str:
    """YAML front matter for MkDocs (title, search boost, hide…). The title is HTML-escaped:
    the theme prints it unescaped in ``<title>``, the header and the search index."""
    if "title" in meta:
        meta["title"] = esc(meta["title"])
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000) + "---\n"


def hhmm(ts: str | None, day: str | None = None) -> str:
    """``HH:MM`` of a UTC ISO 8601 time (the site shows UTC throughout); the midnight that
    ends ``day`` is shown as ``24:00``."""
    if not ts:
        return "–"
    try:
        t = layout.parse_iso(ts)
    except ValueError:
        return str(ts)
    if day and t.strftime("%H:%M:%S") == "00:00:00" and t.date().isoformat() > day:
        return "24:00"
    return t.strftime("%H:%M")


def when(ts: str | None) -> str:
    """``YYYY-MM-DD HH:MM`` (UTC) of an ISO time, or an en dash."""
    if not ts:
        return "–"
    try:
        return layout.parse_iso(ts).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(ts)


def conf_badge(c: float | None) -> str:
    """A small confidence badge (percent)."""
    if c is None:
        return ""
    level = "high" if c >= 0.7 else "mid" if c >= 0.4 else "low"
    return f'<span class="va-conf va-conf-{level}" title="confidence">{c * 100:.0f}%</span>'


def _a(frm: str, to: str, text: str, anchor: str = "") -> str:
    return f"[{text}]({urls.link(frm, to, anchor)})"


def _html_href(frm: str, to: str, anchor: str = "") -> str:
    """An href for raw HTML blocks (MkDocs does not rewrite those): ``.html`` and relative."""
    import posixpath
    from urllib.parse import quote

    target = to[:-3] + ".html" if to.endswith(".md") else to
    rel = posixpath.relpath(target, posixpath.dirname(frm) or ".")
    return quote(rel) + (f"#{anchor}" if anchor else "")


def timeline(
    frm: str,
    notes: Sequence[NoteMeta],
    group_by_day: bool = True,
    day_links: dict[str, str] | None = None,
    show_date: bool = False,
) -> str:
    """An observations timeline (newest group first when grouped): time, title, confidence.
    ``show_date`` prints the date with the time (for lists spanning days)."""
    if not notes:
        return '<p class="va-empty">No observations yet.</p>\n'
    groups: dict[str, list[NoteMeta]] = defaultdict(list)
    for n in notes:
        groups[n.day if group_by_day else ""].append(n)
    out = ['<div class="va-timeline">']
    order = sorted(groups, reverse=True) if group_by_day else list(groups)
    for g in order:
        if g:
            label = esc(g)
            if day_links and g in day_links:
                label = f'<a href="{_html_href(frm, day_links[g])}">{esc(g)}</a>'
            out.append(f'<div class="va-tl-day">{label}</div>')
        items = groups[g] if not group_by_day else sorted(groups[g], key=lambda n: n.created)
        for n in items:
            page = urls.observation_page(n.node, n.id)
            out.append(
                f'<div class="va-tl-item"><span class="va-tl-time">'
                f"{esc(when(n.created) if show_date else hhmm(n.created))}</span>"
                f'<div class="va-tl-body"><a href="{_html_href(frm, page)}">{esc(n.title)}</a> '
                f'{conf_badge(n.confidence)}<span class="va-node-tag">{esc(n.node)}</span>'
                f'<div class="va-tl-text">{esc(n.excerpt)}</div></div></div>'
            )
    out.append("</div>")
    return "\n".join(out) + "\n"


# -- home ---------------------------------------------------------------------------------------
def home_page(
    vault_name: str,
    statuses: Sequence[NodeStatus],
    latest: Sequence[NoteMeta],
    conflicts: Sequence[str],
    cat: Catalog,
    built_from: str | None,
) -> str:
    """The home page: nodes, latest observations, open conflict copies, recent dates."""
    frm = urls.HOME
    out = [meta_block(title=vault_name, hide=["toc"]), f"# {esc(vault_name)}\n"]
    out.append(
        f'<p class="va-sub">Generated from the vault files at commit '
        f"<code>{esc((built_from or 'none')[:10])}</code>. Times are UTC.</p>\n"
    )
    out.append("## Nodes\n")
    if not statuses:
        out.append('<p class="va-empty">No nodes yet.</p>\n')
    out.append('<div class="va-cards">')
    for s in statuses:
        href = _html_href(frm, urls.node_page(s.node))
        out.append(
            f'<a class="va-card" href="{href}"><div class="va-card-title">{esc(s.node)}</div>'
            f"<dl><dt>Last seen</dt><dd>{esc(when(s.last_seen))}</dd>"
            f"<dt>Last sync</dt><dd>{esc(when(s.last_sync)) if s.last_sync else 'never'}</dd>"
            f"<dt>Sensors</dt><dd>{s.sensors}</dd><dt>Days</dt><dd>{s.days}</dd>"
            f"<dt>Observations</dt><dd>{s.observations}</dd></dl></a>"
        )
    out.append("</div>\n")
    out.append("## Latest observations\n")
    out.append(timeline(frm, latest, group_by_day=False, show_date=True))
    out.append("## Open conflict copies\n")
    if conflicts:
        out.append(f"{len(conflicts)} open; see {_a(frm, urls.CONFLICTS, 'Conflicts')}.\n")
        for c in conflicts[:20]:
            out.append(f"- `{c}`")
        out.append("")
    else:
        out.append("None: every node agrees.\n")
    out.append("## By date\n")
    out.append(dates_list(frm, cat, limit=RECENT_DATES_ON_HOME))
    out.append(f"\n{_a(frm, urls.DATES, 'All dates →')}\n")
    return "\n".join(out)


def dates_list(frm: str, cat: Catalog, limit: int | None = None) -> str:
    """Dates with data, newest first, each with its nodes' day pages."""
    by_date: dict[str, list[str]] = defaultdict(list)
    for d in cat.days.values():
        by_date[d.day].append(d.node)
    obs_count: dict[tuple[str, str], int] = defaultdict(int)
    for n in cat.notes.values():
        if n.kind == "observation":
            obs_count[(n.node, n.day)] += 1
    days = sorted(by_date, reverse=True)
    if not days:
        return '<p class="va-empty">No data yet.</p>\n'
    lines = []
    month = None
    for day in days[:limit] if limit else days:
        if limit is None and day[:7] != month:
            month = day[:7]
            lines.append(f"\n### {month}\n")
        links = []
        for node in sorted(by_date[day]):
            c = obs_count.get((node, day), 0)
            label = f"{node}" + (f" ({c} obs.)" if c else "")
            links.append(_a(frm, urls.day_page(node, day), label))
        lines.append(f"- **{day}**: " + " · ".join(links))
    return "\n".join(lines) + "\n"


def dates_page(cat: Catalog) -> str:
    """Every date with data, grouped by month."""
    return meta_block(title="By date") + "# By date\n\n" + dates_list(urls.DATES, cat)


# -- node ---------------------------------------------------------------------------------------
def latest_sensors(days: Sequence[DaySummary]) -> list[tuple[SensorDay, str]]:
    """Each sensor's most recent day summary (with its day), newest days searched first."""
    seen: dict[str, tuple[SensorDay, str]] = {}
    for d in sorted(days, key=lambda d: d.day, reverse=True):
        for s in d.sensors:
            seen.setdefault(s.sensor, (s, d.day))
    return [seen[k] for k in sorted(seen)]


def last_value_text(s: SensorDay) -> str:
    """A sensor's last value with its unit (binary: events and time on)."""
    if s.binary:
        return f"{s.events or 0} events, {fmt_num((s.on_s or 0) / 60)} min on"
    return f"{fmt_num(s.last)} {s.unit}".strip()


def node_page(
    node: str,
    cat: Catalog,
    status: NodeStatus,
    memory: Sequence[NoteMeta],
    memory_bodies: dict[str, str],
) -> str:
    """A node's page: status, sensors with last values, memory facts, observations timeline."""
    frm = urls.node_page(node)
    days = cat.days_of(node)
    out = [meta_block(title=f"Node {node}"), f"# Node {node}\n"]
    span = f"{days[0].day} → {days[-1].day}" if days else "no data"
    out.append(
        f'<p class="va-sub">Last seen {esc(when(status.last_seen))} · last sync '
        f"{esc(when(status.last_sync)) if status.last_sync else 'never'} · "
        f"{len(days)} day(s) of data ({esc(span)}) · "
        f"{status.observations} observation(s)</p>\n"
    )
    out.append("## Sensors\n")
    sensors = latest_sensors(days)
    if sensors:
        out.append("| Sensor | Quantity | Unit | Last value | At (UTC) | Chart |")
        out.append("|---|---|---|--:|---|---|")
        for s, day in sensors:
            out.append(
                f"| {cell(s.sensor)} | {cell(s.quantity or '–')} | {cell(s.unit or '–')} | "
                f"{cell(last_value_text(s))} | {cell(when(s.last_at))} | "
                f"{_a(frm, urls.day_page(node, day), day, urls.sensor_anchor(s.sensor))} |"
            )
        out.append("")
    else:
        out.append('<p class="va-empty">No sensor data yet.</p>\n')
    out.append("## Memory { #memory }\n")
    if memory:
        for m in sorted(memory, key=lambda m: m.created, reverse=True):
            body = " ".join(memory_bodies.get(m.rel, m.excerpt).split())
            out.append(f'- {esc(body)} <span class="va-when">{esc(when(m.created))}</span>')
        out.append("")
    else:
        out.append('<p class="va-empty">No learned facts yet.</p>\n')
    out.append("## Days\n")
    recent = days[-RECENT_DATES_ON_HOME:][::-1]
    if recent:
        out.append(" · ".join(_a(frm, urls.day_page(node, d.day), d.day) for d in recent))
        out.append(f"\n\n{_a(frm, urls.node_days_page(node), f'All {len(days)} days →')}\n")
    else:
        out.append('<p class="va-empty">No days yet.</p>\n')
    obs = cat.observations(node)
    out.append("## Observations timeline\n")
    shown = obs[-TIMELINE_ON_NODE:]
    if len(obs) > len(shown):
        out.append(
            f'<p class="va-sub">The latest {len(shown)} of {len(obs)}; older ones are on '
            f"their day pages.</p>\n"
        )
    day_links = {d.day: urls.day_page(node, d.day) for d in days}
    out.append(timeline(frm, shown, day_links=day_links))
    return "\n".join(out)


def node_days_page(node: str, cat: Catalog) -> str:
    """Every day of a node, grouped by month, with observation counts."""
    frm = urls.node_days_page(node)
    days = cat.days_of(node)
    obs_by_day: dict[str, int] = defaultdict(int)
    for n in cat.observations(node):
        obs_by_day[n.day] += 1
    out = [
        meta_block(title=f"{node}: all days"),
        f"# {node}: all days\n",
        f"{_a(frm, urls.node_page(node), f'← Node {node}')}\n",
    ]
    month = None
    for d in reversed(days):
        if d.day[:7] != month:
            if month is not None:
                out.append("</div>\n")
            month = d.day[:7]
            out.append(f'## {month}\n\n<div class="va-days">')
        c = obs_by_day.get(d.day, 0)
        badge = f'<span class="va-count">{c}</span>' if c else ""
        href = _html_href(frm, urls.day_page(node, d.day))
        out.append(f'<a href="{href}">{d.day[8:]}{badge}</a>')
    if month is not None:
        out.append("</div>\n")
    if not days:
        out.append('<p class="va-empty">No days yet.</p>\n')
    return "\n".join(out)


# -- day ----------------------------------------------------------------------------------------
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
    """A node's day: observations in time order, the rollup table, a chart per sensor,
    and hourly means (collapsed).

    Returns:
        (Markdown, {chart file path: SVG text}). Charts are separate SVG files referenced
        by ``<img>`` (with the SVG's digest, so a changed chart changes the Markdown); the
        build inlines them into the rendered HTML (:func:`.charts.inline_charts`), so
        Markdown and the search indexer never parse their markup. Each figure links to its
        standalone SVG file.
    """
    frm = urls.day_page(node, day)
    title = f"{node} · {day}"
    out = [meta_block(title=title, hide=["navigation"]), f"# {esc(title)}\n"]
    nav = [_a(frm, urls.node_page(node), f"Node {node}")]
    if prev_day:
        nav.insert(0, _a(frm, urls.day_page(node, prev_day), f"← {prev_day}"))
    if next_day:
        nav.append(_a(frm, urls.day_page(node, next_day), f"{next_day} →"))
    out.append('<p class="va-daynav" markdown>' + " · ".join(nav) + "</p>\n")
    if day_note:
        out.append(f'<p class="va-sub">Day note in the vault: <code>{esc(day_note)}</code></p>\n')
    out.append("## Observations\n")
    out.append(timeline(frm, sorted(notes, key=lambda n: n.created), group_by_day=False))
    sensors = summary.sensors if summary else ()
    out.append("## Rollups\n")
    if sensors:
        windows = len({r.start for r in rollups})
        bad = f", {summary.bad_lines} bad line(s) skipped" if summary.bad_lines else ""
        out.append(
            f'<p class="va-sub">{len(sensors)} sensor(s), {windows} window(s) from '
            f"{esc(hhmm(summary.first))} to {esc(hhmm(summary.last, day))} UTC"
            f"{bad}.</p>\n"
        )
        out.append(rollup_table(sensors))
    else:
        out.append('<p class="va-empty">No rollups this day.</p>\n')
    charts: dict[str, str] = {}
    if sensors:
        out.append("## Charts\n")
        by_sensor: dict[str, list[Rollup]] = defaultdict(list)
        for r in rollups:
            by_sensor[r.sensor].append(r)
        d = date.fromisoformat(day)
        for s in sensors:
            pts = points_from_rollups(by_sensor.get(s.sensor, []), d, binary=s.binary)
            unit = "on" if s.binary else s.unit
            chart_rel = urls.chart_file(node, day, s.sensor)
            chart_id = f"chart-{urls.sensor_anchor(s.sensor)[7:]}"
            svg = day_chart(
                pts, label=s.sensor, unit=unit, binary=s.binary, chart_id=chart_id, standalone=True
            )
            charts[chart_rel] = svg
            src = _html_href(frm, chart_rel)
            alt = f"Chart of {s.sensor} on {day}"
            caption = (
                f"{s.events or 0} events, {fmt_num((s.on_s or 0) / 60)} min on"
                if s.binary
                else f"mean {fmt_num(s.mean)} {s.unit}, min {fmt_num(s.min)} at "
                f"{hhmm(s.min_at)}, max {fmt_num(s.max)} at {hhmm(s.max_at)}"
            )
            out.append(f"### {cell(s.sensor)} {{ #{urls.sensor_anchor(s.sensor)} }}\n")
            out.append(
                f'<figure class="va-figure" data-search-exclude="true">'
                f'<img class="va-chart" id="{chart_id}" src="{src}" alt="{esc(alt)}" '
                f'width="{WIDTH}" height="{HEIGHT}" data-digest="{chart_digest(svg)}">'
                f"<figcaption>{esc(s.quantity or s.sensor)}: {esc(caption)} · "
                f'<a class="va-svg-link" href="{src}">SVG</a></figcaption>'
                "</figure>\n"
            )
        out.append(hourly_table(rollups, sensors))
    return "\n".join(out), charts


def rollup_table(sensors: Sequence[SensorDay]) -> str:
    """The day's rollup table (raw HTML: one line, cheap for Markdown to pass through)."""
    rows = [
        '<div class="va-rollups"><table><thead><tr><th>Sensor</th><th>Quantity</th>'
        '<th class="num">Windows</th><th class="num">Mean</th><th class="num">Min</th>'
        '<th class="num">Max</th><th class="num">Last</th><th>Unit</th></tr></thead><tbody>'
    ]
    for s in sensors:
        name = f'<a href="#{esc(urls.sensor_anchor(s.sensor))}">{esc(s.sensor)}</a>'
        head = f"<tr><td>{name}</td><td>{esc(s.quantity or '–')}</td>"
        if s.binary:
            rows.append(
                f'{head}<td class="num">{s.windows}</td>'
                f'<td class="num">{s.events or 0} events</td><td class="num">–</td>'
                f'<td class="num">–</td>'
                f'<td class="num">{fmt_num((s.on_s or 0) / 60)} min on</td>'
                f"<td>{esc(s.unit or '–')}</td></tr>"
            )
            continue
        rows.append(
            f'{head}<td class="num">{s.windows}</td><td class="num">{fmt_num(s.mean)}</td>'
            f'<td class="num">{fmt_num(s.min)} <small>{hhmm(s.min_at)}</small></td>'
            f'<td class="num">{fmt_num(s.max)} <small>{hhmm(s.max_at)}</small></td>'
            f'<td class="num">{fmt_num(s.last)}</td><td>{esc(s.unit or "–")}</td></tr>'
        )
    rows.append("</tbody></table></div>\n")
    return "".join(rows)


def hourly_table(rollups: Sequence[Rollup], sensors: Sequence[SensorDay]) -> str:
    """Hourly count-weighted means per numeric sensor, in a collapsed block."""
    numeric = [s.sensor for s in sensors if not s.binary][:8]
    if not numeric:
        return ""
    acc: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rollups:
        if r.sensor in numeric and r.mean is not None:
            h = int(r.start[11:13]) if r.start[10:11] == "T" else layout.parse_iso(r.start).hour
            w = max(r.count, 1)
            acc[(h, r.sensor)][0] += r.mean * w
            acc[(h, r.sensor)][1] += w
    hours = sorted({h for h, _ in acc})
    # raw HTML, not a Markdown table: Python-Markdown's inline pass over hundreds of
    # numeric cells was a third of a day page's render time
    head = "".join(f'<th class="num">{esc(s)}</th>' for s in numeric)
    rows = [
        '<details class="va-hourly" data-search-exclude="true"><summary>Hourly means</summary>',
        f"<table><thead><tr><th>Hour (UTC)</th>{head}</tr></thead><tbody>",
    ]
    for h in hours:
        vals = []
        for s in numeric:
            tot, w = acc.get((h, s), (0.0, 0.0))
            vals.append(f'<td class="num">{fmt_num(tot / w) if w else "–"}</td>')
        rows.append(f"<tr><td>{h:02d}:00</td>{''.join(vals)}</tr>")
    rows.append("</tbody></table></details>\n")
    return "".join(rows)


# -- observation --------------------------------------------------------------------------------
def observation_page(rel: str, obs: Observation, day_has_rollups: bool) -> str:
    """One observation: title, metadata box from the frontmatter, the text, its sources."""
    frm = urls.observation_page(obs.node, obs.id)
    from .catalog import note_day

    day = note_day(obs)
    title = obs.title or obs.id
    out = [meta_block(title=title, hide=["navigation"]), f"# {esc(title)}\n"]
    rows: list[tuple[str, str]] = [
        ("id", esc(obs.id)),
        ("node", esc(obs.node)),
        ("kind", esc(obs.kind)),
        ("created", esc(obs.created)),
    ]
    if obs.window:
        w = obs.window
        rows.append(("window", f"{esc(w.get('start', ''))} → {esc(w.get('end', ''))}"))
    if obs.sensors:
        rows.append(
            (
                "sensors",
                ", ".join(
                    '<a href="'
                    + _html_href(frm, urls.day_page(obs.node, day), urls.sensor_anchor(s))
                    + '">'
                    f"{esc(s)}</a>"
                    for s in obs.sensors
                ),
            )
        )
    if obs.confidence is not None:
        rows.append(("confidence", f"{fmt_num(obs.confidence)} {conf_badge(obs.confidence)}"))
    if obs.model:
        rows.append(("model", esc(obs.model)))
    for s in obs.sources:
        target = urls.page_for_vault_path(str(s))
        label = esc(s)
        rows.append(
            ("source", f'<a href="{_html_href(frm, *target)}">{label}</a>' if target else label)
        )
    if obs.hlc:
        rows.append(("hlc", esc(obs.hlc)))
    for k, val in obs.extra.items():
        text = val if isinstance(val, str) else json.dumps(val, ensure_ascii=False, default=str)
        rows.append((esc(k), esc(text)))
    rows.append(("file", f"<code>{esc(rel)}</code>"))
    out.append(
        '<div class="va-meta"><table>'
        + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        + "</table></div>\n"
    )
    out.append(obs.body.strip() + "\n")
    out.append("## Sources\n")
    links = []
    if day_has_rollups:
        links.append(f"- Rollups of {_a(frm, urls.day_page(obs.node, day), f'{obs.node} · {day}')}")
        for s in obs.sensors:
            chart = _a(frm, urls.day_page(obs.node, day), str(s), urls.sensor_anchor(s))
            links.append(f"- Chart of {chart}")
    else:
        links.append(f"- Day page {_a(frm, urls.day_page(obs.node, day), f'{obs.node} · {day}')}")
    out.append("\n".join(links) + "\n")
    return "\n".join(out)


# -- knowledge base, interactions, conflicts -----------------------------------------------------
def kb_page(note: KbNote, backlinks: Sequence[str]) -> str:
    """A knowledge-base note: our own front matter (escaped title), its tags, the body
    as written (wikilinks already rewritten; raw HTML is sanitised after rendering), and
    the notes linking to it."""
    frm = urls.kb_page(note.note)
    out = [meta_block(title=note.title)]
    tags = note.tags
    body = note.body.strip() + "\n"
    if tags:
        chips = "".join(f'<span class="va-tag">{esc(t)}</span>' for t in tags)
        line = f'<p class="va-tags" data-search-exclude="true">{chips}</p>\n'
        m = re.search(r"^#[ \t]+.*$", body, flags=re.M)
        body = body[: m.end()] + "\n\n" + line + body[m.end() :] if m else line + "\n" + body
    out.append(body)
    if backlinks:
        out.append('\n<div class="va-backlinks" data-search-exclude="true" markdown>\n')
        out.append("**Linked from**\n")
        for b in backlinks:
            out.append(f"- {_a(frm, urls.kb_page(b), cell(b[:-3]))}")
        out.append("\n</div>\n")
    return "\n".join(out)


def kb_index_page(notes: Sequence[str], broken: Iterable[Any]) -> str:
    """The knowledge base's table of contents and its broken wikilinks."""
    frm = urls.KB_INDEX
    out = [meta_block(title="Knowledge base"), "# Knowledge base\n"]
    md = [n for n in notes if n.lower().endswith(".md")]
    if not md:
        out.append(
            '<p class="va-empty">No notes yet. Add Markdown files under '
            "<code>knowledge-base/</code>.</p>\n"
        )
    folder = None
    for n in md:
        d = n.rsplit("/", 1)[0] if "/" in n else ""
        if d != folder:
            folder = d
            if d:
                out.append(f"\n### {esc(d)}\n")
        stem = n.rsplit("/", 1)[-1][:-3]
        out.append(f"- {_a(frm, urls.kb_page(n), esc(stem))}")
    broken = list(broken)
    out.append("\n## Broken links\n")
    if broken:
        out.append("| Page | Line | Link |\n|---|--:|---|")
        for b in broken:
            page = b.page.split("/", 1)[1] if b.page.startswith("knowledge-base/") else b.page
            out.append(
                f"| {_a(frm, urls.kb_page(page), cell(page))} | {b.line} | "
                f"<code>[[{cell(b.target)}]]</code> |"
            )
        out.append("")
    else:
        out.append("None.\n")
    return "\n".join(out)


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
    """A logged ``vault ask``: the question, the answer as written, cited sources linked
    (``[[path]]`` source lines, ``[n]`` markers and bare vault paths become links)."""
    frm = urls.interaction_page(rel)
    cited = cited_sources(meta)
    out = [meta_block(title=note.title)]
    if not re.search(r"^#\s", body, flags=re.M):
        out.append(f"# {esc(note.title)}\n")
    text = _vault_wikilinks(frm, body.strip(), obs_ids)
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
        out.append(sub)
    out.append("\n".join(lines) + "\n")
    if cited and not re.search(r"^##\s+(Sources|Cited sources)\b", body, flags=re.M | re.I):
        out.append("## Cited sources\n")
        for i, c in enumerate(cited, 1):
            target = urls.page_for_vault_path(c, obs_ids)
            out.append(
                f"{i}. "
                + (
                    f"[{esc(c)}]({urls.link(frm, *target)})"
                    if target
                    else f"<code>{esc(c)}</code> (no page)"
                )
            )
        out.append("")
    return "\n".join(out)


def interactions_index_page(notes: Sequence[NoteMeta]) -> str:
    """Every logged Q&A, newest first."""
    frm = urls.INTERACTIONS_INDEX
    out = [
        meta_block(title="Interactions"),
        "# Interactions\n",
        '<p class="va-sub">Questions asked with <code>vault ask</code>, newest first.</p>\n',
    ]
    if not notes:
        out.append('<p class="va-empty">No questions asked yet.</p>\n')
    else:
        out.append("| When (UTC) | Node | Question |\n|---|---|---|")
        for n in sorted(notes, key=lambda n: n.created, reverse=True):
            out.append(
                f"| {cell(when(n.created))} | {cell(n.node or '–')} | "
                f"{_a(frm, urls.interaction_page(n.rel), cell(n.title))} |"
            )
        out.append("")
    return "\n".join(out)


def conflicts_page(copies: Sequence[tuple[str, str | None]]) -> str:
    """Open conflict copies: the copy, the file it conflicts with, who and when, its text.

    Args:
        copies: (conflict copy vault path, its text or None if binary/unreadable).
    """
    out = [
        meta_block(title="Conflicts"),
        "# Conflicts\n",
        '<p class="va-sub">When two nodes changed the same text, sync keeps ours in place and '
        "writes theirs beside it as <code>name.sync-conflict-YYYYMMDD-HHMMSS-node.ext</code>. "
        "Merge by hand, delete the copy and commit.</p>\n",
    ]
    if not copies:
        out.append("No open conflict copies.\n")
        return "\n".join(out)
    out.append("| Conflict copy | Original | From node | At (UTC) |\n|---|---|---|---|")
    for rel, _ in copies:
        m = layout.CONFLICT_RE.search(rel)
        original = layout.CONFLICT_RE.sub(lambda mm: mm.group(3) or "", rel) if m else rel
        at = (
            f"{m.group(1)[:4]}-{m.group(1)[4:6]}-{m.group(1)[6:8]} {m.group(1)[9:11]}:"
            f"{m.group(1)[11:13]}"
            if m
            else "–"
        )
        target = urls.page_for_vault_path(original)
        orig = (
            _a(urls.CONFLICTS, target[0], cell(original), target[1])
            if target and target[0] != urls.CONFLICTS
            else f"<code>{cell(original)}</code>"
        )
        who = cell(m.group(2) if m else "–")
        out.append(f"| <code>{cell(rel)}</code> | {orig} | {who} | {at} |")
    out.append("")
    for rel, text in copies:
        out.append(f'<details class="va-conflict"><summary>{esc(rel)}</summary>')
        if text is None:
            out.append("<p>(binary or unreadable)</p>")
        else:
            lines = text.splitlines()
            shown = "\n".join(lines[:200]) + ("\n…" if len(lines) > 200 else "")
            out.append(f"<pre><code>{esc(shown)}</code></pre>")
        out.append("</details>\n")
    return "\n".join(out)
