"""What an MCP client may read and write: path resolution and the ``[mcp]`` glob rules.

Invariant: every path a tool touches is first made a clean vault-relative path by
:func:`resolve_path` (no absolute paths, no ``..``, nothing in ``.git``/``.vault``, no
symlink leading outside the vault), then checked against the node's :class:`Policy`.

Rules (``agents/<node>/node.toml``)::

    [mcp]
    read = ["**", "!agents/*/local-cache/**"]
    write = ["knowledge-base/**", "agents/{node}/memory/**", "agents/{node}/sessions/**"]

are evaluated like ``.gitignore``: the **last** pattern that matches a path decides;
a ``!`` prefix makes it a deny. No match means denied. ``*`` matches inside one path
part, ``**`` any number of parts, ``?`` one character; a pattern ending in ``/`` means
everything below that folder; ``{node}`` is this node's id. The values above are the
defaults when the key is absent. Whatever the rules say, a node never writes another
node's folder (the vault's own rule, docs/architecture.md §3.1).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import RecordError, VaultError
from ..vault import layout

DEFAULT_READ = ("**", "!agents/*/local-cache/**")
DEFAULT_WRITE = ("knowledge-base/**", "agents/{node}/memory/**", "agents/{node}/sessions/**")
MAX_READ_BYTES = 64 * 1024  # what one read returns (a small model's context is 2–8 k tokens)
MAX_WRITE_BYTES = 256 * 1024  # one write_note / append_note, and a note's size after appending
URI_PREFIX = "vault://"
FORBIDDEN_TOP = (".git", layout.VAULT_DIR)
MCP_KEYS = {"read", "write", "token", "max_read_bytes", "max_write_bytes", "audit_commit_s"}


class PathError(VaultError):
    """A path that does not name a place inside the vault (``..``, absolute, symlink out)."""


class PermissionDenied(VaultError):
    """A read or write the ``[mcp]`` rules do not allow; the message names the rule."""


def resolve_path(root: Path, path: str) -> str:
    """The clean vault-relative ``/`` path for ``path`` (``vault://`` prefix allowed).

    Args:
        root: the vault root (absolute, resolved).
        path: what the client sent: ``knowledge-base/heating.md``, ``./a/b``, ``vault://a``.

    Returns:
        ``""`` for the vault root, else the path without ``.`` parts or duplicate ``/``.

    Raises:
        PathError: absolute, ``..``, NUL, backslash, ``.git``/``.vault``, or a symlink
            (anywhere on the way) whose target is outside the vault.
    """
    if not isinstance(path, str):
        raise PathError(f"path must be a string, got {type(path).__name__}")
    p = path.strip()
    if p.startswith(URI_PREFIX):
        p = p[len(URI_PREFIX) :]
    if "\x00" in p or "\\" in p:
        raise PathError(f"{path!r}: not a path inside the vault (NUL or backslash)")
    if p.startswith("/") or re.match(r"^[A-Za-z]:", p) or p.startswith("~"):
        raise PathError(f"{path!r}: absolute paths are not allowed; give a path inside the vault")
    parts = [x for x in p.split("/") if x not in ("", ".")]
    if ".." in parts:
        raise PathError(f"{path!r}: '..' is not allowed; give a path inside the vault")
    if parts and parts[0] in FORBIDDEN_TOP:
        raise PathError(f"{path!r}: {parts[0]}/ is not part of the shared memory")
    rel = "/".join(parts)
    real = Path(os.path.realpath(root / rel)) if rel else root
    if not real.is_relative_to(root):
        raise PathError(f"{path!r}: a symlink leads outside the vault")
    real_rel = real.relative_to(root).as_posix() if real != root else ""
    top = real_rel.split("/", 1)[0]
    if top in FORBIDDEN_TOP:
        raise PathError(f"{path!r}: a symlink leads into {top}/")
    return rel


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a path glob: ``**`` any parts, ``*`` within a part, ``?`` one character.

    ``a/`` means ``a/**``; ``**/x`` also matches ``x`` at the top; ``a/**`` also matches
    ``a`` itself (the folder).
    """
    if pattern.endswith("/"):
        pattern += "**"
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("^" + "".join(out) + "$")


@dataclass(frozen=True)
class Decision:
    """The verdict for one path: ``allowed``, and the ``rule`` that decided (None: no match)."""

    allowed: bool
    rule: str | None


def decide(rules: tuple[str, ...], rel: str) -> Decision:
    """The last matching rule wins; ``!pattern`` denies; no match denies."""
    verdict = Decision(False, None)
    for rule in rules:
        deny = rule.startswith("!")
        if glob_regex(rule[1:] if deny else rule).match(rel):
            verdict = Decision(not deny, rule)
    return verdict


@dataclass(frozen=True)
class Policy:
    """The ``[mcp]`` rules of one node, with ``{node}`` filled in.

    Attributes:
        node: this node's id.
        read, write: ordered glob rules (see the module docstring).
        read_source, write_source: where each rule list came from, named in errors
            (``agents/x/node.toml [mcp]`` or ``defaults``).
        max_read_bytes: a read returns at most this many bytes (then says it was cut).
        max_write_bytes: largest note content a write may send or make.
        audit_commit_s: seconds between commits of a pending session log (reads only).
    """

    node: str
    read: tuple[str, ...] = DEFAULT_READ
    write: tuple[str, ...] = DEFAULT_WRITE
    read_source: str = "defaults"
    write_source: str = "defaults"
    max_read_bytes: int = MAX_READ_BYTES
    max_write_bytes: int = MAX_WRITE_BYTES
    audit_commit_s: float = 60.0

    def __post_init__(self) -> None:
        fill = lambda rules: tuple(r.replace("{node}", self.node) for r in rules)  # noqa: E731
        object.__setattr__(self, "read", fill(self.read))
        object.__setattr__(self, "write", fill(self.write))

    def can(self, action: str, rel: str) -> bool:
        """True if ``action`` (``read``/``write``) of ``rel`` is allowed."""
        return self._decide(action, rel).allowed

    def _decide(self, action: str, rel: str) -> Decision:
        rules = self.read if action == "read" else self.write
        d = decide(rules, rel)
        if action == "write" and d.allowed:
            parts = rel.split("/")
            if parts[0] == layout.AGENTS and len(parts) > 2 and parts[1] != self.node:
                return Decision(False, f"only node {parts[1]} writes agents/{parts[1]}/")
        return d

    def check(self, action: str, rel: str) -> None:
        """Raise unless ``action`` of ``rel`` is allowed.

        Raises:
            PermissionDenied: naming the path, the deciding rule and where rules are set.
        """
        d = self._decide(action, rel)
        if d.allowed:
            return
        shown = rel or "(vault root)"
        source = self.read_source if action == "read" else self.write_source
        if d.rule is None:
            rules = self.read if action == "read" else self.write
            raise PermissionDenied(
                f"{action} denied: {shown} matches none of [mcp] {action} = {list(rules)} "
                f"({source})"
            )
        if d.rule.startswith("only node"):
            raise PermissionDenied(f"{action} denied: {shown}: {d.rule}")
        raise PermissionDenied(
            f"{action} denied: {shown} matches rule '{d.rule}' of [mcp] {action} ({source})"
        )


def _rules(section: dict[str, Any], key: str, rel: str, default: tuple[str, ...]):
    if key not in section:
        return default
    val = section[key]
    if not isinstance(val, list) or not all(isinstance(x, str) and x.strip() for x in val):
        raise RecordError(rel, 0, f"[mcp] {key} must be a list of path globs (strings)")
    return tuple(x.strip() for x in val)


def _positive(section: dict[str, Any], key: str, rel: str, default: float) -> float:
    val = section.get(key, default)
    if isinstance(val, bool) or not isinstance(val, int | float) or val <= 0:
        raise RecordError(rel, 0, f"[mcp] {key} must be a positive number, got {val!r}")
    return val


def policy_from_config(node: str, config: dict[str, Any], rel: str = "node.toml") -> Policy:
    """The :class:`Policy` of ``node`` from its parsed node.toml (defaults when absent).

    Raises:
        RecordError: ``[mcp]`` is not a table, an unknown key, a rule list that is not
            a list of strings, or a size that is not a positive number (naming ``rel``).
    """
    section = config.get("mcp", {})
    if not isinstance(section, dict):
        raise RecordError(rel, 0, "'mcp' must be a table ([mcp])")
    unknown = sorted(set(section) - MCP_KEYS)
    if unknown:
        raise RecordError(
            rel, 0, f"[mcp] has unknown key(s) {', '.join(unknown)}; known: {sorted(MCP_KEYS)}"
        )
    return Policy(
        node=node,
        read=_rules(section, "read", rel, DEFAULT_READ),
        write=_rules(section, "write", rel, DEFAULT_WRITE),
        read_source=f"{rel} [mcp]" if "read" in section else "defaults",
        write_source=f"{rel} [mcp]" if "write" in section else "defaults",
        max_read_bytes=int(_positive(section, "max_read_bytes", rel, MAX_READ_BYTES)),
        max_write_bytes=int(_positive(section, "max_write_bytes", rel, MAX_WRITE_BYTES)),
        audit_commit_s=float(_positive(section, "audit_commit_s", rel, 60.0)),
    )
