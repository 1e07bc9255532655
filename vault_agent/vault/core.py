"""The :class:`Vault`: one node's working copy of the shared memory.

Invariant (docs/architecture.md): the files are the truth; git carries them between nodes;
indexes and the site under ``.vault/`` are derived and can be rebuilt at any time.
This node writes only under ``agents/<node>/`` and names its shared files with its
node id, so merges are additions (docs/architecture.md §3).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pygit2

from ..errors import NotAVaultError, RecordError, VaultError
from ..resources import project_path
from . import files, layout
from . import repo as git
from .atomic import (
    append_line,
    append_lines,
    atomic_write_text,
    repair_bad_last_line,
    repair_torn_tail,
)
from .config import (
    default_node_config,
    read_toml,
    validate_node_config,
    validate_vault_toml,
    write_toml,
)
from .hlc import HLC
from .records import (
    Observation,
    Rollup,
    parse_observation,
    parse_rollup_line,
    parse_rollup_lines,
)

log = logging.getLogger("vault_agent")
NODE_CONFIG_KEY = "vault.node"
SHARED_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.json$")


def _now() -> datetime:
    return datetime.now(UTC)


def _torn_fragment(fragment: bytes) -> bool:
    """True if an unterminated last line looks like what a crash leaves of our appends.

    Our writer only writes lines starting with ``{``; a crash leaves a prefix of one,
    possibly followed or replaced by NUL bytes (a file extended before its data reached
    the disk). Anything else is not ours to cut: ``vault check`` reports it instead.
    """
    data = fragment.rstrip(b"\x00")
    return not data or data.startswith(b"{")


def _whole_json_line(line: bytes) -> bool:
    """False for a complete-looking last line that is crash damage (see :func:`_torn_fragment`).

    A valid JSON line, even one failing the rollup schema, is a bad record, not crash
    damage: it stays in place for ``vault check`` to report.
    """
    if not line.strip() or not _torn_fragment(line):
        return True
    try:
        json.loads(line)
        return True
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


class Vault:
    """A vault working copy, opened as one node.

    Use :meth:`open` or :meth:`init`, not the constructor. Paths given to and returned
    by methods are vault-relative strings with ``/`` unless they say otherwise.
    """

    def __init__(self, root: Path, node: str) -> None:
        self.root = Path(root).resolve()
        self.node = layout.validate_node(node)
        self._repo: pygit2.Repository | None = None
        self._hlc: HLC | None = None
        self._seq: int | None = None
        self._append_lock_fd: int | None = None
        self._thread_lock = threading.RLock()  # flock does not exclude our own threads
        self.config = read_toml(self.root / "vault.toml", "vault.toml")
        validate_vault_toml(self.config)

    # -- opening -----------------------------------------------------------------
    @classmethod
    def find_root(cls, path: str | Path | None = None) -> Path:
        """The nearest folder at or above ``path`` holding ``vault.toml``.

        Raises:
            NotAVaultError: none found.
        """
        start = Path(path or os.getcwd()).resolve()
        for p in (start, *start.parents):
            if (p / "vault.toml").is_file() and (p / ".git").exists():
                return p
        raise NotAVaultError(
            f"{start} is not inside a vault (no vault.toml here or above): cd into your "
            "vault (cd DIR), pass --vault DIR or set VAULT_PATH=DIR; to make one: "
            "vault init DIR --node NAME"
        )

    @classmethod
    def open(
        cls, path: str | Path | None = None, node: str | None = None, repair: bool = True
    ) -> Vault:
        """Open the vault at or above ``path`` as ``node`` (default: the node set at init).

        With ``repair``, torn last lines of this node's rollup files are quarantined
        (see :meth:`repair_torn_files`).

        Raises:
            NotAVaultError, SchemaVersionError, InvalidNodeNameError, RecordError.
        """
        root = cls.find_root(path)
        if node is None:
            cfg = pygit2.Repository(str(root)).config
            node = cfg[NODE_CONFIG_KEY] if NODE_CONFIG_KEY in cfg else None
            if node is None:
                raise VaultError(
                    f"{root}: no node set for this working copy; run 'vault init --node NAME' here"
                )
        v = cls(root, node)
        if repair:
            v.repair_torn_files()
        return v

    @classmethod
    def init(
        cls,
        path: str | Path,
        node: str,
        from_url: str | None = None,
        name: str | None = None,
        clone: Callable[[str, Path], None] | None = None,
    ) -> tuple[Vault, bool]:
        """Create a vault at ``path`` (or join one by cloning ``from_url``) as ``node``.

        ``clone(url, folder)`` fetches ``from_url`` into the new folder. The CLI passes
        the sync layer's (``sync.transport.clone``: SSH keys, known_hosts, timeouts);
        the default, a plain clone without credentials, suits a local path. The core
        only validates what arrived and undoes a refused clone.

        Returns (vault, created); created is False when ``path`` already was a vault
        set up for a node (a no-op). A vault working copy without a node yet (a
        plain ``git clone``) is adopted: the node's folder is added and committed.

        Raises:
            VaultError: ``path`` is a file, a non-empty folder that is not a vault, or
                inside another vault;
                ``from_url`` cannot be cloned or is not a vault; ``node`` already has
                a folder in the vault being joined (one writer per folder).
            InvalidNodeNameError: a bad node name.
            SchemaVersionError: the vault was made by a newer vault-agent.
        """
        layout.validate_node(node)
        root = Path(path).expanduser().resolve()
        if (root / "vault.toml").is_file() and (root / ".git").exists():
            existing = cls._node_of(root)
            if existing:
                return cls(root, existing), False
            cls(root, node)  # validates vault.toml before anything is written
            return cls._setup_node(root, node, f"Add node {node}"), True
        if root.exists() and not root.is_dir():
            raise VaultError(f"{root} is a file, not a folder")
        for parent in root.parents:
            if (parent / "vault.toml").is_file() and (parent / ".git").exists():
                raise VaultError(
                    f"{root} is inside the vault at {parent}; choose a folder outside it"
                )
        if root.exists() and any(root.iterdir()):
            raise VaultError(f"{root} is not empty and is not a vault; choose an empty folder")
        if from_url:
            local = Path(from_url).expanduser()
            if "://" not in from_url and local.exists():
                from_url = str(local.resolve())  # the remote must work from any folder later
            cls._clone(from_url, root, node, clone or git.clone_plain)
            return cls._setup_node(root, node, f"Join vault as node {node}"), True
        root.mkdir(parents=True, exist_ok=True)
        git.init_repo(root)
        cls._copy_template(root, name or root.name)
        v = cls._setup_node(root, node, None)
        return v, True

    @classmethod
    def _clone(cls, url: str, root: Path, node: str, clone: Callable[[str, Path], None]) -> None:
        """Clone ``url`` into the empty/new folder ``root``; undo the clone on refusal."""
        existed = root.exists()
        try:
            clone(url, root)
            if not (root / "vault.toml").is_file():
                raise VaultError(f"{url} is not a vault (no vault.toml at its root)")
            cls(root, node)  # vault.toml must be valid and of a schema we know
            if (root / layout.node_dir(node)).exists():
                raise VaultError(
                    f"node {node!r} already has a folder in {url}; each node writes only its "
                    "own folder, so join with a new node name"
                )
        except pygit2.GitError as e:
            cls._remove_clone(root, existed)
            raise VaultError(f"cannot clone {url}: {str(e).strip()}") from None
        except VaultError:
            cls._remove_clone(root, existed)
            raise

    @staticmethod
    def _remove_clone(root: Path, existed: bool) -> None:
        """Remove what a refused clone wrote (the folder was empty or absent before)."""
        if not root.exists():
            return
        if existed:
            for child in root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        else:
            shutil.rmtree(root)

    @classmethod
    def _setup_node(cls, root: Path, node: str, summary: str | None) -> Vault:
        """Record ``node`` for this working copy, add its folder, hooks; commit."""
        pygit2.Repository(str(root)).config[NODE_CONFIG_KEY] = node
        v = cls(root, node)
        v._add_node_folder()
        v.install_hooks()
        v.commit(summary or f"Create vault {v.name} with node {node}", "init")
        return v

    @staticmethod
    def _node_of(root: Path) -> str | None:
        cfg = pygit2.Repository(str(root)).config
        return cfg[NODE_CONFIG_KEY] if NODE_CONFIG_KEY in cfg else None

    @staticmethod
    def _copy_template(root: Path, name: str) -> None:
        tpl = project_path("vault_template")
        shutil.copytree(tpl, root, dirs_exist_ok=True)
        write_toml(
            root / "vault.toml",
            {"name": name, "schema": layout.SCHEMA_VERSION, "created": layout.iso(_now())},
        )

    def _add_node_folder(self) -> None:
        cfg_path = self.path(layout.node_toml(self.node))
        if not cfg_path.exists():
            write_toml(cfg_path, default_node_config(self.node))
        readme = self.path(f"{layout.node_dir(self.node)}/README.md")
        if not readme.exists():
            atomic_write_text(
                readme,
                (
                    f"# Node {self.node}\n\nWritten only by node `{self.node}`.\n\n"
                    "- `node.toml`: this node's sensors, observer, LLM and sync peers\n"
                    "- `sensors/YYYY/MM/YYYY-MM-DD.jsonl`: rollups, a line per sensor per window\n"
                    "- `observations/YYYY/MM/`: what the node noticed (Markdown + YAML)\n"
                    "- `daily/YYYY/MM/`: a note per closed day\n"
                    "- `memory/`: learned facts; `sessions/`: conversations\n"
                    "- `local-cache/`: git-ignored raw readings and queues\n"
                ),
            )

    def install_hooks(self) -> list[Path]:
        """Install the package's git hooks into ``.git/hooks`` (never from synced content)."""
        from ..hooks_install import install_hooks

        return install_hooks(self.root)

    # -- basic properties ---------------------------------------------------------------
    @property
    def name(self) -> str:
        """The vault's name from vault.toml."""
        return str(self.config.get("name", self.root.name))

    @property
    def created(self) -> datetime:
        """When the vault was created (vault.toml), UTC."""
        try:
            return layout.parse_iso(self.config.get("created", "1970-01-01T00:00:00Z"))
        except ValueError:
            return datetime(1970, 1, 1, tzinfo=UTC)

    @property
    def repo(self) -> pygit2.Repository:
        """The pygit2 repository of the working copy."""
        if self._repo is None:
            self._repo = pygit2.Repository(str(self.root))
        return self._repo

    @property
    def hlc(self) -> HLC:
        """This node's hybrid logical clock (persisted in local-cache)."""
        if self._hlc is None:
            self._hlc = HLC(self.cache_dir() / "hlc")
        return self._hlc

    def path(self, rel: str) -> Path:
        """Absolute path of a vault-relative path."""
        return self.root / rel

    def rel(self, path: Path) -> str:
        """Vault-relative ``/`` path of an absolute path (symlinks are not followed).

        Raises:
            ValueError: the path is outside the vault.
        """
        return Path(os.path.abspath(path)).relative_to(self.root).as_posix()

    def cache_dir(self, *parts: str) -> Path:
        """``agents/<node>/local-cache/...`` (created)."""
        p = self.path(layout.local_cache(self.node)).joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def state_dir(self, *parts: str) -> Path:
        """``.vault/...`` (git-ignored derived state; created)."""
        p = self.root.joinpath(layout.VAULT_DIR, *parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def nodes(self) -> list[str]:
        """Node ids with a folder under ``agents/``."""
        base = self.path(layout.AGENTS)
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and layout.NODE_RE.match(p.name))

    # -- node config ---------------------------------------------------------------------
    def node_config(self, node: str | None = None) -> dict[str, Any]:
        """The parsed node.toml of ``node`` (default this node).

        Raises:
            RecordError: invalid TOML or a node id mismatch.
        """
        node = node or self.node
        rel = layout.node_toml(node)
        p = self.path(rel)
        if not p.exists():
            return default_node_config(node)
        data = read_toml(p, rel)
        validate_node_config(data, node, rel)
        return data

    def write_node_config(self, data: dict[str, Any]) -> str:
        """Write this node's node.toml atomically; returns its vault path."""
        rel = layout.node_toml(self.node)
        validate_node_config(data, self.node, rel)
        write_toml(self.path(rel), data)
        return rel

    # -- rollups -----------------------------------------------------------------------
    def append_rollups(self, rollups: Iterable[Rollup], fsync: bool = True) -> list[str]:
        """Append rollup lines to their day files (one write + fsync per file).

        Lines are stamped with a fresh HLC if they carry none. Every line is
        validated against the schema before anything is written, so a bad rollup
        writes nothing. When this returns (with ``fsync``) the lines are on disk.

        Returns: the vault paths appended to.
        Raises:
            VaultError: a rollup of another node.
            RecordError: a rollup that fails the schema (non-finite value, bad times…).
        """
        by_file: dict[str, list[str]] = defaultdict(list)
        rollups = list(rollups)
        stamps = iter(self.hlc.now_many(sum(1 for r in rollups if not r.hlc)))
        rel_of: dict[date, str] = {}  # day -> file (thousands of lines share a few days)
        for r in rollups:
            if r.node != self.node:
                raise VaultError(f"rollup of node {r.node!r} cannot be written by {self.node!r}")
            try:
                day = r.day
                rel = rel_of.get(day)
                if rel is None:
                    rel = rel_of[day] = layout.rollup_path(self.node, day)
            except (ValueError, TypeError):
                raise RecordError(
                    f"rollup of {r.sensor!r}", 0, f"start {r.start!r} is not an ISO 8601 time"
                ) from None
            line = r.to_json(hlc="" if r.hlc else next(stamps))
            parse_rollup_line(line, rel, 0)  # never write what a reader would reject
            by_file[rel].append(line)
        with self._append_lock():
            for rel, lines in by_file.items():
                append_lines(self.path(rel), lines, fsync=fsync)
        return sorted(by_file)

    def append_line(self, rel: str, line: str, fsync: bool = True) -> None:
        """Append one line to the vault file ``rel`` (a log this node writes, such as an
        MCP session log), under the same cross-process lock as rollup appends.

        Trigger: two processes of this node (two ``vault mcp`` servers) append to one
        file while one of them commits it. Why: git reads a file's size, then its bytes;
        an append in between fails the staging ("failed to read file into stream").
        What: :meth:`commit` stages under this lock, so it never sees a half-made line.
        """
        with self._append_lock():
            append_line(self.path(rel), line, fsync=fsync)

    def rollup_files(self, node: str | None = None) -> list[str]:
        """Vault paths of rollup files (of ``node``, or all nodes), sorted by node then day."""
        nodes = [node] if node else self.nodes()
        out = []
        for n in nodes:
            base = self.path(f"{layout.node_dir(n)}/sensors")
            if base.is_dir():
                out += sorted(
                    self.rel(p)
                    for p in base.rglob("*.jsonl")
                    if layout.ROLLUP_NAME_RE.match(p.name)
                    and files.readable(self.root, self.rel(p))
                )
        return out

    def read_rollups(self, rel: str, errors: list[RecordError] | None = None) -> list[Rollup]:
        """Parse a rollup file; bad lines are skipped and added to ``errors`` (if given)."""
        return [r for _, r in parse_rollup_lines(self.path(rel).read_bytes(), rel, 0, errors)]

    def iter_rollups(
        self,
        node: str | None = None,
        since: date | None = None,
        until: date | None = None,
        errors: list[RecordError] | None = None,
    ) -> Iterator[Rollup]:
        """Rollups of ``node`` (or all), day files from ``since`` to ``until`` inclusive."""
        for rel in self.rollup_files(node):
            d = date.fromisoformat(rel.rsplit("/", 1)[-1][:10])
            if (since and d < since) or (until and d > until):
                continue
            yield from self.read_rollups(rel, errors)

    def repair_torn_files(self) -> list[Path]:
        """Quarantine torn last lines of this node's rollup files (crash recovery).

        A last line without newline, or one that is not valid JSON, that looks like
        a cut-off append (starts with ``{`` or is NUL bytes) is moved to
        ``local-cache/quarantine/`` (logged there in ``quarantine.log`` and as a
        warning) and the file cut to its last complete line. Nothing else is touched.
        Returns the quarantine files written.
        """
        out = []
        qdir = self.path(layout.local_cache(self.node)) / "quarantine"
        with self._append_lock():  # never cut a line another process is appending right now
            for rel in self.rollup_files(self.node):
                p = self.path(rel)
                if p.is_symlink() or not p.is_file():
                    continue
                q = repair_torn_tail(p, qdir, _torn_fragment) or repair_bad_last_line(
                    p, qdir, _whole_json_line
                )
                if q:
                    log.warning(
                        "repaired torn last line of %s; fragment saved to %s", rel, self.rel(q)
                    )
                    out.append(q)
        return out

    @contextmanager
    def _append_lock(self) -> Iterator[None]:
        """Exclusive ``flock`` on ``local-cache/append.lock`` around appends and repairs.

        Trigger: the agent appends while a CLI command opens the vault. Why: a reader
        can see a half-copied multi-page write as a torn tail. What: appends and the
        torn-tail repair of this node's files are serialised between processes (the
        kernel drops the lock if a holder dies, so a SIGKILL never leaves it held) and,
        with an RLock, between threads sharing this Vault. Commits stage under it too.
        """
        with self._thread_lock:
            if self._append_lock_fd is None:
                path = self.cache_dir() / "append.lock"
                self._append_lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(self._append_lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._append_lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the append lock file (also done when the Vault is garbage collected)."""
        if self._append_lock_fd is not None:
            os.close(self._append_lock_fd)
            self._append_lock_fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def quarantined(self) -> list[str]:
        """Vault paths of fragments moved to this node's ``local-cache/quarantine/``."""
        qdir = self.path(layout.local_cache(self.node)) / "quarantine"
        if not qdir.is_dir():
            return []
        return sorted(self.rel(p) for p in qdir.glob("*.torn"))

    # -- observations --------------------------------------------------------------------
    def next_seq(self) -> int:
        """The next per-node sequence number for observation/memory file names."""
        if self._seq is None:
            best = 0
            for sub in ("observations", "memory"):
                base = self.path(f"{layout.node_dir(self.node)}/{sub}")
                if base.is_dir():
                    for p in base.rglob("*.md"):
                        m = layout.OBSERVATION_NAME_RE.match(p.name)
                        if m and m.group(2) == self.node:
                            best = max(best, int(m.group(3)))
            self._seq = best
        self._seq += 1
        return self._seq

    def clock_suspect(self, t: datetime) -> bool:
        """True when this node's wall clock reads before the vault's creation (a Pi
        without RTC booted in 1970), or when the record time ``t`` (UTC) is more than a
        day past both the clock and the newest HLC seen (docs/architecture.md §3.4).

        A ``t`` before the vault's creation is not suspect by itself: a backfill or a
        replay writes notes about data older than the vault, dated by that data."""
        now = _now()
        newest = self.hlc.last.wall() if self.hlc.last.physical else now
        return now < self.created or t > max(newest, now) + timedelta(days=1)

    def write_observation(
        self,
        body: str,
        *,
        title: str = "",
        sensors: Iterable[str] = (),
        window: dict[str, str] | None = None,
        confidence: float | None = None,
        model: str = "rules/v1",
        sources: Iterable[str] = (),
        kind: str = "observation",
        created: datetime | None = None,
        slug: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, Observation]:
        """Write a new immutable observation (or ``kind="memory"`` fact) file atomically.

        Args:
            body: Markdown text (1–3 sentences for an observation).
            created: when the note was made (default now, UTC).
            window: ``{"start": iso, "end": iso}`` the note is about.
            confidence: in [0, 1], from the statistics.
        Returns:
            (vault path, the Observation written).
        Raises:
            RecordError: the note would fail its schema (e.g. confidence outside [0, 1]).
        """
        created = layout.parse_iso(created) if created else _now()
        extra = dict(extra or {})
        if self.clock_suspect(created):
            extra.setdefault("clock", "suspect")
        slug = slug or title or body[:40]
        while True:
            seq = self.next_seq()
            rel = (
                layout.memory_path(self.node, created, seq, slug)
                if kind == "memory"
                else layout.observation_path(self.node, created, seq, slug)
            )
            if not self.path(rel).exists():
                break  # another process took this number: take the next one
        oid = layout.observation_id(self.node, created, seq)
        obs = Observation(
            id=oid,
            node=self.node,
            created=layout.iso(created),
            body=body,
            hlc=self.hlc.now(),
            kind=kind,
            title=title,
            sensors=tuple(sensors),
            window=window,
            confidence=confidence,
            model=model,
            sources=tuple(sources),
            extra=extra,
        )
        text = obs.to_markdown()
        parse_observation(text, rel)  # never write what a reader would reject
        atomic_write_text(self.path(rel), text)
        return rel, obs

    def observation_files(self, node: str | None = None, sub: str = "observations") -> list[str]:
        """Vault paths of observation (or ``sub="memory"``) files, sorted by name (time)."""
        out = []
        for n in [node] if node else self.nodes():
            base = self.path(f"{layout.node_dir(n)}/{sub}")
            if base.is_dir():
                out += [
                    self.rel(p)
                    for p in base.rglob("*.md")
                    if not layout.is_conflict_copy(p.name)
                    and files.readable(self.root, self.rel(p))
                ]
        return sorted(out, key=lambda r: r.rsplit("/", 1)[-1])

    def read_observation(self, rel: str) -> Observation:
        """Parse one observation file.

        Raises:
            RecordError: invalid UTF-8 or schema problems, naming the file.
        """
        try:
            text = self.path(rel).read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordError(rel, 0, f"not valid UTF-8 (byte {e.start})") from None
        return parse_observation(text, rel)

    def iter_observations(
        self,
        node: str | None = None,
        errors: list[RecordError] | None = None,
        sub: str = "observations",
    ) -> Iterator[tuple[str, Observation]]:
        """(path, Observation) for each valid file; invalid ones go to ``errors``."""
        for rel in self.observation_files(node, sub):
            try:
                yield rel, self.read_observation(rel)
            except RecordError as e:
                if errors is not None:
                    errors.append(e)

    # -- shared memory -------------------------------------------------------------------
    @staticmethod
    def _shared_rel(name: str) -> str:
        if not isinstance(name, str) or not SHARED_NAME_RE.match(name):
            raise VaultError(
                f"shared-memory name {name!r} is invalid: use a plain file name "
                "like 'global-state.json' (letters, digits, '-', '_', '.')"
            )
        return f"{layout.SHARED}/{name}"

    def read_shared(self, name: str) -> dict[str, Any]:
        """Parse ``shared-memory/<name>`` (a JSON object); ``{}`` if the file is absent.

        Raises:
            VaultError: ``name`` is not a plain ``*.json`` file name.
            RecordError: invalid UTF-8, invalid JSON or not an object (file and line).
        """
        rel = self._shared_rel(name)
        p = self.path(rel)
        if not p.exists():
            return {}
        try:
            data = json.loads(p.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as e:
            raise RecordError(rel, 0, f"not valid UTF-8 (byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise RecordError(rel, e.lineno, f"invalid JSON: {e.msg}") from None
        if not isinstance(data, dict):
            raise RecordError(rel, 1, "shared-memory file must hold a JSON object")
        return data

    def write_shared(self, name: str, data: dict[str, Any]) -> str:
        """Write ``shared-memory/<name>`` atomically (sorted keys, 2-space indent).

        Raises:
            VaultError: a bad name, or ``data`` is not a JSON-serialisable dict.
        """
        rel = self._shared_rel(name)
        if not isinstance(data, dict):
            raise VaultError(
                f"{rel}: shared memory holds a JSON object, not a {type(data).__name__}"
            )
        try:
            text = (
                json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
                + "\n"
            )
        except (TypeError, ValueError) as e:
            raise VaultError(f"{rel}: cannot write as JSON: {e}") from None
        atomic_write_text(self.path(rel), text)
        return rel

    def write_file(self, rel: str, text: str, overwrite: bool = False) -> str:
        """Write any vault file atomically (day notes, interactions…).

        Raises:
            VaultError: the file exists and ``overwrite`` is False; the path leaves the
                vault, is inside ``.git``, or is in another node's folder.
        """
        p = self._safe_path(rel)
        if p.exists() and not overwrite:
            raise VaultError(f"{rel} exists; refusing to overwrite")
        atomic_write_text(p, text)
        return rel

    def _safe_path(self, rel: str) -> Path:
        """Absolute path of ``rel`` if this node may write it (docs/architecture.md §3.1)."""
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or not parts:
            raise VaultError(f"{rel!r}: not a path inside the vault")
        if parts[0] == ".git":
            raise VaultError(f"{rel!r}: refusing to write inside .git")
        if parts[0] == layout.AGENTS and len(parts) > 2 and parts[1] != self.node:
            raise VaultError(
                f"{rel}: only node {parts[1]!r} writes its folder (this is {self.node!r})"
            )
        return self.path(rel)

    # -- git -----------------------------------------------------------------------------
    def pending(self) -> list[str]:
        """Vault paths with uncommitted changes."""
        return git.pending_changes(self.repo)

    def commit(
        self,
        summary: str,
        kind: str,
        paths: list[str] | None = None,
        trailers: list[tuple[str, str]] | None = None,
    ) -> str | None:
        """Commit pending changes (or just ``paths``) with the audit trailers; id or None.

        Staging holds the append lock, so a rollup line being appended by another
        process is never committed half-written.
        """
        with self._append_lock():
            return git.commit(self.repo, summary, self.node, kind, paths, trailers)

    def head(self) -> str | None:
        """Hex id of HEAD, or None before the first commit."""
        c = git.head_commit(self.repo)
        return str(c.id) if c else None

    def observe_hlc(self, value: str) -> None:
        """Advance this node's HLC past a merged record's ``hlc``."""
        self.hlc.observe(value)
