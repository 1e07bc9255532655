"""Which sensor a person means: names, rooms, aliases and quantity words.

A sensor is known by its id (``office-temperature``), its key ``node/id``, its
``name`` and ``aliases`` from node.toml, and by words: its node, its room (the sensor's
``room``, else the node's), the node's aliases and its quantity's usual words
(:data:`QUANTITY_WORDS`). :func:`resolve` tries, in order: the exact key or id, a name
or alias equal to the text, then sensors whose words include every word of the text
("office temperature", "temp in the office"). Case, ``-`` and ``_`` do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .model import AmbiguousSensorError, SensorInfo, UnknownSensorError

# quantity -> words people use for it (the quantity itself is always one)
QUANTITY_WORDS: dict[str, tuple[str, ...]] = {
    "temperature": ("temp", "warm", "warmest", "cold", "coldest", "hot", "hottest"),
    "humidity": ("rh", "humid", "moisture"),
    "illuminance": ("light", "lux", "brightness", "bright", "dark", "lights"),
    "co2": ("carbon", "dioxide", "air"),
    "motion": ("pir", "movement", "presence", "moving"),
    "door": ("opened", "open", "closed"),
    "sound": ("noise", "loud", "volume"),
    "pressure": ("air", "barometer"),
    "humidity_ratio": ("humidity", "ratio"),
}
STOP_WORDS = frozenset(
    "the a an in of at on for sensor sensors value values reading readings level".split()
)
KNOWN_LIMIT = 20


def normalize(text: str) -> str:
    """Lower case, ``-``/``_``/``/``/punctuation to spaces, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9°%]+", " ", text.lower()).split())


def words_of(info: SensorInfo, node_aliases: Sequence[str] = ()) -> set[str]:
    """Every word that names ``info`` (see the module docstring)."""
    parts: list[str] = [info.id, info.node, info.name, info.room, info.quantity]
    parts += list(info.aliases) + list(node_aliases)
    parts += list(QUANTITY_WORDS.get(info.quantity.lower(), ()))
    return {w for p in parts for w in normalize(p).split()}


def _label(infos: Iterable[SensorInfo], all_infos: Sequence[SensorInfo]) -> list[str]:
    ids = [i.id for i in all_infos]
    return [i.id if ids.count(i.id) == 1 else i.key for i in infos]


def unknown(text: str, infos: Sequence[SensorInfo]) -> UnknownSensorError:
    """``no sensor called X; known: a, b, …`` (at most :data:`KNOWN_LIMIT` names)."""
    names = _label(infos, infos)
    more = f", … ({len(names)} in all)" if len(names) > KNOWN_LIMIT else ""
    known = ", ".join(names[:KNOWN_LIMIT]) + more if names else "none (no sensors configured)"
    return UnknownSensorError(f"no sensor called {text!r}; known: {known}")


def resolve(
    text: str, infos: Sequence[SensorInfo], node_aliases: dict[str, tuple[str, ...]] | None = None
) -> SensorInfo:
    """The one sensor ``text`` names (see the module docstring for the order of rules).

    Raises:
        UnknownSensorError: no sensor matches ("no sensor called X; known: …").
        AmbiguousSensorError: several match (the message lists them).
    """
    node_aliases = node_aliases or {}
    raw = text.strip()
    for rule in (
        lambda i: raw in (i.key, i.id),
        lambda i: normalize(raw) in {normalize(x) for x in (i.name, *i.aliases) if x},
    ):
        found = [i for i in infos if rule(i)]
        if len(found) == 1:
            return found[0]
        if found:
            raise _ambiguous(raw, found, infos)
    want = [w for w in normalize(raw).split() if w not in STOP_WORDS]
    if want:
        found = [i for i in infos if set(want) <= words_of(i, node_aliases.get(i.node, ()))]
        if len(found) == 1:
            return found[0]
        if found:
            raise _ambiguous(raw, found, infos)
    raise unknown(raw, infos)


def _ambiguous(
    text: str, found: Sequence[SensorInfo], infos: Sequence[SensorInfo]
) -> AmbiguousSensorError:
    return AmbiguousSensorError(
        f"{text!r} matches {len(found)} sensors: {', '.join(_label(found, infos))}; say which"
    )
