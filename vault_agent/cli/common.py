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


# The vault this process opened last: the CLI's error boundary names it in a line
# about a full disk or a locked index when the library's error does not.
OPENED: dict[str, Any] = {}


def open_vault(vault_path: str | None) -> Vault:
    """Open the vault named by ``--vault`` or found above the current folder."""
    v = Vault.open(vault_path)
    OPENED["root"] = v.root
    return v


# Kinds a search or ask can filter on (vault/layout.classify kinds the index holds;
# tests/test_cli_contract.py checks this against the chunker's list).
SEARCH_KINDS = (
    "observation",
    "memory",
    "daily",
    "rollup",
    "knowledge",
    "interaction",
    "session",
    "readme",
    "other",
)
OBSERVATION_KINDS = ("observation", "memory")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
WHEN_HELP = "date, ISO time, 'today', 'yesterday', '7d'"


def parse_when(
    text: str | None, now: datetime | None = None, param: str | None = None
) -> datetime | None:
    """Parse a time bound: ``2025-10-14``, an ISO 8601 time, ``today``, ``yesterday``,
    ``7d`` / ``12h`` / ``30m`` / ``2w`` (ago). Returns an aware UTC datetime or None.

    Raises:
        click.BadParameter: anything else, or a duration reaching before year 1
            (names ``param`` when given).
    """
    if not text:
        return None
    try:
        return _parse_when(text, now or datetime.now(UTC))
    except (OverflowError, ValueError):
        raise click.BadParameter(
            f"{text!r} is out of range (durations reach back at most to year 1)",
            param_hint=param,
        ) from None
    except click.BadParameter as e:
        e.param_hint = param
        raise


def parse_until(
    text: str | None, now: datetime | None = None, param: str = "--until"
) -> datetime | None:
    """The exclusive end of an inclusive ``--until``: a bare day (``2017-12-25``,
    ``today``, ``yesterday``) means through the end of that UTC day; a time or a
    duration is taken as the instant it names.

    Raises:
        click.BadParameter: as :func:`parse_when`.
    """
    t = parse_when(text, now, param)
    if t is None or text is None:
        return t
    word = text.strip().lower()
    if DATE_RE.fullmatch(word) or word in ("today", "yesterday"):
        return t + timedelta(days=1)
    return t


def time_range(
    since: str | None, until: str | None, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as [start, end): both days inclusive (see :func:`parse_until`).

    Raises:
        click.BadParameter: a bad bound, or an end not after the start.
    """
    t0 = parse_when(since, now, "--since")
    t1 = parse_until(until, now)
    if t0 and t1 and t1 <= t0:
        raise click.BadParameter(f"{until!r} is before --since {since!r}", param_hint="--until")
    return t0, t1


def since_until_options(f: Callable) -> Callable:
    """``--since`` and ``--until`` (both inclusive) defined once."""
    f = click.option("--until", default=None, help=f"Up to and including this ({WHEN_HELP}).")(f)
    return click.option("--since", default=None, help=f"From this ({WHEN_HELP}).")(f)


def limit_option(
    default: int | None = None, what: str = "items", *extra: str, minimum: int = 1
) -> Callable:
    """``-n/--limit N`` (how many), the same flag in every command; ``extra`` adds
    old spellings (``-k``, ``--lines``) kept as aliases; ``minimum`` the least N."""
    shown = f" (default {default})" if default else ""
    return click.option(
        "-n",
        "--limit",
        *extra,
        "limit",
        type=click.IntRange(min=minimum),
        default=default,
        help=f"At most N {what}{shown}.",
    )


speed_option = click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Replay at real time × N (60: a recorded minute per second); default: fastest.",
)


def kind_option(kinds: tuple[str, ...], help: str = "Only this kind.") -> Callable:
    """``--kind`` validated against ``kinds``; a wrong one is an error listing them."""
    return click.option("--kind", default=None, type=click.Choice(kinds), help=help)


def node_option(help: str = "Only this node.") -> Callable:
    """``--node NAME``, validated as a node id (no ``../``)."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        from ..errors import InvalidNodeNameError
        from ..vault import layout

        try:
            return layout.validate_node(value)
        except InvalidNodeNameError as e:
            raise click.BadParameter(str(e)) from None

    return click.option("--node", default=None, callback=check, help=help)


def _parse_when(text: str, now: datetime) -> datetime:
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


def filter_options(f: Callable | None = None, kinds: tuple[str, ...] = SEARCH_KINDS) -> Callable:
    """``--node --kind --since --until --json`` defined once for listing commands.

    Use bare (``@filter_options``: the search kinds) or ``@filter_options(kinds=…)``.
    """

    def deco(f: Callable) -> Callable:
        f = since_until_options(f)
        f = kind_option(kinds)(f)
        f = node_option()(f)
        return json_option(f)

    return deco(f) if f is not None else deco


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def quiet() -> bool:
    """True when progress display is off: ``vault --quiet`` or stderr is not a terminal."""
    import sys

    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("quiet"):
        return True
    return not sys.stderr.isatty()


def status(message: str, off: bool = False):
    """A rich status line (spinner) on stderr for a step that may take > 2 s.

    A no-op context when ``off``, with ``--quiet`` or when stderr is not a terminal.
    """
    from contextlib import nullcontext

    if off or quiet():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


def progress_bar(label: str, off: bool = False, *columns: Any):
    """A transient rich progress bar on stderr (disabled like :func:`status`)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    cols = columns or (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(
        TextColumn(label),
        *cols,
        transient=True,
        console=Console(stderr=True),
        disable=off or quiet(),
    )
