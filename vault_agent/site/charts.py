"""SVG charts drawn in Python at build time (no JavaScript chart library, no CDN).

A day chart shows one sensor over one UTC day: the min–max band of each rollup window
as a shaded area and the window means as a line. Binary sensors (motion, door) are drawn
as bars of the fraction of each window the sensor was on. Gaps longer than two windows
break the line, so missing data is visible rather than interpolated.

The SVG carries its scale in ``data-*`` attributes (``data-ymin``, ``data-ymax``,
``data-min``, ``data-max``, ``data-mean``) so tests and scripts can check the numbers.

Each chart is written once, as a standalone SVG file with its own ``<style>`` (colours for a
white background, and a ``prefers-color-scheme: dark`` variant). Day pages reference it with
an ``<img>`` that :func:`inline_charts` replaces, after MkDocs has rendered the page, by the
same SVG without its ``<style>``: the page's CSS (mkdocs-material's palette variables) then
colours it, so the chart follows the site's light/dark toggle. Markdown and the search
indexer never parse the SVG markup.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape, unescape

from ..vault.layout import parse_iso

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 24, 26
DAY_S = 86400.0


@dataclass(frozen=True)
class Point:
    """One rollup window on the chart: ``t`` seconds since the day's 00:00 UTC (window start),
    ``dt`` window length in seconds, and its mean/min/max (or on fraction for binary sensors)."""

    t: float
    dt: float
    mean: float
    lo: float
    hi: float


def fmt_num(x: float | None) -> str:
    """Format a measurement for tables and labels (about 4 significant digits).

    ``None`` gives an en dash. 21.3456 → ``21.35``; 412.75 → ``412.8``; 1234.7 → ``1235``;
    0.004712 → ``0.004712``. Trailing zeros are dropped (21.50 → ``21.5``).
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    a = abs(x)
    if a >= 1000:
        s = f"{x:.0f}"
    elif a >= 100:
        s = f"{x:.1f}"
    elif a >= 1 or a == 0:
        s = f"{x:.2f}"
    else:
        s = f"{x:.4g}"
    if "." in s and "e" not in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (Heckbert's "nice numbers",
    Graphics Gems I, 1990: steps of 1, 2, 5 × 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.05 or 0.5
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, v = [], start
    while v < hi + step * 0.999:
        ticks.append(round(v, 10))
        v += step
    if len(ticks) < 2:
        ticks.append(round(start + step, 10))
    return ticks


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Split points where the gap to the next window exceeds two window lengths."""
    segs: list[list[Point]] = []
    for p in points:
        if segs and p.t - (segs[-1][-1].t + segs[-1][-1].dt) <= 2 * max(p.dt, 1.0):
            segs[-1].append(p)
        else:
            segs.append([p])
    return segs


def seconds_since(ts: str, base: datetime) -> float:
    """Seconds from ``base`` (aware, UTC) to the ISO 8601 time ``ts``.

    The canonical ``YYYY-MM-DDTHH:MM:SSZ`` form on ``base``'s day is read by slicing
    (the common case, and a large share of build time otherwise); anything else is parsed.
    """
    if len(ts) == 20 and ts[19] == "Z" and ts[10] == "T" and ts[:10] == base.strftime("%Y-%m-%d"):
        try:
            return (
                int(ts[11:13]) * 3600
                + int(ts[14:16]) * 60
                + int(ts[17:19])
                + (base.hour * -3600 - base.minute * 60 - base.second)
            )
        except ValueError:
            pass
    return (parse_iso(ts) - base).total_seconds()


def points_from_rollups(
    rollups: Sequence, day: date | datetime, binary: bool = False
) -> list[Point]:
    """Chart points from one sensor's rollups (objects with start, end, mean, min, max,
    on_s, count), sorted by time: ``t`` in seconds since ``day``'s 00:00 UTC, or since
    ``day`` itself when it is an aware datetime (a window's start). Binary sensors plot
    ``on_s / window seconds``."""
    if isinstance(day, datetime):
        base = day.astimezone(UTC)
    else:
        base = datetime(day.year, day.month, day.day, tzinfo=UTC)
    out = []
    for r in rollups:
        t0 = seconds_since(r.start, base)
        dt = max(1.0, seconds_since(r.end, base) - t0)
        if binary:
            frac = min(1.0, max(0.0, (r.on_s or 0.0) / dt))
            out.append(Point(t0, dt, frac, 0.0, frac))
        elif r.mean is not None:
            lo = r.min if r.min is not None else r.mean
            hi = r.max if r.max is not None else r.mean
            out.append(Point(t0, dt, r.mean, lo, hi))
    return sorted(out, key=lambda p: p.t)


# A standalone SVG (opened on its own, or shown with <img>) cannot see the page's CSS, so it
# carries colours of its own: for a white background, and a dark variant when the viewer
# prefers one. Inlined in a page, the chart loses this <style> and takes the site's
# (site/overrides/assets/stylesheets/vault.css). Text is #5f6368 on white (6.0:1) and
# #c4c7cc on #1e2129 (9.5:1), WCAG 2.1 contrast ratios.
STYLE = (
    "<style>svg{background:#fff}.band{fill:rgba(29,111,184,.2)}"
    ".mean{fill:none;stroke:#1d6fb8;stroke-width:1.6;stroke-linejoin:round}"
    ".mean-dot{fill:#1d6fb8}.bar{fill:#d9822b}"
    ".grid,.hgrid{stroke:rgba(0,0,0,.1);stroke-width:1}"
    "text{fill:#5f6368;font:11px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    ".ytick,.unit{text-anchor:end}.unit{font-weight:600}.xtick,.empty{text-anchor:middle}"
    ".empty{font-size:14px}"
    "@media (prefers-color-scheme:dark){svg{background:#1e2129}text{fill:#c4c7cc}"
    ".band{fill:rgba(110,170,230,.25)}.mean{stroke:#7db7ee}.mean-dot{fill:#7db7ee}"
    ".bar{fill:#f0a04b}.grid,.hgrid{stroke:rgba(255,255,255,.12)}}</style>"
)


TICK_STEPS_S = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
"""Time-axis steps (seconds) a window chart chooses from: the smallest giving ≤ 6 ticks."""


def time_ticks(start: datetime, end: datetime, most: int = 6) -> list[tuple[float, str]]:
    """Ticks of a time axis from ``start`` to ``end`` (aware): (seconds after ``start``,
    ``HH:MM`` UTC label) at round clock times (multiples of a step from
    :data:`TICK_STEPS_S`), at most ``most`` + 1 of them; the midnight that ends the span
    is ``24:00``."""
    span = max(1.0, (end - start).total_seconds())
    step = next((s for s in TICK_STEPS_S if span / s <= most), TICK_STEPS_S[-1])
    t0 = start.astimezone(UTC).timestamp()
    first = -(-t0 // step) * step
    out = []
    k = first
    while k <= t0 + span + 1e-6:
        t = datetime.fromtimestamp(k, UTC)
        label = t.strftime("%H:%M")
        if label == "00:00" and k - t0 >= span - 1e-6 and span > 0:
            label = "24:00"
        out.append((k - t0, label))
        k += step
    return out


def window_chart(
    points: Sequence[Point],
    start: datetime,
    end: datetime,
    *,
    label: str,
    unit: str = "",
    binary: bool = False,
    chart_id: str = "",
    standalone: bool = False,
) -> str:
    """An SVG of one sensor over the span ``start``–``end`` (aware datetimes; an
    observation's window): x axis from start to end with round-time ticks
    (:func:`time_ticks`). ``points`` are relative to ``start`` (:func:`points_from_rollups`
    with ``day=start``). Other arguments as :func:`day_chart`."""
    span = max(1.0, (end - start).total_seconds())
    return _chart(points, span, time_ticks(start, end), label, unit, binary, chart_id, standalone)


def day_chart(
    points: Sequence[Point],
    *,
    label: str,
    unit: str = "",
    binary: bool = False,
    chart_id: str = "",
    standalone: bool = False,
) -> str:
    """An inline SVG of one sensor over one UTC day (00:00–24:00 on the x axis).

    Args:
        points: from :func:`points_from_rollups`.
        label: sensor name, used in the title and aria-label.
        unit: unit text shown on the y axis (e.g. ``°C``).
        binary: draw on-fraction bars (0–1) instead of a mean line with band.
        standalone: an SVG file of its own, with its style inside.
    Returns:
        One line of SVG markup (no blank lines, so Markdown passes it through).
    """
    ticks = [(h * 3600.0, f"{h:02d}:00") for h in range(0, 25, 3)]
    return _chart(points, DAY_S, ticks, label, unit, binary, chart_id, standalone)


def _chart(
    points: Sequence[Point],
    span: float,
    xticks: Sequence[tuple[float, str]],
    label: str,
    unit: str,
    binary: bool,
    chart_id: str,
    standalone: bool,
) -> str:
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if binary:
        lo, hi = 0.0, 1.0
    elif points:
        lo, hi = min(p.lo for p in points), max(p.hi for p in points)
    else:
        lo, hi = 0.0, 1.0
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0] if binary else nice_ticks(lo, hi)
    y0, y1 = ticks[0], ticks[-1]

    def x(t: float) -> float:
        return LEFT + pw * min(max(t, 0.0), span) / span

    def y(v: float) -> float:
        return TOP + ph * (1 - (v - y0) / (y1 - y0 or 1.0))

    parts = []
    for tv in ticks:
        yy = y(tv)
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + pw}" y2="{yy:.1f}"/>'
        )
        text = f"{tv * 100:.0f}%" if binary else fmt_num(tv)
        parts.append(f'<text class="ytick" x="{LEFT - 6}" y="{yy + 4:.1f}">{escape(text)}</text>')
    for off, text in xticks:
        xx = x(off)
        parts.append(
            f'<line class="hgrid" x1="{xx:.1f}" y1="{TOP}" x2="{xx:.1f}" y2="{TOP + ph}"/>'
        )
        parts.append(f'<text class="xtick" x="{xx:.1f}" y="{HEIGHT - 8}">{escape(text)}</text>')
    if binary:
        for p in points:
            if p.hi > 0:
                w = max(1.0, x(p.t + p.dt) - x(p.t))
                parts.append(
                    f'<rect class="bar" x="{x(p.t):.1f}" y="{y(p.hi):.1f}" '
                    f'width="{w:.1f}" height="{y(0) - y(p.hi):.1f}"/>'
                )
    else:
        for seg in _segments(points):
            mid = [(x(p.t + p.dt / 2), p) for p in seg]
            if len(seg) == 1:
                xx, p = mid[0]
                parts.append(
                    f'<circle class="mean-dot" cx="{xx:.1f}" cy="{y(p.mean):.1f}" r="2.5"/>'
                )
                continue
            top = " ".join(f"{xx:.1f},{y(p.hi):.1f}" for xx, p in mid)
            bot = " ".join(f"{xx:.1f},{y(p.lo):.1f}" for xx, p in reversed(mid))
            parts.append(f'<polygon class="band" points="{top} {bot}"/>')
            line = " ".join(f"{xx:.1f},{y(p.mean):.1f}" for xx, p in mid)
            parts.append(f'<polyline class="mean" points="{line}"/>')
    if not points:
        parts.append(f'<text class="empty" x="{LEFT + pw / 2}" y="{TOP + ph / 2}">no data</text>')
    parts.append(f'<text class="unit" x="{LEFT - 6}" y="{TOP - 10}">{escape(unit)}</text>')
    stats = ""
    if points:
        mean = sum(p.mean * p.dt for p in points) / sum(p.dt for p in points)
        stats = (
            f' data-min="{fmt_num(min(p.lo for p in points))}"'
            f' data-max="{fmt_num(max(p.hi for p in points))}" data-mean="{fmt_num(mean)}"'
        )
    title = f"{label}: {'share of time on' if binary else 'mean with min–max band'}"
    size = f'width="{WIDTH}" height="{HEIGHT}" ' if standalone else ""
    ident = f' id="{escape(chart_id)}"' if chart_id else ""
    return (
        f'<svg class="va-chart{" binary" if binary else ""}"{ident} role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f"{size}"
        f'preserveAspectRatio="xMidYMid meet" data-ymin="{y0:g}" data-ymax="{y1:g}" '
        f'data-points="{len(points)}"{stats} xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{STYLE if standalone else ''}{''.join(parts)}</svg>"
        + ("\n" if standalone else "")
    )


def chart_digest(svg: str) -> str:
    """A short content hash of a chart's SVG (12 hex digits of SHA-256). Day pages carry it
    on the chart's ``<img>``, so a changed chart changes the page's Markdown and an
    incremental build renders that page (and inlines the new chart) again."""
    return hashlib.sha256(svg.encode("utf-8")).hexdigest()[:12]


_SIZE_RE = re.compile(r' width="\d+" height="\d+"')
_STYLE_RE = re.compile(r"<style>.*?</style>", re.S)
_IMG_RE = re.compile(r'<img class="va-chart"[^>]*>')
_ATTR_RE = re.compile(r'([\w-]+)="([^"]*)"')


def inline_svg(standalone: str, chart_id: str = "", href: str = "", label: str = "") -> str:
    """The page-embedded form of a standalone chart SVG (from :func:`day_chart` with
    ``standalone=True``): without its ``<style>`` and fixed pixel size, so the page's CSS
    colours it and it scales to the column.

    Args:
        standalone: the SVG file's text.
        chart_id: ``id`` for the ``<svg>`` (replaces one the file has).
        href: URL of the standalone file, kept as ``data-file``.
        label: accessible name (``aria-label``, e.g. the ``<img>``'s alt text naming the
            day); the ``<title>`` then serves as the description. Default: the file's.
    Raises:
        ValueError: ``standalone`` is not an ``<svg class="va-chart" …>`` chart.
    """
    text = standalone.strip()
    if not text.startswith('<svg class="va-chart') or ">" not in text:
        raise ValueError("not a va-chart SVG")
    head, body = text.split(">", 1)
    head = _SIZE_RE.sub("", head, count=1)
    head = re.sub(r' id="[^"]*"', "", head, count=1)
    if label:
        head = re.sub(
            r' aria-label="[^"]*"', lambda _: f' aria-label="{escape(label)}"', head, count=1
        )
    cls_end = head.index('"', len('<svg class="')) + 1
    extra = (f' id="{escape(chart_id)}"' if chart_id else "") + (
        f' data-file="{escape(href)}"' if href else ""
    )
    head = head[:cls_end] + extra + head[cls_end:]
    return f"{head}>{_STYLE_RE.sub('', body, count=1)}"


def inline_charts(html: str, read: Callable[[str, str], str | None]) -> str:
    """Replace each chart ``<img class="va-chart" …>`` of a rendered page by its inline SVG.

    Args:
        html: the page's HTML.
        read: gives the standalone SVG text for an ``<img>``'s ``src`` (a URL-quoted path
            relative to the page) and ``data-digest``, or None when it cannot or will not;
            such an ``<img>`` is left as it is.
    Returns:
        the HTML with the charts inlined (unchanged when it has none).
    """
    if '<img class="va-chart"' not in html:
        return html

    def one(m: re.Match[str]) -> str:
        attrs = {k: unescape(v) for k, v in _ATTR_RE.findall(m.group(0))}
        src = attrs.get("src", "")
        text = read(src, attrs.get("data-digest", "")) if src else None
        if not text:
            return m.group(0)
        try:
            return inline_svg(text, attrs.get("id", ""), src, attrs.get("alt", ""))
        except ValueError:
            return m.group(0)

    return _IMG_RE.sub(one, html)
