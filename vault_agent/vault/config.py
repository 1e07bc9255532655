"""``vault.toml`` and ``agents/<node>/node.toml``: reading, validating, writing.

node.toml sections (each owned by the part that uses it):
``[rollup] window_s``; ``[[sensors]]`` (sensors); ``[observer]`` and ``[llm]``
(observer); ``[[peers]]`` and ``[sync]`` (sync); ``[index]`` (retrieval); ``[mcp]``
(the MCP server: permissions, token).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from ..errors import RecordError, SchemaVersionError
from .atomic import atomic_write_text
from .layout import SCHEMA_VERSION, validate_node


def read_toml(path: Path, rel: str | None = None) -> dict[str, Any]:
    """Parse a TOML file.

    Raises:
        RecordError: invalid UTF-8 or TOML, naming the file and line.
    """
    rel = rel or str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(rel, 0, f"not valid UTF-8 (byte {e.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise toml_error(rel, e) from None


def toml_error(rel: str, e: tomllib.TOMLDecodeError) -> RecordError:
    """A RecordError naming the line of a TOML syntax error (Python 3.11 puts it in the text)."""
    msg = str(e)
    m = re.search(r" \(at line (\d+), column \d+\)", msg)
    line = int(m.group(1)) if m else (getattr(e, "lineno", 0) or 0)
    msg = msg[: m.start()] if m else msg
    return RecordError(rel, line, f"invalid TOML: {msg}")


def write_toml(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as TOML atomically."""
    atomic_write_text(path, tomli_w.dumps(data))


def validate_vault_toml(data: dict[str, Any], rel: str = "vault.toml") -> None:
    """Check vault.toml: ``name``, ``schema`` (int ≤ ours), ``created``.

    Raises:
        SchemaVersionError: a vault written by a newer vault-agent.
        RecordError: a missing or ill-typed key.
    """
    schema = data.get("schema")
    if not isinstance(schema, int):
        raise RecordError(rel, 0, "vault.toml lacks an integer 'schema'")
    if schema > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{rel}: vault schema {schema} is newer than this vault-agent supports "
            f"({SCHEMA_VERSION}); upgrade vault-agent"
        )
    if not isinstance(data.get("name"), str):
        raise RecordError(rel, 0, "vault.toml lacks a 'name'")


def default_node_config(node: str) -> dict[str, Any]:
    """A new node's node.toml content."""
    return {
        "node": validate_node(node),
        "rollup": {"window_s": 300},
        "observer": {"window_s": 3600, "baseline_days": 14},
        # no LLM until one is set (vault init --llm ollama:MODEL, or a local Ollama
        # found at init): rule-based observations, extractive answers
        "llm": {
            "backend": "none",
            "host": "http://127.0.0.1:11434",
            "model": "qwen2.5:0.5b",
            "timeout_s": 30,
            "keep_alive": "5m",
        },
        "sync": {"interval_s": 900},
        # no empty "sensors"/"peers" arrays: TOML would write `sensors = []`, and a
        # person appending a [[sensors]] table by hand then gets an invalid file
    }


def validate_node_config(data: dict[str, Any], node: str, rel: str) -> None:
    """Check the generic parts of node.toml (the node id; section types).

    Sensor and peer entries are validated by their own modules.

    Raises:
        RecordError: naming ``rel``.
    """
    if data.get("node") != node:
        raise RecordError(rel, 0, f"node.toml says node={data.get('node')!r}, folder says {node!r}")
    for key in ("sensors", "peers"):
        if key in data and not isinstance(data[key], list):
            raise RecordError(rel, 0, f"'{key}' must be an array of tables ([[{key}]])")
    for key in ("rollup", "observer", "llm", "sync", "index", "mcp"):
        if key in data and not isinstance(data[key], dict):
            raise RecordError(rel, 0, f"'{key}' must be a table ([{key}])")
