"""What each MCP tool does, as plain functions over a vault (no MCP types here).

Every tool returns a :class:`ToolResult`: ``text`` for the model to read, ``data`` for
the client's structured content, ``paths`` the vault files it is about (cited, read or
written). Bad input raises :class:`ToolInputError` naming the parameter; a refusal
raises :class:`~.permissions.PermissionDenied` naming the rule. The server module
(``server.py``) adds the MCP types, the session log and the commits.

Reads go through the same code as the CLI: ``ask.retrieve.Retriever`` (``vault
search``), ``ask.ask.ask`` (``vault ask``), the query layer for sensor history.
Writes use the vault's atomic writers and ``vault check``'s rules
(``vault/check.check_content`` and ``check_change``) before anything is written.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import yaml

from ..errors import VaultError
from ..vault import Vault, layout
from ..vault.check import check_change, check_content
from ..vault.records import parse_markdown
from .permissions import Policy, resolve_path

NOTE_SUFFIXES = (".md", ".txt")
MAX_FACT_CHARS = 2000
MAX_LIST_ENTRIES = 500
INDEX_REFRESH_S = 30.0  # a search re-checks the index for files changed by others after this
DEFAULT_DAYS = 7  # history without since/until: the sensor's last 7 days of data
MAX_POINTS = 1000
STEPS_S = (300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
TARGET_POINTS = 200  # history without every: a step giving at most this many points
UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
WORD_RE = re.compile(r"[\w°%-]{2,}", re.UNICODE)


class ToolInputError(VaultError):
    """An argument a tool cannot use; the message names the parameter."""


class NotFoundError(VaultError):
    """A path, sensor or note that does not exist."""


@dataclass
class ToolResult:
    """A tool's answer: ``text`` for the model, ``data`` (JSON-ready) for the client,
    ``paths`` the vault files involved (also in ``data["paths"]``)."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    def structured(self) -> dict[str, Any]:
        """``data`` with ``paths`` filled in."""
        return {**self.data, "paths": self.paths}


