"""The session log: one JSON line per MCP tool call, in the node's ``sessions/`` folder.

Invariant: every tool call, allowed or denied, is appended to
``agents/<node>/sessions/YYYY/MM/YYYY-MM-DD.jsonl`` (UTC day of the call) before its
result goes back to the client, as one whole fsynced line (:meth:`Vault.append_line`:
``O_APPEND``, so processes serving several clients never interleave inside a line, and
under the vault's append lock, so no commit stages the file mid-append). The log
is committed with the next write of the same server (one commit: the note and the log
line saying who wrote it) or, for reads only, by :meth:`AuditLog.commit_pending` after
``[mcp] audit_commit_s`` seconds and when the server stops. Commits carry
``Vault-Kind: agent`` and ``Vault-Agent: <client name>``.

A line::

    {"time": "2026-11-29T20:41:07Z", "client": "claude-ai", "tool": "read",
     "args": {"path": "knowledge-base/heating.md"}, "allowed": true, "ok": true,
     "result_bytes": 812, "ms": 3.1}

Long argument values are cut to :data:`MAX_ARG_CHARS` characters (with their full
length), so a 200 kB note written by an agent is not copied into the log.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from typing import Any

from ..vault import Vault, layout

MAX_ARG_CHARS = 300
CLIENT_RE = re.compile(r"[^A-Za-z0-9._ -]+")
KIND = "agent"


def client_label(name: str | None) -> str:
    """A client name safe for a commit trailer and a log line: ``[A-Za-z0-9._ -]``, ≤ 64
    characters, ``unknown`` when empty."""
    clean = " ".join(CLIENT_RE.sub("-", name or "").split())[:64].strip(" -")
    return clean or "unknown"


def session_log_path(node: str, when: datetime) -> str:
    """``agents/<node>/sessions/YYYY/MM/YYYY-MM-DD.jsonl`` for a UTC time."""
    t = when.astimezone(UTC)
    return f"{layout.node_dir(node)}/sessions/{t:%Y/%m}/{t:%Y-%m-%d}.jsonl"


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ARG_CHARS:
        return f"{value[:MAX_ARG_CHARS]}… ({len(value)} chars)"
    if isinstance(value, dict):
        return {str(k): _short(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_short(v) for v in value[:50]]
    return value


class AuditLog:
    """Appends tool-call lines for one vault and commits them.

    Args:
        vault: the vault (its node owns the ``sessions/`` folder).
        commit_lock: held around write + log + commit so concurrent calls of one
            server never mix their files into each other's commits, and around each
            appended line, so git never stages a session log while it grows (libgit2
            fails with "failed to read file into stream"). Re-entrant: a write call
            holds it while it records its own line.
    """

    def __init__(self, vault: Vault, commit_lock: threading.RLock | None = None) -> None:
        self.vault = vault
        self.lock = commit_lock or threading.RLock()
        self._pending: dict[str, set[str]] = {}  # session log -> clients with lines in it
        self._pending_guard = threading.Lock()

    def record(
        self,
        client: str,
        tool: str,
        args: dict[str, Any],
        *,
        allowed: bool,
        ok: bool,
        result_bytes: int,
        ms: float,
        error: str | None = None,
        paths: list[str] | None = None,
        now: datetime | None = None,
    ) -> str:
        """Append one line for a call; returns the log's vault path.

        Args:
            client: the client label (see :func:`client_label`).
            tool: the tool name.
            args: the call's arguments (long strings are cut).
            allowed: False when the permission rules refused the call.
            ok: False when the call failed (denied, bad input, not found).
            result_bytes: size of the text sent back, in UTF-8 bytes.
            ms: time the call took, milliseconds.
            error: the one-line error sent to the client, if any.
            paths: vault paths the call read or wrote.
        """
        now = now or datetime.now(UTC)
        line: dict[str, Any] = {
            "time": layout.iso(now),
            "client": client,
            "tool": tool,
            "args": _short(args),
            "allowed": allowed,
            "ok": ok,
            "result_bytes": result_bytes,
            "ms": round(ms, 1),
        }
        if error:
            line["error"] = error
        if paths:
            line["paths"] = paths[:20]
        rel = session_log_path(self.vault.node, now)
        with self.lock:  # never while a commit of this process stages this file
            self.vault.append_line(rel, json.dumps(line, ensure_ascii=False))
        with self._pending_guard:
            self._pending.setdefault(rel, set()).add(client)
        return rel

    def take_pending(self) -> tuple[list[str], list[str]]:
        """(session logs appended to since the last commit, their clients); forgets them."""
        with self._pending_guard:
            paths = sorted(self._pending)
            clients = sorted(set().union(*self._pending.values())) if self._pending else []
            self._pending.clear()
            return paths, clients

    def commit(self, summary: str, client: str, paths: list[str]) -> str | None:
        """Commit ``paths`` plus the pending session logs (``Vault-Kind: agent``).

        Returns the commit id, or None when nothing changed. The caller holds
        :attr:`lock`.
        """
        logs, clients = self.take_pending()
        agents = [client] + [c for c in clients if c != client]
        return self.vault.commit(
            summary,
            KIND,
            paths=sorted(set(paths) | set(logs)),
            trailers=[("Vault-Agent", c) for c in agents],
        )

    def commit_pending(self) -> str | None:
        """Commit the session logs of read-only calls, if any (timer and shutdown).

        One ``Vault-Agent`` trailer per client with lines in the batch.
        """
        with self.lock:
            logs, clients = self.take_pending()
            if not logs:
                return None
            return self.vault.commit(
                f"Agent session log: {len(clients)} client(s)",
                KIND,
                paths=logs,
                trailers=[("Vault-Agent", c) for c in clients],
            )
