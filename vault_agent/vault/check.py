"""``vault check``: validate files against their schemas and the layout rules.

Validation works on (path, bytes) pairs so the same rules check the working tree
(``vault check``) and the git index (the pre-commit hook, ``--staged``). Nothing is
ever rewritten: each problem is reported as ``path:line: problem``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RecordError, SchemaVersionError
from . import layout
from .config import validate_node_config, validate_vault_toml
from .records import parse_markdown, parse_observation, parse_rollup_line
from .repo import MAX_FILE_BYTES

TEXT_SUFFIXES = {".md", ".json", ".jsonl", ".toml", ".txt", ".yml", ".yaml", ".csv"}


@dataclass(frozen=True)
class Problem:
    """One finding: vault path, 1-based line (0 = whole file), message."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"

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
        if r.start[:10] != day:
            yield Problem(rel, i, f"rollup starting {r.start} in the file of day {day}")
    if text and not text.endswith("\n"):
        yield Problem(rel, text.count("\n") + 1, "last line is not newline-terminated (torn write)")


def check_content(rel: str, data: bytes) -> list[Problem]:
    """Validate one file's content by its kind (see :func:`layout.classify`)."""
    info = layout.classify(rel)
    parts = rel.split("/")
    name = parts[-1]
    out: list[Problem] = []
    if parts[0] == layout.AGENTS and len(parts) > 2:
        try:
            layout.validate_node(parts[1])
        except Exception as e:  # noqa: BLE001 - reported, not raised
            return [Problem(rel, 0, f"folder agents/{parts[1]}: {e}")]
    if info.kind in ("ignored", "conflict-copy"):
        return out
    suffix = Path(name).suffix.lower()
    if info.kind in ("knowledge", "other") and suffix not in TEXT_SUFFIXES:
        return out  # images, PDFs… are fine as they are
    text, problem = _decode(rel, data)
    if problem:
        return [problem]
    assert text is not None
    try:
        if info.kind == "vault-config":
            import tomllib
            try:
                validate_vault_toml(tomllib.loads(text), rel)
            except tomllib.TOMLDecodeError as e:
                out.append(Problem(rel, getattr(e, "lineno", 0) or 0, f"invalid TOML: {e}"))
            except SchemaVersionError as e:
                out.append(Problem(rel, 0, str(e).split(": ", 1)[-1]))
        elif info.kind == "node-config":
            import tomllib
            try:
                data_ = tomllib.loads(text)
                validate_node_config(data_, info.node or "", rel)
                out += _check_sensors_config(rel, data_)
            except tomllib.TOMLDecodeError as e:
                out.append(Problem(rel, getattr(e, "lineno", 0) or 0, f"invalid TOML: {e}"))
        elif info.kind == "rollup":
            if not layout.ROLLUP_NAME_RE.match(name):
                out.append(Problem(rel, 0, "rollup file name must be YYYY-MM-DD.jsonl"))
            else:
                out += check_rollups(rel, text, info.node or "")
        elif info.kind in ("observation", "memory"):
            if suffix == ".md":
                m = layout.OBSERVATION_NAME_RE.match(name)
                if not m:
                    out.append(Problem(rel, 0, "name must be <stamp>-<node>-<seq>-<slug>.md"))
                obs = parse_observation(text, rel)
                if obs.node != info.node:
                    out.append(Problem(rel, 1, f"written by node {obs.node!r} in the folder of {info.node!r}"))
        elif info.kind == "shared-json":
            try:
                d = json.loads(text)
                if not isinstance(d, dict):
                    out.append(Problem(rel, 1, "shared-memory file must hold a JSON object"))
            except json.JSONDecodeError as e:
                out.append(Problem(rel, e.lineno, f"invalid JSON: {e.msg}"))
        elif info.kind == "interaction":
            if suffix == ".md":
                if not layout.INTERACTION_NAME_RE.match(name):
                    out.append(Problem(rel, 0, "name must be <stamp>-<node>-<slug>.md"))
                parse_markdown(text, rel)
        elif suffix == ".md":
            parse_markdown(text, rel)
    except RecordError as e:
        out.append(_from_error(e))
    return out


def _check_sensors_config(rel: str, data: dict) -> list[Problem]:
    try:
        from ..sensors.config import validate_sensors  # owned by the sensors package
    except ImportError:
        return []
    try:
        validate_sensors(data.get("sensors", []), rel)
    except RecordError as e:
        return [_from_error(e)]
    return []


def check_path(root: Path, rel: str) -> list[Problem]:
    """Validate one working-tree file (size, symlinks, content)."""
    p = root / rel
    if p.is_symlink():
        target = os.path.realpath(p)
        if not Path(target).is_relative_to(root.resolve()):
            return [Problem(rel, 0, f"symlink points outside the vault ({os.readlink(p)})")]
        return []
    if not p.is_file():
        return []
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        return [Problem(rel, 0, f"file is {size / 1e6:.0f} MB, over the "
                                f"{MAX_FILE_BYTES / 2**20:.0f} MiB limit; it is not committed or indexed")]
    return check_content(rel, p.read_bytes())


def walk(root: Path) -> Iterator[str]:
    """Vault paths of every file except .git/, .vault/ and local-cache/."""
    for dirpath, dirnames, filenames in os.walk(root):
        relp = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", layout.VAULT_DIR, layout.LOCAL_CACHE)
                             and not (relp == "." and d.startswith(".")))
        for f in sorted(filenames):
            if f.endswith(".tmp"):
                continue
            yield f if relp == "." else f"{relp}/{f}"


def check_tree(root: Path, paths: Iterable[str] | None = None) -> list[Problem]:
    """Validate the working tree (or only ``paths``, files or folders)."""
    root = Path(root).resolve()
    if paths:
        rels: list[str] = []
        for p in paths:
            full = (Path.cwd() / p).resolve() if not Path(p).is_absolute() else Path(p)
            try:
                rp = full.relative_to(root).as_posix() if full.is_relative_to(root) else p
            except ValueError:
                rp = p
            if (root / rp).is_dir():
                rels += [x for x in walk(root) if x.startswith(rp.rstrip("/") + "/") or rp == "."]
            else:
                rels.append(rp)
    else:
        rels = list(walk(root))
    out = []
    for rel in rels:
        out += check_path(root, rel)
    return out


def check_index(repo) -> list[Problem]:
    """Validate the staged content of the git index (for the pre-commit hook)."""
    out = []
    repo.index.read()
    for entry in repo.index:
        blob = repo[entry.id]
        if entry.mode == 0o120000:
            continue
        if blob.size > MAX_FILE_BYTES:
            out.append(Problem(entry.path, 0, "file over the size limit"))
            continue
        out += check_content(entry.path, blob.data)
    return out