def parse_day(value: str | None, param: str) -> date | None:
    """``YYYY-MM-DD`` or an ISO 8601 time (UTC day taken) → date; None stays None.

    Raises:
        ToolInputError: naming ``param``.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return layout.parse_iso(text).date()
    except ValueError:
        raise ToolInputError(
            f"{param}={value!r} is not a date: use YYYY-MM-DD (e.g. 2015-02-05)"
        ) from None


def _range(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    s, u = parse_day(since, "since"), parse_day(until, "until")
    if s and u and u < s:
        raise ToolInputError(f"until={until!r} is before since={since!r}")
    return s, u


def parse_every(text: str) -> int:
    """``5m`` / ``1h`` / ``1d`` / ``30s`` (or plain seconds) → seconds.

    Raises:
        ToolInputError: naming ``every``.
    """
    m = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", str(text).lower())
    if not m or int(m.group(1)) <= 0:
        raise ToolInputError(f"every={text!r} is not a step: use 5m, 1h or 1d")
    return int(m.group(1)) * UNITS_S[m.group(2) or "s"]


def auto_step(days: int) -> int:
    """The smallest of :data:`STEPS_S` giving at most :data:`TARGET_POINTS` points over
    ``days`` days (the longest step beyond); see :func:`auto_step_rule`."""
    for step in STEPS_S:
        if days * 86400 / step <= TARGET_POINTS:
            return step
    return STEPS_S[-1]


def auto_step_rule() -> str:
    """:func:`auto_step` in words: "15m up to 2 days, 30m up to 4 days, …, 7d beyond"."""
    parts = []
    for step in STEPS_S[:-1]:
        days = TARGET_POINTS * step // 86400
        if days >= 1 and auto_step(days) == step:
            parts.append(f"{_step_text(step)} up to {days} day{'s' if days > 1 else ''}")
    return ", ".join(parts + [f"{_step_text(STEPS_S[-1])} beyond"])


def _step_text(every_s: int) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if every_s % n == 0:
            return f"{every_s // n}{unit}"
    return f"{every_s}s"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}" if abs(v) < 1 else f"{v:.1f}"


def _point_line(p: Any, unit: str, binary: bool) -> str:
    if binary:
        return f"{p.t}  {p.agg} {_num(p.value)} (events {p.events}, on {_num(p.on_s)} s)"
    return f"{p.t}  {p.agg} {_num(p.value)}{unit} (min {_num(p.min)}, max {_num(p.max)})"


def _point_dict(p: Any) -> dict[str, Any]:
    d = p.as_dict()
    d["cites"] = d["cites"][:3]  # a day bucket cites many line ranges; three say where
    return d


def _words(text: str) -> set[str]:
    return {w.casefold().strip("-") for w in WORD_RE.findall(text or "")} - {""}


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".!")


class VaultTools:
    """The tools over one vault, with the node's :class:`Policy`.

    Thread-safe: searches share one retriever under a lock (the index is updated
    incrementally before a search when this server wrote something, or every
    :data:`INDEX_REFRESH_S` seconds for files synced or written by others).

    Args:
        vault: the opened vault.
        policy: read/write rules and size caps.
        on_rebuild: told when the index is (re)built from scratch (a log line).
        git_lock: held while reading git (status); the server's writes commit under it,
            so one ``pygit2.Repository`` is never used by two threads at once.
    """

    def __init__(
        self,
        vault: Vault,
        policy: Policy,
        on_rebuild: Callable[[str], None] | None = None,
        git_lock: threading.Lock | None = None,
    ) -> None:
        self.vault = vault
        self.policy = policy
        self.git_lock = git_lock or threading.Lock()
        self.on_rebuild = on_rebuild
        self._retriever = None
        self._search_lock = threading.Lock()
        self._refreshed_at = 0.0
        self._stale = True
        self._store = None

    # -- helpers -----------------------------------------------------------------------
    def _readable(self, path: str) -> str:
        rel = resolve_path(self.vault.root, path)
        self.policy.check("read", rel)
        real = self.vault.path(rel).resolve()
        if real != self.vault.path(rel):  # a symlink inside the vault: its target must pass too
            self.policy.check("read", real.relative_to(self.vault.root).as_posix())
        return rel

    def retriever(self):
        """The shared :class:`PolicyRetriever`, refreshed when stale (hold the search lock)."""
        if self._retriever is None:
            from .retrieval import PolicyRetriever

            self._retriever = PolicyRetriever(self.vault, self.policy, on_rebuild=self.on_rebuild)
        now = time.monotonic()
        if self._stale or now - self._refreshed_at > INDEX_REFRESH_S:
            self._retriever.refresh = True
            self._stale = False
            self._refreshed_at = now
        return self._retriever

    def warm(self) -> None:
        """Bring the index up to date and load the embedder (so the first search is fast)."""
        with self._search_lock:
            r = self.retriever()
            r._ensure_fresh()
            r.indexer.embedder.embed(["warm up"])

    def mark_written(self) -> None:
        """Tell the next search to update the index first (this server wrote a note)."""
        self._stale = True

    # -- search and ask ------------------------------------------------------------------
    def search(
        self,
        query: str,
        kind: str | None = None,
        node: str | None = None,
        since: str | None = None,
        until: str | None = None,
        k: int = 5,
    ) -> ToolResult:
        """Hybrid search (BM25 + vectors, as ``vault search``) over readable files."""
        from ..index.whoosh_index import Filters

        s, u = _range(since, until)
        if not 1 <= k <= 50:
            raise ToolInputError(f"k={k} is out of range: use 1 to 50")
        flt = Filters(
            node=node or None,
            kind=kind or None,
            since=s.isoformat() if s else None,
            until=u.isoformat() if u else None,
        )
        with self._search_lock:
            res = self.retriever().search(query, k, "hybrid", flt)
        hits = [
            {
                "path": h.path,
                "date": h.date,
                "kind": h.kind,
                "node": h.node,
                "title": h.title,
                "score": round(h.score, 4),
                "snippet": h.snippet,
                "conflict_copy": h.conflict,
            }
            for h in res.hits
        ]
        if not hits:
            text = f"No matches for {res.query!r}."
        else:
            text = "\n".join(
                f"[{i}] {h['path']} ({h['date'] or 'undated'}, {h['kind']}): {h['snippet']}"
                for i, h in enumerate(hits, 1)
            )
        if res.notes:
            text += "\n(" + "; ".join(res.notes) + ")"
        return ToolResult(
            text,
            {"query": res.query, "hits": hits, "notes": res.notes},
            [h["path"] for h in hits],
        )

    def ask(self, question: str) -> ToolResult:
        """``vault ask``: the planner, the LLM of node.toml, verified citations."""
        from ..ask.ask import ask

        with self._search_lock:
            res = ask(
                self.vault, question, retriever=self.retriever(), log=False, store=self.store()
            )
        cited = [c.path for c in res.citations] or [h.path for h in res.hits]
        files = list(dict.fromkeys(c.split("#", 1)[0] for c in cited))
        for rel in files:  # sensor answers cite rollup lines the retriever did not filter
            self.policy.check("read", rel)
        text = res.answer.strip()
        if res.citations:
            text += "\n\nSources:\n" + "\n".join(f"[{c.n}] {c.path}" for c in res.citations)
        if res.notes:
            text += "\n(" + "; ".join(res.notes) + ")"
        data = res.as_dict()
        for src in data.get("sources", []):
            src.pop("text", None)  # the snippet is enough; full chunks would bloat the result
        return ToolResult(text, data, files)

    # -- files ---------------------------------------------------------------------------
    def read(self, path: str, offset: int = 0) -> ToolResult:
        """A file's text, at most ``max_read_bytes`` from byte ``offset``."""
        rel = self._readable(path)
        p = self.vault.path(rel)
        if not rel or p.is_dir():
            raise ToolInputError(f"path={path!r} is a folder: use list to see what it holds")
        if not p.is_file():
            raise NotFoundError(f"{rel}: no such file (use list or search to find one)")
        size = p.stat().st_size
        if offset < 0 or (offset and offset >= size):
            raise ToolInputError(f"offset={offset} is outside the file ({size} bytes)")
        with open(p, "rb") as fh:
            fh.seek(offset)
            chunk = fh.read(self.policy.max_read_bytes)
        if b"\x00" in chunk[:8192]:
            raise ToolInputError(f"{rel} is a binary file ({size} bytes); it cannot be shown")
        text = chunk.decode("utf-8", errors="ignore")
        end = offset + len(chunk)
        truncated = end < size
        header = f"{rel} ({size} bytes"
        if offset or truncated:
            header += f"; bytes {offset}–{end}"
        header += ")"
        body = text
        if truncated:
            body += f"\n… cut at {end} of {size} bytes: read again with offset={end} for more"
        data = {
            "path": rel,
            "kind": layout.classify(rel).kind,
            "size": size,
            "offset": offset,
            "next_offset": end if truncated else None,
            "truncated": truncated,
            "content": text,
        }
        return ToolResult(f"{header}\n{body}", data, [rel])

    def list(self, path: str = "") -> ToolResult:
        """Folders and files directly in ``path`` (default the vault root) that may be read."""
        rel = self._readable(path) if path.strip() not in ("", ".", "/") else ""
        p = self.vault.path(rel) if rel else self.vault.root
        if not p.exists():
            raise NotFoundError(f"{rel}: no such folder (use list with no path to start)")
        if not p.is_dir():
            raise ToolInputError(f"path={path!r} is a file: use read to see it")
        entries = []
        for child in sorted(p.iterdir(), key=lambda c: (not c.is_dir(), c.name)):
            crel = f"{rel}/{child.name}" if rel else child.name
            if child.name in (".git", layout.VAULT_DIR) or child.name.startswith(".vault-"):
                continue
            if not self.policy.can("read", crel):
                continue
            is_dir = child.is_dir()
            entries.append(
                {
                    "path": crel + ("/" if is_dir else ""),
                    "type": "folder" if is_dir else "file",
                    "size": None if is_dir else child.lstat().st_size,
                }
            )
            if len(entries) >= MAX_LIST_ENTRIES:
                break
        lines = [
            e["path"] if e["type"] == "folder" else f"{e['path']} ({e['size']} bytes)"
            for e in entries
        ]
        text = "\n".join(lines) or f"{rel or '(vault root)'} is empty"
        return ToolResult(
            text,
            {"folder": rel, "entries": entries, "cut": len(entries) >= MAX_LIST_ENTRIES},
            [e["path"].rstrip("/") for e in entries],
        )

    # -- sensors, observations, status --------------------------------------------------
    def store(self):
        """The query layer's :class:`~vault_agent.query.Store` (one per server)."""
        if self._store is None:
            from ..query import Store

            self._store = Store(self.vault.root)
        return self._store

    def history(
        self,
        sensor: str,
        since: str | None = None,
        until: str | None = None,
        every: str | None = None,
        agg: str | None = None,
    ) -> ToolResult:
        """A sensor's series from the query layer; binary sensors also get on-intervals."""
        store = self.store()
        info = store.resolve(sensor)
        s, u = _range(since, until)
        cov = store.coverage(info)
        if cov is None:
            raise NotFoundError(f"{info.id} has no data at all")
        span = timedelta(days=DEFAULT_DAYS - 1)
        if s is None and u is None:  # the last days with data
            u = cov[1]
            s = max(cov[0], u - span)
        elif u is None:
            u = s + span
        elif s is None:
            s = u - span
        every_s = parse_every(every) if every else auto_step((u - s).days + 1)
        agg = agg or ("events" if info.binary else "mean")
        points = store.series(info, s, u, every_s, agg)
        if not points:
            raise NotFoundError(str(store.no_data(info, s, u)))
        if len(points) > MAX_POINTS:
            raise ToolInputError(
                f"{len(points)} points: more than {MAX_POINTS}; use a larger every or a "
                "shorter since/until"
            )
        intervals = store.intervals(info, s, u) if info.binary else []
        files = sorted({c.split("#", 1)[0] for p in points for c in p.cites})
        for rel in files:
            self.policy.check("read", rel)
        unit = f" {info.unit}" if info.unit else ""
        head = (
            f"{info.id} on node {info.node} ({info.quantity}{unit.rstrip()}), {s} to {u} "
            f"({store.tz.key}), every {_step_text(every_s)}, {agg}:"
        )
        rows = [head] + [_point_line(p, unit, info.binary) for p in points]
        if intervals:
            rows.append("on:")
            rows += [
                f"{i.start} to {i.end} ({i.on_s:.0f} s on, {i.events} events)" for i in intervals
            ]
        rows.append("Source files: " + ", ".join(files))
        data = {
            "sensor": info.as_dict(),
            "since": s.isoformat(),
            "until": u.isoformat(),
            "every_s": every_s,
            "agg": agg,
            "points": [_point_dict(p) for p in points],
            "intervals": [i.as_dict() for i in intervals],
        }
        return ToolResult("\n".join(rows), data, files)

    def observations(
        self,
        node: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 20,
    ) -> ToolResult:
        """What nodes noticed (the query layer's observations), newest first."""
        s, u = _range(since, until)
        if not 1 <= limit <= 200:
            raise ToolInputError(f"limit={limit} is out of range: use 1 to 200")
        if node and node not in self.vault.nodes():
            raise NotFoundError(
                f"node={node!r}: no such node; known: {', '.join(self.vault.nodes()) or 'none'}"
            )
        items = [
            o
            for o in self.store().observations(node or None, s, u)
            if o.kind == "observation" and self.policy.can("read", o.path)
        ]
        items.sort(key=lambda o: (o.start or o.created, o.path), reverse=True)
        out = [o.as_dict() for o in items[:limit]]
        text = (
            "\n".join(
                f"- {o['start'] or o['created']} {o['node']}: {o['text']} ({o['path']})"
                for o in out
            )
            or "No observations in this range."
        )
        if len(items) > limit:
            text += f"\n({len(items) - limit} older ones not shown; narrow since/until)"
        return ToolResult(
            text, {"observations": out, "total": len(items)}, [o["path"] for o in out]
        )

    def status(self) -> ToolResult:
        """Every node's status (``query.status``): agent state, last reading, commit, sync,
        conflicts."""
        from ..query.status import vault_status

        with self.git_lock:
            st = vault_status(self.vault)
        data = st.as_dict()
        lines = [f"vault {st.vault} (this node: {st.node}), now {st.now}"]
        for n in st.nodes:
            lines.append(
                f"- node {n.node}: agent {n.agent_text or n.agent}, last reading "
                f"{n.last_reading or 'never'}{' (stale)' if n.stale else ''}, last observation "
                f"{n.last_observation or 'never'}, last commit {n.last_commit or 'never'}, "
                f"last sync {n.last_sync or 'never'}"
            )
            for p in n.peers:
                err = f", error: {p.last_error}" if p.last_error else ""
                lines.append(f"  peer {p.name}: last sync {p.last_success or 'never'}{err}")
        syncs = [p.last_success for n in st.nodes for p in n.peers if p.last_success]
        data["last_sync"] = max(syncs) if syncs else None
        lines.append(f"last sync: {data['last_sync'] or 'never'}")
        lines.append(f"open conflicts: {len(st.conflicts)}")
        lines += [f"  {c.get('copy')}" for c in st.conflicts]
        return ToolResult("\n".join(lines), data, [])

    def _memories(self) -> list[tuple[str, Any]]:
        return [
            (rel, obs)
            for rel, obs in self.vault.iter_observations(None, sub="memory")
            if self.policy.can("read", rel)
        ]

    def recall(self, query: str, limit: int = 10) -> ToolResult:
        """Memory facts (``agents/*/memory/``) sharing words with ``query``, best first."""
        want = _words(query)
        if not want:
            raise ToolInputError("topic_or_query is empty: say what to recall")
        scored = []
        for rel, obs in self._memories():
            have = _words(f"{obs.title} {obs.extra.get('topic', '')} {obs.body}")
            score = len(want & have)
            if score:
                scored.append((score, obs.created, rel, obs))
        scored.sort(key=lambda r: (r[0], r[1]), reverse=True)
        facts = [
            {
                "path": rel,
                "fact": obs.body,
                "topic": obs.extra.get("topic") or obs.title,
                "source": obs.extra.get("source") or obs.model or "observer",
                "created": obs.created,
                "node": obs.node,
            }
            for _, _, rel, obs in scored[:limit]
        ]
        text = (
            "\n".join(f"- {f['fact']} ({f['path']})" for f in facts)
            or f"Nothing remembered about {query!r}."
        )
        return ToolResult(text, {"facts": facts}, [f["path"] for f in facts])

    # -- writes --------------------------------------------------------------------------
    def remember(self, fact: str, topic: str | None, client: str) -> ToolResult:
        """Write ``fact`` to this node's ``memory/`` (unless the same fact is there)."""
        fact = " ".join((fact or "").split())
        topic = " ".join((topic or "").split()) or None
        if not fact:
            raise ToolInputError("fact is empty: give one sentence to remember")
        if len(fact) > MAX_FACT_CHARS:
            raise ToolInputError(f"fact is {len(fact)} characters; keep it under {MAX_FACT_CHARS}")
        probe = f"{layout.node_dir(self.vault.node)}/memory/fact.md"
        self.policy.check("write", probe)
        for rel, obs in self.vault.iter_observations(self.vault.node, sub="memory"):
            if _normal(obs.body) == _normal(fact):
                return ToolResult(
                    f"Already remembered: {rel}", {"path": rel, "duplicate": True}, [rel]
                )
        extra: dict[str, Any] = {"source": f"agent:{client}"}
        if topic:
            extra["topic"] = topic
        rel, obs = self.vault.write_observation(
            fact,
            title=topic or "",
            kind="memory",
            model="",
            slug=topic or fact[:40],
            extra=extra,
        )
        self.mark_written()
        return ToolResult(
            f"Remembered in {rel}", {"path": rel, "id": obs.id, "duplicate": False}, [rel]
        )

    def _note_path(self, path: str) -> str:
        rel = resolve_path(self.vault.root, path)
        if not rel or not rel.endswith(NOTE_SUFFIXES):
            raise ToolInputError(
                f"path={path!r}: notes end in .md or .txt (e.g. knowledge-base/boiler.md)"
            )
        self.policy.check("write", rel)
        if self.vault.path(rel).is_symlink():
            raise ToolInputError(f"{rel} is a symlink; write the file it points to instead")
        return rel

    def _validated_write(self, rel: str, text: str) -> None:
        data = text.encode("utf-8")
        if len(data) > self.policy.max_write_bytes:
            raise ToolInputError(
                f"{rel} would be {len(data)} bytes; the limit is {self.policy.max_write_bytes}"
            )
        p = self.vault.path(rel)
        problems = check_content(rel, data)
        if p.is_file():
            if rel in self.vault.pending():
                raise ToolInputError(
                    f"{rel} has changes not yet committed by a person; commit them first"
                )
            problems += check_change(rel, p.read_bytes(), data)
        if problems:
            raise ToolInputError(f"vault check refuses this write: {problems[0]}")
        self.vault.write_file(rel, text, overwrite=True)
        self.mark_written()

    def write_note(
        self,
        path: str,
        content: str,
        frontmatter: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> ToolResult:
        """Create (or with ``overwrite`` replace) a Markdown note."""
        rel = self._note_path(path)
        if self.vault.path(rel).exists() and not overwrite:
            raise ToolInputError(
                f"{rel} exists: use append_note to add to it, or overwrite=true to replace it"
            )
        text = content if content.endswith("\n") else content + "\n"
        if frontmatter:
            if parse_markdown(text, rel)[0]:
                raise ToolInputError("content already starts with YAML frontmatter; give one")
            try:
                head = yaml.safe_dump(frontmatter, sort_keys=False, allow_unicode=True)
            except yaml.YAMLError as e:
                raise ToolInputError(f"frontmatter cannot be written as YAML: {e}") from None
            text = f"---\n{head}---\n{text}"
        existed = self.vault.path(rel).exists()
        self._validated_write(rel, text)
        verb = "Replaced" if existed else "Wrote"
        size = len(text.encode())
        return ToolResult(f"{verb} {rel} ({size} bytes)", {"path": rel, "bytes": size}, [rel])

    def append_note(self, path: str, text: str) -> ToolResult:
        """Add ``text`` at the end of a note (created when missing)."""
        rel = self._note_path(path)
        if not (text or "").strip():
            raise ToolInputError("text is empty: give the lines to append")
        p = self.vault.path(rel)
        old = p.read_text(encoding="utf-8") if p.is_file() else ""
        sep = "" if not old or old.endswith("\n") else "\n"
        new = old + sep + text + ("" if text.endswith("\n") else "\n")
        self._validated_write(rel, new)
        size = len(new.encode())
        return ToolResult(
            f"Appended to {rel} (now {size} bytes)", {"path": rel, "bytes": size}, [rel]
        )
