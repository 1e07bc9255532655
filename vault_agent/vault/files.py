"""The vault's files as readers may see them: one iterator, one name rule, one size limit.

Invariant: a reader (index, site, ask, ``vault check``) never follows a symlink, never
reads a file over the vault's size limit and never fails on a name it cannot decode;
each such file is skipped and reported (once per process and reason, as a log line).
The same name and layout rules decide what ``vault check`` and commit refuse and what
a merge refuses from a peer (:mod:`vault_agent.sync.merge`).

- :func:`walk`: every vault path (symlinks and odd names included) for ``vault check``;
- :func:`vault_files`: the regular files a reader may open;
- :func:`read_problem` / :func:`read_bytes`: the same decision for one path;
- :func:`name_problem`: names that are not UTF-8 or are reserved on common file systems
  (Windows: ``CON``, ``NUL``… with any extension, a trailing dot or space, the characters
  ``<>:"/\\|?*`` and control characters; Microsoft, "Naming Files, Paths, and Namespaces");
- :func:`layout_problem`: top-level entries outside the layout and git's control files
  (``.gitignore``, ``.gitattributes``, ``.gitmodules``), which only the vault writes;
- :func:`max_file_bytes`: ``[limits] max_file_mb`` of ``vault.toml`` (default 10 MiB).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

from . import layout

log = logging.getLogger("vault_agent.vault")

DEFAULT_MAX_FILE_MB = 10
TOP_LEVEL = frozenset(
    {
        "vault.toml",
        layout.SHARED,
        layout.AGENTS,
        layout.KNOWLEDGE,
        layout.INTERACTIONS,
        ".gitignore",
    }
)
README_RE = re.compile(r"^README(\.[A-Za-z0-9]+)?$")
GIT_CONTROL = frozenset({".gitignore", ".gitattributes", ".gitmodules"})
RESERVED_RE = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.IGNORECASE)
BAD_CHARS_RE = re.compile(r'[<>:"\\|?*\x00-\x1f]')
NEVER_WALKED = (".git", layout.VAULT_DIR, layout.LOCAL_CACHE)
_reported: set[tuple[str, str]] = set()
_limits: dict[tuple[str, int, int], int] = {}  # vault.toml (path, mtime_ns, size) -> bytes


def gitignore_template() -> bytes | None:
    """The root ``.gitignore`` every vault is created with (``vault_template/.gitignore``)."""
    from ..resources import project_path

    try:
        return (project_path("vault_template") / ".gitignore").read_bytes()
    except OSError:
        return None


def max_file_bytes(root: Path | str | None) -> int:
    """The per-file size limit in bytes: ``[limits] max_file_mb`` of ``<root>/vault.toml``.

    One limit for commit, merge, indexing and the site. Default
    :data:`DEFAULT_MAX_FILE_MB` MiB; an unreadable or invalid value gives the default.
    """
    if root is None:
        return DEFAULT_MAX_FILE_MB * 2**20
    path = Path(root) / "vault.toml"
    try:
        st = path.stat()
    except OSError:
        return DEFAULT_MAX_FILE_MB * 2**20
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _limits:
        _limits[key] = _read_limit(path)
    return _limits[key]


def _read_limit(path: Path) -> int:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        mb = data.get("limits", {}).get("max_file_mb", DEFAULT_MAX_FILE_MB)
    except (OSError, ValueError, AttributeError):
        mb = DEFAULT_MAX_FILE_MB
    if isinstance(mb, bool) or not isinstance(mb, int | float) or mb <= 0:
        mb = DEFAULT_MAX_FILE_MB
    return int(mb * 2**20)


def too_big_message(size: int, limit: int) -> str:
    """``file is 12 MB, over the 10 MiB limit ([limits] max_file_mb in vault.toml)``."""
    return (
        f"file is {size / 1e6:.0f} MB, over the {limit / 2**20:.0f} MiB limit "
        "([limits] max_file_mb in vault.toml)"
    )


def shown(rel: str) -> str:
    """``rel`` printable: bytes of a non-UTF-8 name as ``\\xe9`` escapes."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_utf8_name(rel: str) -> bool:
    """True when ``rel`` came from valid UTF-8 bytes (no surrogates: it can be encoded)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def name_problem(rel: str) -> str | None:
    """Why the vault path ``rel`` is not an acceptable file name, or None.

    Refused: a name that is not valid UTF-8 (Python holds its bytes as surrogates),
    and names reserved on common file systems (see the module docstring).
    """
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return f"file name {shown(rel)!r} is not valid UTF-8; rename it"
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            return f"path part {part!r} is not a file name"
        m = BAD_CHARS_RE.search(part)
        if m:
            return (
                f"name {part!r} holds {m.group(0)!r}, reserved on common file systems "
                '(<>:"\\|?* and control characters); rename it'
            )
        if RESERVED_RE.match(part):
            return f"name {part!r} is reserved on Windows (CON, PRN, AUX, NUL, COMn, LPTn)"
        if part.endswith((".", " ")):
            return f"name {part!r} ends with a dot or space (dropped by Windows); rename it"
    return None


def layout_problem(rel: str) -> str | None:
    """Why ``rel`` lies outside the vault's layout, or None.

    Top-level entries other than ``vault.toml``, ``shared-memory/``, ``agents/``,
    ``knowledge-base/``, ``interactions/``, ``README*`` and the vault's own root
    ``.gitignore``; and any ``.gitignore``/``.gitattributes``/``.gitmodules`` below the
    root (git would read them as rules: a peer could hide or rewrite a node's files).
    """
    parts = rel.split("/")
    name = parts[-1]
    if name in GIT_CONTROL and rel != ".gitignore":
        return f"{name} files are the vault's own (git would apply them); not accepted"
    top = parts[0]
    if top in TOP_LEVEL or README_RE.match(top):
        return None
    return (
        f"top-level entry {top!r} is outside the vault layout (vault.toml, agents/, "
        "shared-memory/, knowledge-base/, interactions/, README)"
    )


def walk(root: Path, under: str | None = None) -> Iterator[str]:
    """Vault paths of every entry except ``.git/``, ``.vault/``, ``local-cache/`` and ``*.tmp``.

    For ``vault check``: symlinks (to files or folders) are listed, never followed;
    names that are not UTF-8 are listed too (as surrogates) so they can be reported.
    ``under``: only that folder of the vault (a vault path such as ``knowledge-base``).
    """
    start = Path(root) / under if under else Path(root)
    if under and (start.is_symlink() or not start.is_dir()):
        return
    for dirpath, dirnames, filenames in os.walk(start):
        relp = Path(dirpath).relative_to(root).as_posix()
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in NEVER_WALKED and d not in links and not (relp == "." and d.startswith("."))
        )
        for f in sorted(filenames + links):
            if f.endswith(".tmp"):
                continue
            yield f if relp == "." else f"{relp}/{f}"


def top_level_problems(root: Path) -> Iterator[tuple[str, str]]:
    """(name, reason) for each entry of the vault root outside the layout (:func:`layout_problem`).

    Hidden folders such as ``.obsidian/`` count too (git would commit them); ``.git``
    and ``.vault`` are the vault's own.
    """
    for name in sorted(os.listdir(root)):
        if name in (".git", layout.VAULT_DIR) or name.endswith(".tmp"):
            continue
        problem = layout_problem(name)
        if problem:
            yield name, problem


def read_problem(root: Path, rel: str, max_bytes: int | None = None) -> str | None:
    """Why a reader must not open ``rel`` under ``root``, or None (a regular file it may read).

    Refused: a bad name (:func:`name_problem`), a missing file, a symlink or a path
    through a symlinked folder, anything but a regular file, a file over ``max_bytes``
    (default :func:`max_file_bytes`). The size comes from ``lstat``: nothing is read.
    """
    problem = name_problem(rel)
    if problem:
        return problem
    p = Path(root) / rel
    try:
        st = p.lstat()
    except OSError:
        return "no such file"
    if stat.S_ISLNK(st.st_mode):
        return f"symlink ({os.readlink(p)}); never followed"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if os.path.realpath(p.parent) != os.path.join(os.path.realpath(root), *rel.split("/")[:-1]):
        return "its folder is a symlink; never followed"
    limit = max_file_bytes(root) if max_bytes is None else max_bytes
    if st.st_size > limit:
        return too_big_message(st.st_size, limit)
    return None


def report_skip(rel: str, reason: str) -> None:
    """Log ``event=skip path=… reason=…`` once per process for each (path, reason)."""
    key = (rel, reason)
    if key in _reported:
        return
    _reported.add(key)
    log.warning("event=skip path=%s reason=%s", shown(rel), reason)


def readable(root: Path, rel: str, max_bytes: int | None = None) -> bool:
    """True when a reader may open ``rel``; a refusal is reported once (:func:`report_skip`)."""
    problem = read_problem(root, rel, max_bytes)
    if problem and problem != "no such file":
        report_skip(rel, problem)
    return problem is None


def vault_files(
    root: Path, max_bytes: int | None = None, under: str | None = None
) -> Iterator[str]:
    """Vault paths of the regular files a reader may open (see :func:`read_problem`).

    Every skipped file (symlink, undecodable name, oversized) is reported once.
    ``under``: only that folder (a vault path such as ``knowledge-base``).
    """
    root = Path(root)
    limit = max_file_bytes(root) if max_bytes is None else max_bytes
    for rel in walk(root, under):
        if readable(root, rel, limit):
            yield rel


def read_bytes(root: Path, rel: str, max_bytes: int | None = None) -> bytes | None:
    """The bytes of ``rel``, or None (reported once) when a reader must not open it.

    The final component is opened with ``O_NOFOLLOW``, so a symlink swapped in after
    the check is not followed either.
    """
    root = Path(root)
    limit = max_file_bytes(root) if max_bytes is None else max_bytes
    if not readable(root, rel, limit):
        return None
    try:
        fd = os.open(root / rel, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e:
        report_skip(rel, f"cannot open: {e.strerror}")
        return None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        report_skip(rel, too_big_message(len(data), limit))
        return None
    return data


def read_text(root: Path, rel: str, max_bytes: int | None = None) -> str | None:
    """:func:`read_bytes` decoded as UTF-8, or None (reported once) when it is not UTF-8."""
    data = read_bytes(root, rel, max_bytes)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        report_skip(rel, f"not valid UTF-8 (byte {e.start})")
        return None
