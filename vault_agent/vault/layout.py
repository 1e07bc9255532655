"""The vault's folder layout (docs/architecture.md §2): where each kind of file lives and its name.

Every path here is relative to the vault root and uses ``/``. Functions that build a
path validate their inputs; :func:`classify` maps a path back to its kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from ..errors import InvalidNodeNameError

NODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
STAMP_FMT = "%Y%m%dT%H%M%SZ"
SCHEMA_VERSION = 1

AGENTS = "agents"
SHARED = "shared-memory"
KNOWLEDGE = "knowledge-base"
INTERACTIONS = "interactions"
LOCAL_CACHE = "local-cache"
VAULT_DIR = ".vault"


CONFLICT_RE = re.compile(r"\.sync-conflict-(\d{8}-\d{6})-([a-z0-9][a-z0-9-]{0,31})(\.[^./]+)?$")
OBSERVATION_NAME_RE = re.compile(
    r"^(\d{8}T\d{6}Z)-([a-z0-9][a-z0-9-]{0,31})-(\d{6})-([a-z0-9-]{1,60})\.md$"
)
INTERACTION_NAME_RE = re.compile(
    r"^(\d{8}T\d{6}Z)-([a-z0-9][a-z0-9-]{0,31})-([a-z0-9-]{1,60})\.md$"
)
ROLLUP_NAME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.jsonl$")
DAILY_NAME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.md$")


def validate_node(name: str) -> str:
    """Return ``name`` if it is a valid node id, else raise.

    A node id is a path part: ``^[a-z0-9][a-z0-9-]{0,31}$`` (docs/architecture.md §2), so no
    dots, slashes, spaces or upper case, 1–32 characters.

    Raises:
        InvalidNodeNameError: with the reason.
    """
    if not isinstance(name, str) or not name:
        raise InvalidNodeNameError("node name is empty")
    if len(name) > 32:
        raise InvalidNodeNameError(f"node name {name[:40]!r}… is {len(name)} characters (max 32)")
    if not NODE_RE.match(name):
        raise InvalidNodeNameError(
            f"node name {name!r} is invalid: use lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    return name


def stamp(t: datetime) -> str:
    """UTC ``YYYYMMDDTHHMMSSZ`` stamp of an aware datetime."""
    return t.astimezone(UTC).strftime(STAMP_FMT)


def iso(t: datetime) -> str:
    """UTC ISO 8601 with a ``Z`` suffix, seconds precision (``2025-10-14T10:05:00Z``)."""
    return t.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | date) -> datetime:
    """Parse an ISO 8601 time (``Z`` or offset; naive means UTC) to an aware UTC datetime.

    Raises:
        ValueError: not an ISO 8601 time.
    """
    if type(text) is str and len(text) == 20 and text[19] == "Z":
        # the form this project writes (``iso``), millions of times per observe run:
        # Python >= 3.11 reads the ``Z`` itself and returns the UTC datetime directly
        return datetime.fromisoformat(text)
    if isinstance(text, datetime):
        t = text
    elif isinstance(text, date):
        t = datetime(text.year, text.month, text.day)
    else:
        t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def window_label(start: str | None, end: str | None, with_date: bool = False) -> str:
    """An observation's window, the one label of the CLI, day notes and site.

    ``12:00–13:00`` (UTC start–end; ``2015-02-03 12:00–13:00`` with the date). An end at
    the midnight after the start's day is ``24:00``; a window over several days names
    both dates. Without an end: the start alone; without a start: an en dash; text that
    is not ISO 8601 is shown as written.
    """
    if not start:
        return "–"
    try:
        a = parse_iso(str(start))
        z = parse_iso(str(end)) if end else None
    except ValueError:
        return f"{start}–{end}" if end else str(start)
    head = a.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")
    if z is None:
        return head
    if z.date() == a.date() or z <= a:
        return f"{head}–{z:%H:%M}"
    if z.date() == a.date() + timedelta(days=1) and z.time() == datetime.min.time():
        return f"{head}–24:00"
    return f"{a:%Y-%m-%d %H:%M} – {z:%Y-%m-%d %H:%M}"


def slugify(text: str, max_len: int = 40) -> str:
    """A lower-case ASCII slug for file names (``"Motion in hall!"`` → ``motion-in-hall``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug[:max_len].strip("-")) or "note"


def node_dir(node: str) -> str:
    """``agents/<node>``."""
    return f"{AGENTS}/{validate_node(node)}"


def node_toml(node: str) -> str:
    """``agents/<node>/node.toml``."""
    return f"{node_dir(node)}/node.toml"


def local_cache(node: str) -> str:
    """``agents/<node>/local-cache`` (git-ignored)."""
    return f"{node_dir(node)}/{LOCAL_CACHE}"


def rollup_path(node: str, day: date) -> str:
    """``agents/<node>/sensors/YYYY/MM/YYYY-MM-DD.jsonl`` for a UTC day."""
    return f"{node_dir(node)}/sensors/{day:%Y/%m}/{day:%Y-%m-%d}.jsonl"


def daily_path(node: str, day: date) -> str:
    """``agents/<node>/daily/YYYY/MM/YYYY-MM-DD.md``."""
    return f"{node_dir(node)}/daily/{day:%Y/%m}/{day:%Y-%m-%d}.md"


def observation_path(node: str, created: datetime, seq: int, slug: str) -> str:
    """``agents/<node>/observations/YYYY/MM/<stamp>-<node>-<seq>-<slug>.md``."""
    t = created.astimezone(UTC)
    name = f"{stamp(t)}-{node}-{seq:06d}-{slugify(slug)}.md"
    return f"{node_dir(node)}/observations/{t:%Y/%m}/{name}"


