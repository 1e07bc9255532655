"""Incremental planning: which vault files changed since the last site build.

Planning is separate from doing (basic-memory's change report): :func:`changed_paths`
returns vault paths; the builder maps them to pages. The last build remembers the
commit it was built from and the uncommitted paths it saw, so a file that was
uncommitted then and has since been reverted is still looked at again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pygit2

from ..vault.files import is_utf8_name

PLAN_VERSION = 4  # bump when generated pages change shape: forces a full rebuild


@dataclass(frozen=True)
class Plan:
    """What to rebuild. ``full`` rebuilds every page; otherwise ``changed`` vault paths
    (committed since ``base`` plus uncommitted now and at the last build) are rebuilt."""

    full: bool
    reason: str
    changed: frozenset[str] = frozenset()
    head: str | None = None


def template_hash(site_dir: Path) -> str:
    """A hash of the site template folder and the page generator version.

    A change to the MkDocs template, overrides, CSS or a page template makes every
    page stale.
    """
    h = hashlib.sha256(f"plan-{PLAN_VERSION}".encode())
    for p in sorted(site_dir.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(site_dir).as_posix().encode())
            h.update(p.read_bytes())
    from .render import template_texts

    for name, data in template_texts():
        h.update(name.encode())
        h.update(data)
    try:
        from importlib.metadata import version

        h.update(version("mkdocs-material").encode())
    except Exception:  # noqa: BLE001 - metadata missing only in odd installs
        pass
    return h.hexdigest()


def diff_paths(repo: pygit2.Repository, old: str, new: str | None) -> set[str]:
    """Paths that differ between two commits (both sides of renames).

    Raises:
        KeyError / ValueError: ``old`` is not a commit in this repository.
    """
    a = repo.revparse_single(old).peel(pygit2.Commit)
    if new is None:
        return set()
    b = repo.revparse_single(new).peel(pygit2.Commit)
    if a.id == b.id:
        return set()
    diff = repo.diff(a.tree, b.tree)
    out: set[str] = set()
    for d in diff.deltas:
        out.add(d.new_file.path)
        out.add(d.old_file.path)
    return {p for p in out if is_utf8_name(p)}  # a non-UTF-8 name is never read


def uncommitted(repo: pygit2.Repository) -> set[str]:
    """Working-tree paths that differ from HEAD (new, modified, deleted; not ignored)."""
    ignored = pygit2.GIT_STATUS_IGNORED
    return {
        p for p, flags in repo.status().items() if flags and flags != ignored and is_utf8_name(p)
    }


def make_plan(
    repo: pygit2.Repository, state: dict | None, template: str, out_dir: str, clean: bool
) -> Plan:
    """Decide between a full and an incremental build.

    A full build happens when asked (``clean``), on the first build, when the template
    or generator changed, when the output folder changed, or when the last built commit
    is no longer in the repository (history rewritten).
    """
    head = None if repo.head_is_unborn else str(repo.head.target)
    now_pending = uncommitted(repo)
    if clean:
        return Plan(True, "--clean", frozenset(now_pending), head)
    if not state:
        return Plan(True, "first build", frozenset(now_pending), head)
    if state.get("template") != template:
        return Plan(True, "site template changed", frozenset(now_pending), head)
    if state.get("out") != out_dir:
        return Plan(True, "output folder changed", frozenset(now_pending), head)
    base = state.get("commit")
    changed = set(now_pending) | set(state.get("pending", []))
    if base:
        try:
            changed |= diff_paths(repo, base, head)
        except (KeyError, ValueError, pygit2.GitError):
            return Plan(
                True, f"last built commit {base[:10]} not found", frozenset(now_pending), head
            )
    elif head:
        return Plan(True, "first commit since last build", frozenset(now_pending), head)
    return Plan(False, "incremental", frozenset(changed), head)
