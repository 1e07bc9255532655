"""Agent session logs on the site: the MCP audit lines of each node and day.

``vault mcp`` appends one JSON line per tool call to
``agents/<node>/sessions/YYYY/MM/YYYY-MM-DD.jsonl`` (format: :mod:`vault_agent.mcp.audit`:
``time``, ``client``, ``tool``, ``args``, ``allowed``, ``ok``, ``result_bytes``, ``ms``,
optionally ``error`` and ``paths``). The site shows each such file as a page with a
table (:func:`.pages.session_day_page`), and each node's days on an index page.

The lines are data from any node (synced files): every value reaches the page only
through the template engine's escaping, whitespace collapsed so no value can end the
raw-HTML table early; a line that is not a JSON object is counted as unreadable, never
shown as markup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..vault import Vault, files, layout

SESSION_LOG_RE = re.compile(r"^agents/([^/]+)/sessions/\d{4}/\d{2}/(\d{4}-\d{2}-\d{2})\.jsonl$")
"""A session log's vault path: groups (node, YYYY-MM-DD)."""
MAX_CELL = 300  # characters of an argument list shown in a cell (the log cuts at 300 per value)


@dataclass(frozen=True)
class Call:
    """One logged tool call as the page shows it (texts already one line)."""

    line: int  # 1-based line in the file
    time: str  # UTC ISO 8601, as logged
    client: str
    tool: str
    args: str  # the arguments as compact JSON
    allowed: bool
    ok: bool
    result_bytes: int | None
    ms: float | None
    error: str


@dataclass(frozen=True)
class SessionDay:
    """A node's session log of one UTC day: its calls in file order and the line numbers
    that could not be read."""

    node: str
    day: str
    rel: str
    calls: tuple[Call, ...]
    bad_lines: tuple[int, ...] = ()

    @property
    def denied(self) -> int:
        """Calls the permission rules refused."""
        return sum(1 for c in self.calls if not c.allowed)


def session_logs(v: Vault) -> dict[tuple[str, str], str]:
    """(node, YYYY-MM-DD) → vault path of every readable session log (no conflict copies)."""
    out: dict[tuple[str, str], str] = {}
    base = v.path(layout.AGENTS)
    if not base.is_dir():
        return out
    for node_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        under = f"{layout.AGENTS}/{node_dir.name}/sessions"
        for rel in files.vault_files(v.root, under=under):
            m = SESSION_LOG_RE.match(rel)
            if m and not layout.is_conflict_copy(rel):
                out[(m.group(1), m.group(2))] = rel
    return out


def is_session_log(rel: str) -> bool:
    """True for a session log path (``agents/<node>/sessions/YYYY/MM/YYYY-MM-DD.jsonl``)."""
    return bool(SESSION_LOG_RE.match(rel)) and not layout.is_conflict_copy(rel)


def one_line(value: Any, limit: int = MAX_CELL) -> str:
    """``value`` as one line of text: strings as they are, anything else as compact JSON;
    whitespace runs collapsed, cut to ``limit`` characters with an ellipsis."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_call(line_no: int, text: str) -> Call | None:
    """One audit line as a :class:`Call`, or None when it is not a JSON object."""
    try:
        d = json.loads(text)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    args = d.get("args", {})
    return Call(
        line_no,
        one_line(d.get("time", ""), 40),
        one_line(d.get("client", ""), 80) or "unknown",
        one_line(d.get("tool", ""), 80),
        "" if args in ({}, None) else one_line(args),
        d.get("allowed") is not False,
        d.get("ok") is not False,
        _int(d.get("result_bytes")),
        _num(d.get("ms")),
        one_line(d.get("error") or "", 200),
    )


def read_session_day(v: Vault, node: str, day: str, rel: str) -> SessionDay:
    """Read one session log (never raises: an unreadable file is a day with no calls)."""
    text = files.read_text(v.root, rel)
    calls: list[Call] = []
    bad: list[int] = []
    for i, raw in enumerate((text or "").splitlines(), 1):
        if not raw.strip():
            continue
        call = parse_call(i, raw)
        if call is None:
            bad.append(i)
        else:
            calls.append(call)
    return SessionDay(node, day, rel, tuple(calls), tuple(bad))


def count_calls(v: Vault, rel: str) -> int:
    """Readable calls of a session log (as its page counts them), 0 when unreadable."""
    text = files.read_text(v.root, rel) or ""
    return sum(1 for i, ln in enumerate(text.splitlines(), 1) if ln.strip() and parse_call(i, ln))
