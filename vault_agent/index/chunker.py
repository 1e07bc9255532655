"""Split vault files into search chunks (docs/architecture.md §6).

- Markdown (knowledge-base, interactions, day notes, READMEs): split at headings,
  sections longer than ``max_words`` split at sentence ends; frontmatter is metadata.
  ``[[wikilinks]]`` stay in the text as they are.
- An observation or memory file: one chunk.
- A rollup file: one chunk per sensor per day, a sentence people can search
  ("kitchen-temp 2025-10-14: mean 21.3 °C, min 19.8 at 06:10, max 23.1 at 15:40").
- A conflict copy is chunked like its original and marked ``conflict=True``.

Chunk ids are ``<path>#<n>`` (n from 0); metadata: path, node, kind, date, title.
Files failing their schema raise :class:`~vault_agent.errors.RecordError`; the
indexer reports and skips them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from ..errors import RecordError
from ..query.summary import summarize
from ..vault import layout
from ..vault.records import Rollup, parse_markdown, parse_observation, parse_rollup_lines

DEFAULT_MAX_WORDS = 300
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
TEXT_KINDS = (
    layout.PathKind.KNOWLEDGE,
    layout.PathKind.INTERACTION,
    layout.PathKind.DAILY,
    layout.PathKind.README,
    layout.PathKind.SESSION,
    layout.PathKind.OTHER,
)


@dataclass(frozen=True)
class Chunk:
    """One searchable piece of a file.

    ``date`` is the UTC day ``YYYY-MM-DD`` the chunk is about ("" if unknown);
    ``kind`` is the layout kind of the file (observation, rollup, knowledge…);
    ``conflict`` marks chunks of a ``*.sync-conflict-*`` copy.
    """

    path: str
    n: int
    text: str
    title: str = ""
    node: str = ""
    kind: str = ""
    date: str = ""
    conflict: bool = False

    @property
    def id(self) -> str:
        """``<path>#<n>``."""
        return f"{self.path}#{self.n}"

    def embed_text(self) -> str:
        """The text given to the embedder: title line, then the chunk text."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    def vector_texts(self, window_words: int = 0) -> list[str]:
        """Texts to embed for this chunk: the whole chunk, plus, when it is longer than
        ``window_words`` (> 0), its sentence-aligned windows of at most that many
        words, each under the title. MiniLM reads only the first 256 tokens (~180
        words) of a text; windows let the rest of a long chunk be found too."""
        whole = self.embed_text()
        if window_words <= 0 or len(self.text.split()) <= window_words:
            return [whole]
        pieces = split_words(self.text, window_words)
        return [whole] + [f"{self.title}\n{p}" if self.title else p for p in pieces]

    def metadata(self) -> dict[str, str | int | bool]:
        """Flat metadata for the indexes (date also as int ``YYYYMMDD`` for range filters)."""
        return {
            "path": self.path,
            "node": self.node,
            "kind": self.kind,
            "date": self.date,
            "day": int(self.date.replace("-", "")) if self.date else 0,
            "title": self.title,
            "conflict": self.conflict,
        }


def original_path(path: str) -> str:
    """The path a conflict copy stands for (``a.sync-conflict-…-n.md`` → ``a.md``)."""
    return layout.original_of(path)


def indexable(path: str) -> bool:
    """True for files the indexes cover (Markdown, rollup JSONL, text; not config/JSON)."""
    kind = layout.classify(path).kind
    if kind == layout.PathKind.IGNORED:
        return False
    # the template's folder guides; people's notes live in knowledge-base
    if kind == layout.PathKind.README:
        return path.startswith(layout.KNOWLEDGE + "/")
    if kind == layout.PathKind.CONFLICT_COPY:
        return indexable(original_path(path))
    if kind == layout.PathKind.ROLLUP:
        return bool(layout.ROLLUP_NAME_RE.match(path.rsplit("/", 1)[-1]))
    return kind in (
        *TEXT_KINDS,
        layout.PathKind.OBSERVATION,
        layout.PathKind.MEMORY,
    ) and path.endswith((".md", ".txt"))


def chunk_file(
    path: str,
    text: str,
    max_words: int = DEFAULT_MAX_WORDS,
    problems: list[RecordError] | None = None,
) -> list[Chunk]:
    """Chunks of one file's text (``path`` is vault-relative).

    Bad rollup lines are skipped and added to ``problems``.

    Raises:
        RecordError: the file fails its schema (bad frontmatter, observation fields).
    """
    conflict = layout.is_conflict_copy(path)
    info = layout.classify(original_path(path) if conflict else path)
    if info.kind == layout.PathKind.ROLLUP:
        chunks = rollup_chunks(path, text, info.node or "", problems)
    elif info.kind in (layout.PathKind.OBSERVATION, layout.PathKind.MEMORY):
        chunks = [observation_chunk(path, text, info.kind)]
    else:
        chunks = markdown_chunks(path, text, info.kind, info.node or "", max_words)
    if conflict:
        chunks = [
            Chunk(
                c.path,
                c.n,
                c.text,
                f"{c.title} (conflict copy)".strip(),
                c.node,
                c.kind,
                c.date,
                True,
            )
            for c in chunks
        ]
    return chunks


def observation_chunk(path: str, text: str, kind: str) -> Chunk:
    """One chunk for an observation/memory file (title, body, sensors in the text)."""
    obs = parse_observation(text, path)
    body = obs.body.strip()
    if obs.sensors:
        body += f"\nSensors: {', '.join(obs.sensors)}."
    day = (obs.window or {}).get("start") or obs.created
    return Chunk(path, 0, body, obs.title or _first_words(obs.body), obs.node, kind, day[:10])


def _first_words(text: str, n: int = 8) -> str:
    words = re.sub(r"[#*_`>\[\]]", "", text).split()
    return " ".join(words[:n])


def markdown_chunks(
    path: str, text: str, kind: str, node: str = "", max_words: int = DEFAULT_MAX_WORDS
) -> list[Chunk]:
    """Split Markdown at headings, then long sections at sentence ends (≤ max_words)."""
    meta, body = parse_markdown(text, path)
    title = str(meta.get("title") or meta.get("question") or "")
    node = str(meta.get("node") or node)
    date = _meta_date(meta) or _date_from_name(path)
    sections = _sections(body)
    if not title:
        title = next((h for h, _ in sections if h), "") or _title_from_name(path)
    chunks: list[Chunk] = []
    for heading, sec in sections:
        for piece in split_words(sec, max_words):
            label = title if not heading or heading == title else f"{title} › {heading}"
            chunks.append(Chunk(path, len(chunks), piece, label, node, kind, date))
    if not chunks:
        chunks.append(Chunk(path, 0, title, title, node, kind, date))
    return chunks


def _sections(body: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    heading, lines, fenced = "", [], False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        m = None if fenced else HEADING_RE.match(line)
        if m:
            if "".join(lines).strip():
                out.append((heading, "\n".join(lines).strip()))
            elif heading and not out:
                pass
            heading, lines = m.group(2).strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip() or not out:
        out.append((heading, "\n".join(lines).strip()))
    return [(h, t) for h, t in out if t or h]


def split_words(text: str, max_words: int) -> list[str]:
    """Split ``text`` into pieces of at most ~``max_words`` words, at sentence ends when
    possible (a single longer sentence is cut at ``max_words``)."""
    words = text.split()
    if len(words) <= max_words:
        return [text] if text.strip() else []
    pieces: list[str] = []
    cur: list[str] = []
    for sent in SENTENCE_END_RE.split(text):
        sw = sent.split()
        while len(sw) > max_words:
            if cur:
                pieces.append(" ".join(cur))
                cur = []
            pieces.append(" ".join(sw[:max_words]))
            sw = sw[max_words:]
        if cur and len(cur) + len(sw) > max_words:
            pieces.append(" ".join(cur))
            cur = []
        cur += sw
    if cur:
        pieces.append(" ".join(cur))
    return pieces


def _meta_date(meta: dict) -> str:
    for key in ("day", "date", "created"):  # a day note is about its day, not its writing
        val = meta.get(key)
        if val:
            try:
                return layout.iso(layout.parse_iso(val))[:10]
            except (ValueError, TypeError):
                continue
    return ""


def _date_from_name(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    m = re.match(r"(\d{4})-?(\d{2})-?(\d{2})", name)
    if m:
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3])).strftime("%Y-%m-%d")
        except ValueError:
            return ""
    return ""


def _title_from_name(path: str) -> str:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem.replace("-", " ").replace("_", " ")


# -- rollups -----------------------------------------------------------------------------
def rollup_chunks(
    path: str, text: str, node: str = "", problems: list[RecordError] | None = None
) -> list[Chunk]:
    """One chunk per sensor for a rollup day file's text.

    Lines failing the rollup schema are skipped and added to ``problems`` (the rest
    of the day is still indexed: the files are append-only, one torn line should not
    hide a day).
    """
    rollups = [r for _, r in parse_rollup_lines(text, path, 0, problems)]
    return rollup_day_chunks(path, rollups, node)


def rollup_day_chunks(path: str, rollups: list[Rollup], node: str = "") -> list[Chunk]:
    """One chunk per sensor from the parsed rollups of a day file (see :func:`day_summary`)."""
    day = path.rsplit("/", 1)[-1][:10]
    by_sensor: dict[str, list[Rollup]] = defaultdict(list)
    for r in rollups:
        by_sensor[r.sensor].append(r)
    chunks = []
    for n, sensor in enumerate(sorted(by_sensor)):
        rs = sorted(by_sensor[sensor], key=lambda r: r.start)
        chunks.append(
            Chunk(
                path,
                n,
                day_summary(sensor, day, rs),
                f"{sensor} {day}",
                node or rs[0].node,
                "rollup",
                day,
            )
        )
    return chunks


def _hhmm(t: datetime | None) -> str:
    return t.strftime("%H:%M") if t is not None else "?"


def _num(v: float) -> str:
    """One decimal for ordinary magnitudes, 3 significant digits for small ones
    (a humidity ratio of 0.0041 kg/kg must not print as 0.0)."""
    return f"{v:.3g}" if 0 < abs(v) < 1 else f"{v:.1f}"


def day_summary(sensor: str, day: str, rollups: list[Rollup]) -> str:
    """One sentence for a sensor's day, from its rollup windows.

    The figures are :func:`vault_agent.query.summary.summarize`'s. Numeric sensors:
    count-weighted mean, the day's min and max with their times (``min_at``/``max_at``
    if recorded, else the window's middle). Binary sensors: events (off→on), time on,
    the first and last window with an event. Example:
    ``kitchen-temp 2025-10-14: mean 21.3 °C, min 19.8 at 06:10, max 23.1 at 15:40``.
    """
    if not rollups:
        raise RecordError(sensor, 0, "no rollups for the day")
    unit = next((r.unit for r in rollups if r.unit), "")
    quantity = next((r.quantity for r in rollups if r.quantity), "")
    st = summarize(rollups)
    parts: list[str] = []
    if st.mean is not None and st.min is not None and st.max is not None:
        u = f" {unit}" if unit else ""
        parts.append(f"mean {_num(st.mean)}{u}")
        parts.append(f"min {_num(st.min)} at {_hhmm(st.min_at)}")
        parts.append(f"max {_num(st.max)} at {_hhmm(st.max_at)}")
    if st.binary:
        parts.append(f"{st.events} events, on {st.on_s / 60:.0f} min")
        if st.first_event_at is not None:
            first, last = _hhmm(st.first_event_at), _hhmm(st.last_event_at)
            parts.append(f"first at {first}, last at {last}")
    if st.errors:
        parts.append(f"{st.errors} read errors")
    label = f" ({quantity})" if quantity else ""
    return f"{sensor} {day}{label}: " + ", ".join(parts or [f"{len(rollups)} windows"])
