"""``vault check``: validate files against their schemas and the layout rules.

Validation works on (path, bytes) pairs so the same rules check the working tree
(``vault check``) and the git index (the pre-commit hook, ``--staged``). Nothing is
ever rewritten: each problem is reported as ``path:line: problem``.
"""

from __future__ import annotations

import json
import os
import posixpath
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2

from ..errors import InvalidNodeNameError, RecordError, SchemaVersionError
from . import layout
from . import repo as git
from .config import toml_error, validate_node_config, validate_vault_toml
from .files import (
    gitignore_template,
    layout_problem,
    max_file_bytes,
    name_problem,
    shown,
    too_big_message,
    top_level_problems,
    walk,
)
from .records import parse_markdown, parse_observation, parse_rollup_line

__all__ = ["Problem", "check_content", "check_path", "check_staged", "check_tree", "walk"]

TEXT_SUFFIXES = {".md", ".json", ".jsonl", ".toml", ".txt", ".yml", ".yaml", ".csv"}
SYMLINK_MODE = 0o120000


@dataclass(frozen=True)
class Problem:
    """One finding: vault path, 1-based line (0 = whole file), message."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {"path": self.path, "line": self.line, "message": self.message}


def _from_error(e: RecordError) -> Problem:
    return Problem(e.path, e.line, e.problem)


def _decode(rel: str, data: bytes) -> tuple[str | None, Problem | None]:
    if b"\x00" in data[:8192]:
        return None, Problem(rel, 0, "binary file where text is expected")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, Problem(rel, line, f"not valid UTF-8 (byte {e.start})")


def check_rollups(rel: str, text: str, node: str) -> Iterator[Problem]:
    """Each line parses, belongs to ``node`` and to the file's day."""
    day = rel.rsplit("/", 1)[-1][:10]
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = parse_rollup_line(line, rel, i)
        except RecordError as e:
            yield _from_error(e)
            continue
        if r.node != node:
            yield Problem(rel, i, f"rollup of node {r.node!r} in the folder of node {node!r}")
        if r.day.isoformat() != day:
            yield Problem(rel, i, f"rollup starting {r.start} in the file of day {day}")
    if text and not text.endswith("\n"):
        yield Problem(rel, text.count("\n") + 1, "last line is not newline-terminated (torn write)")


def _check_dated_folder(rel: str, yyyy: str, mm: str, sep: str = "/") -> list[Problem]:
    """A dated file must sit in its ``YYYY/MM`` (or ``YYYY-MM``) folder."""
    want = f"{yyyy}{sep}{mm}"
    folder = rel.rsplit("/", 1)[0]
    if not folder.endswith("/" + want):
        return [Problem(rel, 0, f"file of {yyyy}-{mm} belongs in a folder ending {want}/")]
    return []


def _check_vault_toml(rel: str, text: str) -> list[Problem]:
    try:
        validate_vault_toml(tomllib.loads(text), rel)
    except tomllib.TOMLDecodeError as e:
        return [_from_error(toml_error(rel, e))]
    except SchemaVersionError as e:
        return [Problem(rel, 0, str(e).split(": ", 1)[-1])]
    return []


def _check_node_toml(rel: str, text: str, node: str) -> list[Problem]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return [_from_error(toml_error(rel, e))]
    validate_node_config(data, node, rel)
    return _check_sensors_config(rel, data)


def _check_observation(rel: str, name: str, text: str, node: str) -> list[Problem]:
    out = []
    m = layout.OBSERVATION_NAME_RE.match(name)
    if not m:
        out.append(Problem(rel, 0, "name must be <stamp>-<node>-<seq>-<slug>.md"))
    elif m.group(2) != node:
        out.append(Problem(rel, 0, f"name carries node {m.group(2)!r} in the folder of {node!r}"))
    obs = parse_observation(text, rel)
    if obs.node != node:
        out.append(Problem(rel, 1, f"written by node {obs.node!r} in the folder of {node!r}"))
    if m and "/observations/" in rel:
        out += _check_dated_folder(rel, m.group(1)[:4], m.group(1)[4:6])
    return out


