"""Open conflict copies (``name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext``) and resolving them.

A conflict copy holds the version that lost a merge (Syncthing's scheme). Resolving
one is an ordinary commit (``Vault-Kind: conflict``), so history keeps the loser:
``ours`` deletes the copy, ``theirs`` puts the copy's content in place of the
original, ``both`` keeps both as regular files (the copy is renamed to
``name-<node>-YYYYMMDD-HHMMSS.ext``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import VaultError
from ..vault import Vault, layout
from ..vault.atomic import atomic_write_bytes
from ..vault.files import walk

KEEP = ("ours", "theirs", "both")


class ConflictError(VaultError):
    """A path that is not an open conflict (or an ambiguous one)."""


@dataclass(frozen=True)
class ConflictCopy:
    """One open conflict copy: where it is, the file it belongs to, who wrote it, when (UTC)."""

    copy: str
    original: str
    node: str
    when: str

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {"copy": self.copy, "original": self.original, "node": self.node, "when": self.when}


def parse_copy(path: str) -> ConflictCopy | None:
    """Split a conflict copy's path into its parts; None for any other path."""
    c = layout.parse_conflict_copy(path)
    return ConflictCopy(c.copy, c.original, c.node, layout.iso(c.when)) if c else None


def list_conflicts(vault: Vault) -> list[ConflictCopy]:
    """Open conflict copies in the working tree, sorted by original path then time."""
    out = [c for c in (parse_copy(p) for p in walk(vault.root)) if c]
    return sorted(out, key=lambda c: (c.original, c.when, c.copy))


def find_copy(vault: Vault, path: str) -> ConflictCopy:
    """The open conflict copy named by ``path`` (the copy itself, or a file with one copy).

    Raises:
        ConflictError: no such copy, or several copies of the file (named).
    """
    return _find(vault, path)


def _find(vault: Vault, path: str) -> ConflictCopy:
    rel = _relative(vault, path)
    copy = parse_copy(rel)
    if copy:
        if not vault.path(rel).exists():
            raise ConflictError(f"{rel}: no such conflict copy")
        return copy
    matches = [c for c in list_conflicts(vault) if c.original == rel]
    if not matches:
        raise ConflictError(f"{rel} has no open conflict copies")
    if len(matches) > 1:
        raise ConflictError(
            f"{rel} has {len(matches)} conflict copies; name one: "
            + ", ".join(c.copy for c in matches)
        )
    return matches[0]


def _relative(vault: Vault, path: str) -> str:
    """A vault path from an absolute path, a path relative to the current folder, or a
    vault-relative path (tried in that order)."""
    p = Path(path)
    full = p if p.is_absolute() else Path.cwd() / p
    if full.exists() and full.resolve().is_relative_to(vault.root):
        return vault.rel(full)
    return path.strip("/")


def both_name(c: ConflictCopy) -> str:
    """The regular name a copy kept with ``--keep both`` gets: ``name-<node>-<stamp>.ext``."""
    head, _, name = c.original.rpartition("/")
    base, dot, ext = name.rpartition(".")
    if not dot or not base:
        base, ext = name, ""
    stamp = layout.parse_iso(c.when).strftime("%Y%m%d-%H%M%S")
    new = f"{base}-{c.node}-{stamp}" + (f".{ext}" if ext else "")
    return f"{head}/{new}" if head else new


def resolve(vault: Vault, path: str, keep: str) -> dict:
    """Settle one conflict copy and commit (``Vault-Kind: conflict``).

    Args:
        path: the conflict copy, or the original file when it has exactly one copy.
        keep: ``ours`` (drop the copy), ``theirs`` (the copy replaces the original),
            ``both`` (the copy becomes a regular file beside the original).
    Returns:
        ``{"copy", "original", "keep", "kept_as", "commit"}``.
    Raises:
        ConflictError: not a conflict copy, several candidates, or a bad ``keep``.
    """
    if keep not in KEEP:
        raise ConflictError(f"--keep must be one of {', '.join(KEEP)}, not {keep!r}")
    c = _find(vault, path)
    copy_p, orig_p = vault.path(c.copy), vault.path(c.original)
    kept_as = c.original
    paths = [c.copy]
    if keep == "theirs":
        atomic_write_bytes(orig_p, copy_p.read_bytes())
        paths.append(c.original)
    elif keep == "both":
        kept_as = both_name(c)
        if vault.path(kept_as).exists():
            raise ConflictError(f"{kept_as} exists; resolve by hand")
        atomic_write_bytes(vault.path(kept_as), copy_p.read_bytes())
        paths.append(kept_as)
    copy_p.unlink()
    oid = vault.commit(
        f"Resolve conflict on {c.original}: keep {keep}",
        "conflict",
        paths=paths,
        trailers=[("Vault-Conflict-Resolved", f"{c.copy} keep={keep}")],
    )
    return {"copy": c.copy, "original": c.original, "keep": keep, "kept_as": kept_as, "commit": oid}
