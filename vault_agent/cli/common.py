"""Options and helpers shared by several commands."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from ..vault import Vault

vault_option = click.option(
    "--vault",
    "vault_path",
    type=click.Path(file_okay=False),
    default=None,
    envvar="VAULT_PATH",
    help="Vault folder (default: the one containing the current folder).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")


def open_vault(vault_path: str | None) -> Vault:
    """Open the vault named by ``--vault`` or found above the current folder."""
    return Vault.open(vault_path)


def parse_when(text: str | None, now: datetime | None = None) -> datetime | None:
    """Parse a time bound: ``2025-10-14``, an ISO 8601 time, ``today``, ``yesterday``,
    ``7d`` / ``12h`` / ``30m`` (ago). Returns an aware UTC datetime or None.

    Raises:
        click.BadParameter: anything else.
    """
    if not text:
        return None
    now = now or datetime.now(UTC)
    t = text.strip().lower()
    if t == "now":
        return now
    if t == "today":
        return datetime.combine(now.date(), datetime.min.time(), UTC)
    if t == "yesterday":
        return datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), UTC)
    m = re.fullmatch(r"(\d+)\s*([dhmw])", t)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return (
            now
            - {
                "d": timedelta(days=n),
                "h": timedelta(hours=n),
                "m": timedelta(minutes=n),
                "w": timedelta(weeks=n),
            }[unit]
        )
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            return datetime.combine(date.fromisoformat(t), datetime.min.time(), UTC)
        d = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return d if d.tzinfo else d.replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date, ISO time, 'yesterday' or '7d'") from None


def filter_options(f: Callable) -> Callable:
    """``--node --kind --since --until --json`` defined once for listing commands."""
    f = click.option(
        "--until", default=None, help="Until this time (date, ISO, 'yesterday', '2d')."
    )(f)
    f = click.option(
        "--since", default=None, help="From this time (date, ISO, 'yesterday', '7d')."
    )(f)
    f = click.option("--kind", default=None, help="Only this kind.")(f)
    f = click.option("--node", default=None, help="Only this node.")(f)
    return json_option(f)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
