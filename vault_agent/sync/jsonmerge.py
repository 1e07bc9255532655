"""Three-way merge of JSON objects key by key (``shared-memory/*.json``, docs/architecture.md §3.3).

Nested objects are merged recursively; any other value is atomic. For each key:
unchanged on one side → the other side's value; changed on both sides to the same
value → that value; changed differently → a conflict, and *ours* is kept (the
caller saves *theirs* as a conflict copy). A key deleted on one side and edited on
the other keeps the edit (Syncthing: an edit beats a delete).
"""

from __future__ import annotations

import json
from typing import Any

_MISSING = object()


def merge3(
    base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], prefix: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """Merge ``theirs`` into ``ours`` relative to ``base``.

    Returns:
        (merged object, dotted key paths that conflicted; ours was kept for each).
    """
    merged: dict[str, Any] = {}
    conflicts: list[str] = []
    for key in sorted(set(base) | set(ours) | set(theirs)):
        b = base.get(key, _MISSING)
        o = ours.get(key, _MISSING)
        t = theirs.get(key, _MISSING)
        value, conflict = _merge_value(b, o, t, f"{prefix}{key}")
        conflicts += conflict
        if value is not _MISSING:
            merged[key] = value
    return merged, conflicts


def _merge_value(b: Any, o: Any, t: Any, path: str) -> tuple[Any, list[str]]:
    if _same(o, t):
        return o, []
    if _same(t, b):
        return o, []
    if _same(o, b):
        return t, []
    # Both sides changed the key differently.
    if o is _MISSING:  # we deleted, they edited: the edit wins
        return t, []
    if t is _MISSING:  # they deleted, we edited: the edit wins
        return o, []
    if isinstance(o, dict) and isinstance(t, dict):
        sub, conflicts = merge3(b if isinstance(b, dict) else {}, o, t, prefix=f"{path}.")
        return sub, conflicts
    return o, [path]


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def dumps(data: dict[str, Any]) -> str:
    """The canonical form the vault writes shared JSON in (sorted keys, 2-space indent)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads_object(data: bytes) -> dict[str, Any] | None:
    """Parse bytes as a JSON object; None if they are not UTF-8 JSON holding an object."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return obj if isinstance(obj, dict) else None