# A validator checks one decoded file of its kind: (vault path, file name, lower-case
# suffix, text, owning node or "") -> problems; RecordError is turned into a problem.
Validator = Callable[[str, str, str, str, str], list[Problem]]


def _v_vault_toml(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    return _check_vault_toml(rel, text)


def _v_node_toml(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    return _check_node_toml(rel, text, node)


def _v_rollup(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    m = layout.ROLLUP_NAME_RE.match(name)
    if not m:
        return [Problem(rel, 0, "rollup file name must be YYYY-MM-DD.jsonl")]
    return _check_dated_folder(rel, m.group(1), m.group(2)) + list(check_rollups(rel, text, node))


def _v_note(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    return _check_observation(rel, name, text, node) if suffix == ".md" else []


def _v_daily(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    if suffix != ".md":
        return _v_markdown(rel, name, suffix, text, node)
    m = layout.DAILY_NAME_RE.match(name)
    out = (
        _check_dated_folder(rel, m.group(1), m.group(2))
        if m
        else [Problem(rel, 0, "day note name must be YYYY-MM-DD.md")]
    )
    parse_markdown(text, rel)
    return out


def _v_shared_json(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        return [Problem(rel, e.lineno, f"invalid JSON: {e.msg}")]
    return (
        []
        if isinstance(d, dict)
        else [Problem(rel, 1, "shared-memory file must hold a JSON object")]
    )


def _v_interaction(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    if suffix != ".md":
        return []
    m = layout.INTERACTION_NAME_RE.match(name)
    out = (
        _check_dated_folder(rel, m.group(1)[:4], m.group(1)[4:6], "-")
        if m
        else [Problem(rel, 0, "name must be <stamp>-<node>-<slug>.md")]
    )
    parse_markdown(text, rel)
    return out


def _v_markdown(rel: str, name: str, suffix: str, text: str, node: str) -> list[Problem]:
    if suffix == ".md":
        parse_markdown(text, rel)
    return []


VALIDATORS: dict[layout.PathKind, Validator] = {
    layout.PathKind.VAULT_CONFIG: _v_vault_toml,
    layout.PathKind.NODE_CONFIG: _v_node_toml,
    layout.PathKind.ROLLUP: _v_rollup,
    layout.PathKind.OBSERVATION: _v_note,
    layout.PathKind.MEMORY: _v_note,
    layout.PathKind.DAILY: _v_daily,
    layout.PathKind.SHARED_JSON: _v_shared_json,
    layout.PathKind.INTERACTION: _v_interaction,
}
"""Content rules by path kind; any other kind only needs its Markdown to parse."""


def _check_root_gitignore(data: bytes) -> list[Problem]:
    """The root ``.gitignore`` must hold the content every vault is created with.

    Peers accept no other (docs/sync.md, "What a node never accepts"); a local rule
    would hide files from commit and sync, and peers would put the template back.
    """
    template = gitignore_template()
    if template is None or data == template:
        return []
    return [
        Problem(
            ".gitignore",
            0,
            "the vault's .gitignore is its own (peers refuse changes to it); restore it "
            "with `git checkout -- .gitignore`",
        )
    ]


def check_content(rel: str, data: bytes) -> list[Problem]:
    """Validate one file's content by its kind (:func:`layout.classify`, :data:`VALIDATORS`)."""
    info = layout.classify(rel)
    parts = rel.split("/")
    name = parts[-1]
    if rel == ".gitignore":
        return _check_root_gitignore(data)
    if parts[0] == layout.AGENTS and len(parts) > 2:
        try:
            layout.validate_node(parts[1])
        except InvalidNodeNameError as e:
            return [Problem(rel, 0, f"folder agents/{parts[1]}: {e}")]
    if info.kind in (layout.PathKind.IGNORED, layout.PathKind.CONFLICT_COPY):
        return []
    suffix = Path(name).suffix.lower()
    if info.kind in (layout.PathKind.KNOWLEDGE, layout.PathKind.OTHER) and (
        suffix not in TEXT_SUFFIXES
    ):
        return []  # images, PDFs… are fine as they are
    text, problem = _decode(rel, data)
    if problem:
        return [problem]
    assert text is not None
    validate = VALIDATORS.get(info.kind, _v_markdown)
    try:
        return validate(rel, name, suffix, text, info.node or "")
    except RecordError as e:
        return [_from_error(e)]


NodeConfigValidator = Callable[[dict, str], None]
"""``(node.toml data, vault path) -> None``; raises RecordError naming the problem."""

NODE_CONFIG_VALIDATORS: list[NodeConfigValidator] = []
"""Validators of node.toml sections owned by packages above the core (the sensors
package's ``[[sensors]]`` schema). ``vault_agent/__init__.py`` registers them at import,
so every process that checks a file has them; the core imports no feature package."""


def _check_sensors_config(rel: str, data: dict) -> list[Problem]:
    for validate in NODE_CONFIG_VALIDATORS:
        try:
            validate(data, rel)
        except RecordError as e:
            return [_from_error(e)]
    return []


def _too_big(rel: str, size: int, limit: int) -> Problem:
    return Problem(rel, 0, f"{too_big_message(size, limit)}; it is not committed or indexed")


def name_problems(rel: str) -> list[Problem]:
    """A name that is not UTF-8 or reserved, or a path outside the layout (peers refuse it)."""
    problem = name_problem(rel) or layout_problem(rel)
    return [Problem(shown(rel), 0, problem)] if problem else []


def check_path(root: Path, rel: str, limit: int | None = None) -> list[Problem]:
    """Validate one working-tree file (name, layout, symlinks, size, content).

    A file over the size limit (``limit`` bytes, default :func:`max_file_bytes`) is
    reported from its size alone, never read. Every symlink is reported: the index,
    the site and sync never follow one, and peers refuse it.
    """
    out = name_problems(rel)
    if out and name_problem(rel):
        return out
    p = root / rel
    if p.is_symlink():
        target = os.path.realpath(p)
        if not Path(target).is_relative_to(root.resolve()):
            msg = f"symlink points outside the vault ({os.readlink(p)}); "
        else:
            msg = f"symlink ({os.readlink(p)}); "
        return out + [
            Problem(rel, 0, msg + "it is not committed, indexed or published, and peers refuse it")
        ]
    if not p.exists():
        return out + [Problem(rel, 0, "no such file")]
    if not p.is_file():
        return out
    size = p.stat().st_size
    limit = max_file_bytes(root) if limit is None else limit
    if size > limit:
        return out + [_too_big(rel, size, limit)]
    return out + check_content(rel, p.read_bytes())


def ignored_problems(root: Path) -> list[Problem]:
    """Files git ignores inside the synced folders (a rule hides them from commit and sync).

    The vault's own rules (``.vault/``, ``agents/*/local-cache/``, ``*.tmp``) are expected
    and not reported.
    """
    try:
        repo = pygit2.Repository(str(root))
        status = repo.status(untracked_files="all", ignored=True)
    except (pygit2.GitError, TypeError):
        return []
    out = []
    for rel, flags in sorted(status.items()):
        if not flags & pygit2.enums.FileStatus.IGNORED or rel.endswith((".tmp", "/")):
            continue
        if layout.classify(rel).kind == layout.PathKind.IGNORED or rel.split("/")[0].startswith(
            "."
        ):
            continue
        out.append(
            Problem(
                rel,
                0,
                "git ignores this file (a .gitignore or .git/info/exclude rule): it is "
                "never committed or synced",
            )
        )
    return out


def _to_rel(root: Path, given: str) -> str | None:
    """The vault path of a path given relative to the cwd (or, failing that, to the vault
    root, as ``vault check --vault DIR agents/x`` and vault-relative callers give it), or None.
    """
    full = Path(os.path.abspath(given))
    for cand in (full, full.parent.resolve() / full.name):
        if cand.is_relative_to(root):
            rel = cand.relative_to(root).as_posix()
            return "." if rel in ("", ".") else rel
    inside = Path(os.path.normpath(root / given))
    if (
        not Path(given).is_absolute()
        and inside.is_relative_to(root)
        and (inside.exists() or inside.is_symlink())
    ):
        return inside.relative_to(root).as_posix() or "."
    return None


def check_tree(root: Path, paths: Iterable[str] | None = None) -> list[Problem]:
    """Validate the working tree (or only ``paths``: files or folders, relative to the cwd
    or to the vault root).

    A given path outside the vault or missing is itself reported as a problem.
    """
    root = Path(root).resolve()
    limit = max_file_bytes(root)
    if paths:
        out: list[Problem] = []
        rels: list[str] = []
        for given in paths:
            rel = _to_rel(root, given)
            if rel is None:
                out.append(Problem(given, 0, f"not inside the vault {root}"))
            elif rel == "." or ((root / rel).is_dir() and not (root / rel).is_symlink()):
                rels += [x for x in walk(root) if rel == "." or x.startswith(rel + "/")]
            else:
                rels.append(rel)
    else:
        out, rels = whole_tree_problems(root), list(walk(root))
    for rel in dict.fromkeys(rels):
        out += check_path(root, rel, limit)
    return out


def whole_tree_problems(root: Path) -> list[Problem]:
    """Problems only a whole-tree check sees: hidden top-level entries outside the layout
    (the walk skips them) and files git ignores (:func:`ignored_problems`)."""
    out = [Problem(n, 0, why) for n, why in top_level_problems(root) if n.startswith(".")]
    return out + ignored_problems(root)


def _symlink_problem(rel: str, target: bytes) -> Problem:
    """A staged symlink (blob text: its target): peers refuse every symlink."""
    t = target.decode("utf-8", "replace")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), t))
    if t.startswith("/") or joined == ".." or joined.startswith("../"):
        return Problem(rel, 0, f"symlink points outside the vault ({t})")
    return Problem(rel, 0, f"symlink ({t}); peers refuse symlinks, commit the file itself")


def check_staged(repo: pygit2.Repository, index_file: str | Path | None = None) -> list[Problem]:
    """Validate the staged files that differ from HEAD (what the next commit changes).

    Args:
        repo: the vault's repository.
        index_file: the index to read; default ``$GIT_INDEX_FILE`` (git sets it for the
            pre-commit hook, e.g. a temporary index for ``git commit -a``) or the
            repository's own index.

    Files unchanged since HEAD are skipped, so the hook stays fast in a big vault.
    A deleted file is only checked against rule §3.1 (:func:`check_deletion`). Sizes come
    from object headers: a big blob is never read.
    Names (UTF-8, reserved), the layout, symlinks and the size limit are checked as on merge.
    """
    index_file = index_file or os.environ.get("GIT_INDEX_FILE")
    if index_file:
        base = Path(repo.workdir) if repo.workdir else Path.cwd()
        index = pygit2.Index(str(base / index_file))
    else:
        index = repo.index
        index.read()
    head = None if repo.head_is_unborn else repo.head.peel(pygit2.Commit).tree
    limit = max_file_bytes(repo.workdir)
    out = []
    staged: set[str] = set()
    for entry in index:
        staged.add(entry.path)
        if head is not None:
            try:
                if head[entry.path].id == entry.id:
                    continue
            except KeyError:
                pass
        named = name_problems(entry.path)
        out += named
        if named and name_problem(entry.path):
            continue
        _, size = repo.odb.read_header(entry.id)
        if size > limit:
            out.append(_too_big(entry.path, size, limit))
            continue
        data = git.blob_data(repo, entry.id)
        if entry.mode == SYMLINK_MODE:
            out.append(_symlink_problem(entry.path, data))
            continue
        out += check_content(entry.path, data)
        old = _head_blob(repo, head, entry.path)
        if old is not None:
            out += check_change(entry.path, old, data)
    return out + _staged_deletions(head, staged)


def _staged_deletions(head: pygit2.Tree | None, staged: set[str]) -> list[Problem]:
    """:func:`check_deletion` for each file under ``agents/`` in HEAD the index lacks."""
    if head is None or layout.AGENTS not in head:
        return []
    out: list[Problem] = []
    stack = [(layout.AGENTS, head[layout.AGENTS])]
    while stack:
        prefix, obj = stack.pop()
        if not isinstance(obj, pygit2.Tree):
            continue
        for child in obj:
            rel = f"{prefix}/{child.name}"
            if isinstance(child, pygit2.Tree):
                stack.append((rel, child))
            elif rel not in staged:
                out += check_deletion(rel)
    return out


def _head_blob(repo: pygit2.Repository, tree, rel: str) -> bytes | None:
    """The bytes of ``rel`` in ``tree`` (HEAD), or None if absent or not a file."""
    if tree is None:
        return None
    try:
        obj = repo[tree[rel].id]
    except KeyError:
        return None
    return obj.data if isinstance(obj, pygit2.Blob) else None


def check_change(rel: str, old: bytes, new: bytes) -> list[Problem]:
    """Rule §3.1 (docs/architecture.md) for a change of a committed file: rollups
    append-only, notes immutable.

    Peers refuse such commits when they merge, so they are stopped before they are made.
    """
    if old == new:
        return []
    kind = layout.classify(rel).kind
    if kind == layout.PathKind.ROLLUP and not new.startswith(old):
        common = 0
        for a, b in zip(old, new, strict=False):
            if a != b:
                break
            common += 1
        line = old[:common].count(b"\n") + 1
        return [
            Problem(
                rel,
                line,
                "rollup files are append-only: this change rewrites "
                "committed lines; add new lines at the end instead",
            )
        ]
    if kind in (layout.PathKind.OBSERVATION, layout.PathKind.MEMORY) and rel.endswith(".md"):
        return [
            Problem(
                rel,
                0,
                "observations are immutable once committed; write a new "
                "note with 'supersedes: <id>' instead",
            )
        ]
    return []


def check_deletion(rel: str) -> list[Problem]:
    """Rule §3.1 for the deletion of a committed file: rollups and notes are never deleted.

    Peers refuse such a deletion when they merge (``sync/merge.py``), so it is stopped
    before it is committed.
    """
    kind = layout.classify(rel).kind
    if kind in layout.APPEND_ONLY_KINDS:
        why = "rollup files are append-only: a committed one is never deleted"
    elif kind in layout.IMMUTABLE_KINDS:
        why = "observations and memory notes are immutable: a committed one is never deleted"
    else:
        return []
    return [Problem(rel, 0, f"{why}; restore it with `git checkout -- {rel}`")]


def check_worktree_changes(repo: pygit2.Repository, rels: Iterable[str]) -> list[Problem]:
    """:func:`check_change` and :func:`check_deletion` for working-tree paths against HEAD
    (``vault commit``, the commit before sync)."""
    if repo.head_is_unborn:
        return []
    head = repo.head.peel(pygit2.Commit).tree
    root = Path(repo.workdir)
    out = []
    for rel in rels:
        p = root / rel
        if not p.exists() and not p.is_symlink():
            if _head_blob(repo, head, rel) is not None:
                out += check_deletion(rel)
            continue
        if p.is_symlink() or not p.is_file() or p.stat().st_size > max_file_bytes(root):
            continue
        old = _head_blob(repo, head, rel)
        if old is not None:
            out += check_change(rel, old, p.read_bytes())
    return out


def check_tree_cached(root: Path, cache_file: Path) -> list[Problem]:
    """:func:`check_tree` of the whole tree, re-checking only files whose size or mtime changed.

    The cache (``.vault/check-cache.json``, derived, safe to delete) maps a vault path
    to ``[size, mtime_ns, problems]``; ``vault status`` uses it to stay fast.
    """
    from .atomic import atomic_write_text

    root = Path(root).resolve()
    try:
        cache = json.loads(Path(cache_file).read_text())
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    fresh: dict[str, list] = {}
    out: list[Problem] = whole_tree_problems(root)
    limit = max_file_bytes(root)
    for rel in walk(root):
        try:
            st = (root / rel).lstat()
        except OSError:
            continue
        hit = cache.get(rel)
        if isinstance(hit, list) and len(hit) == 3 and hit[:2] == [st.st_size, st.st_mtime_ns]:
            found = [Problem(rel, int(line), str(msg)) for line, msg in hit[2]]
        else:
            found = check_path(root, rel, limit)
        fresh[rel] = [st.st_size, st.st_mtime_ns, [[p.line, p.message] for p in found]]
        out += found
    if fresh != cache:
        atomic_write_text(Path(cache_file), json.dumps(fresh, separators=(",", ":")))
    return out