def observation_id(node: str, created: datetime, seq: int) -> str:
    """Observation id ``<stamp>-<node>-<seq>`` (docs/architecture.md §4)."""
    return f"{stamp(created)}-{validate_node(node)}-{seq:06d}"


def memory_path(node: str, created: datetime, seq: int, slug: str) -> str:
    """``agents/<node>/memory/<stamp>-<node>-<seq>-<slug>.md`` (learned facts)."""
    return f"{node_dir(node)}/memory/{stamp(created)}-{node}-{seq:06d}-{slugify(slug)}.md"


def interaction_path(node: str, created: datetime, slug: str) -> str:
    """``interactions/YYYY-MM/<stamp>-<node>-<slug>.md`` (a logged ``vault ask``)."""
    t = created.astimezone(UTC)
    return f"{INTERACTIONS}/{t:%Y-%m}/{stamp(t)}-{validate_node(node)}-{slugify(slug)}.md"


def conflict_copy_name(path: str, when: datetime, node: str) -> str:
    """Syncthing's conflict copy name: ``name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext``.

    The extension stays last so the copy still opens in the same program.
    """
    head, _, name = path.rpartition("/")
    base, dot, ext = name.rpartition(".")
    if not dot or not base:
        base, ext = name, ""
    t = when.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    new = f"{base}.sync-conflict-{t}-{validate_node(node)}" + (f".{ext}" if ext else "")
    return f"{head}/{new}" if head else new


def is_conflict_copy(path: str) -> bool:
    """True for a ``*.sync-conflict-…`` file."""
    return bool(CONFLICT_RE.search(path.rsplit("/", 1)[-1]))


@dataclass(frozen=True)
class ConflictCopy:
    """The parts of a conflict copy's path (inverse of :func:`conflict_copy_name`).

    ``copy`` and ``original`` are vault paths; ``node`` wrote the copy; ``when`` is the
    UTC time in its name (seconds).
    """

    copy: str
    original: str
    node: str
    when: datetime


def parse_conflict_copy(path: str) -> ConflictCopy | None:
    """Split ``a/name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext``; None for any other path."""
    head, _, name = path.rpartition("/")
    m = CONFLICT_RE.search(name)
    if not m:
        return None
    original = name[: m.start()] + (m.group(3) or "")
    when = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    return ConflictCopy(path, f"{head}/{original}" if head else original, m.group(2), when)


def original_of(path: str) -> str:
    """The path a conflict copy stands for (``a.sync-conflict-…-n.md`` → ``a.md``); any
    other path unchanged."""
    c = parse_conflict_copy(path)
    return c.original if c else path


class PathKind(StrEnum):
    """The kinds of vault path (:func:`classify`). A ``StrEnum``: each member equals its
    string value, so ``kind == "rollup"`` and ``kind is PathKind.ROLLUP`` agree."""

    VAULT_CONFIG = "vault-config"
    NODE_CONFIG = "node-config"
    ROLLUP = "rollup"
    OBSERVATION = "observation"
    DAILY = "daily"
    MEMORY = "memory"
    SESSION = "session"
    SHARED_JSON = "shared-json"
    KNOWLEDGE = "knowledge"
    INTERACTION = "interaction"
    README = "readme"
    CONFLICT_COPY = "conflict-copy"
    IGNORED = "ignored"
    OTHER = "other"


APPEND_ONLY_KINDS = (PathKind.ROLLUP,)
"""Kinds whose committed files only grow (rule §3.1, docs/architecture.md)."""
IMMUTABLE_KINDS = (PathKind.OBSERVATION, PathKind.MEMORY)
"""Kinds whose committed files never change (rule §3.1); a new note supersedes one."""

# the folder under agents/<node>/ that holds each kind
NODE_FOLDERS: dict[str, PathKind] = {
    "sensors": PathKind.ROLLUP,
    "observations": PathKind.OBSERVATION,
    "daily": PathKind.DAILY,
    "memory": PathKind.MEMORY,
    "sessions": PathKind.SESSION,
}


@dataclass(frozen=True)
class PathInfo:
    """What a vault path is: its :class:`PathKind` and, under ``agents/``, the owning
    ``node``."""

    kind: PathKind
    node: str | None = None


def classify(path: str) -> PathInfo:
    """Classify a vault-relative path (``/`` separated) by the layout rules."""
    parts = path.split("/")
    name = parts[-1]
    owner = parts[1] if parts[0] == AGENTS and len(parts) > 2 else None
    if parts[0] in (".git", VAULT_DIR):
        return PathInfo(PathKind.IGNORED)
    if is_conflict_copy(path):
        return PathInfo(PathKind.CONFLICT_COPY, owner)
    if name == "README.md":
        return PathInfo(PathKind.README, owner)
    if path == "vault.toml":
        return PathInfo(PathKind.VAULT_CONFIG)
    if parts[0] == SHARED and len(parts) == 2 and name.endswith(".json"):
        return PathInfo(PathKind.SHARED_JSON)
    if parts[0] == KNOWLEDGE:
        return PathInfo(PathKind.KNOWLEDGE)
    if parts[0] == INTERACTIONS:
        return PathInfo(PathKind.INTERACTION)
    if owner is not None:
        sub = parts[2]
        if sub == LOCAL_CACHE:
            return PathInfo(PathKind.IGNORED, owner)
        if len(parts) == 3 and name == "node.toml":
            return PathInfo(PathKind.NODE_CONFIG, owner)
        return PathInfo(NODE_FOLDERS.get(sub, PathKind.OTHER), owner)
    return PathInfo(PathKind.OTHER)
