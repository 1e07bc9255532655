"""``vault agent run|install-service`` and ``vault demo``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .common import (
    emit_json,
    json_option,
    open_vault,
    quiet,
    speed_option,
    time_range,
    vault_option,
)
from .sensors import logs_cmd


@click.group("agent")
def agent_group() -> None:
    """Run this node's daemon, or install it as a systemd service."""


@agent_group.command("run")
@vault_option
@click.option("--once", is_flag=True, help="Run one pass of every stage, then exit.")
@click.option(
    "--replay",
    "replay",
    default=None,
    help="Replay a recorded data set (file or bundled name) instead of sensors.",
)
@click.option("--source", default=None, help="Recorded node to replay (e.g. S6).")
@speed_option
@click.option("--backfill", is_flag=True, help="Replay as fast as possible (the default).")
@click.option("--since", "--from", "since", default=None, help="Replay from this time (UTC).")
@click.option(
    "--until", "--to", "until", default=None, help="Replay up to this time (a day: inclusive)."
)
@click.option(
    "--commit-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=900.0,
    show_default=True,
    help="Seconds between batched commits.",
)
@click.option("--no-sync", is_flag=True, help="Do not sync with peers.")
@click.option("--no-index", is_flag=True, help="Do not update the search index.")
def run_cmd(
    vault_path: str | None,
    once: bool,
    replay: str | None,
    source: str | None,
    speed: float | None,
    backfill: bool,
    since: str | None,
    until: str | None,
    commit_interval: float,
    no_sync: bool,
    no_index: bool,
) -> None:
    """Run the node daemon: sample → roll up → observe → commit → sync → index.

    At start it syncs and indexes; every minute it logs one progress line; on
    SIGTERM or Ctrl-C it flushes, commits, syncs and indexes (bounded) and exits 0.
    After a replay of old data, the agent observes the data's own days (not only
    the last 14 days before today). With --replay, --speed works as in `vault
    replay`: as fast as possible unless --speed N is given.

    \b
    Examples:
        vault agent run
        vault agent run --replay occupancy-detection
        vault agent run --replay room-occupancy-estimation --source S6 --speed 60
    """
    from ..agent.daemon import Agent, AgentOptions, install_signal_handlers
    from ..sensors import datasets

    if speed is not None and backfill:
        raise click.UsageError("use either --speed N or --backfill, not both")
    if (speed is not None or source) and not replay:
        raise click.UsageError("--speed and --source apply to --replay only")
    t0, t1 = time_range(since, until)
    v = open_vault(vault_path)
    stop = threading.Event()
    install_signal_handlers(stop)
    opts = AgentOptions(
        once=once,
        replay=datasets.resolve(replay) if replay else None,
        source=source,
        speed=speed or 1.0,
        backfill=speed is None,
        since=t0,
        until=t1,
        commit_interval_s=commit_interval,
        sync=not no_sync,
        index=not no_index,
    )
    raise SystemExit(Agent(v, opts, stop).run())


@agent_group.command("install-service")
@vault_option
@click.option("--system", "system", is_flag=True, help="A system unit (default: a user unit).")
@click.option("--user", "run_as", default=None, help="User to run as (system units).")
@click.option(
    "--dest",
    type=click.Path(file_okay=False),
    default=None,
    help="Write the unit into this folder instead.",
)
@json_option
def install_service_cmd(
    vault_path: str | None, system: bool, run_as: str | None, dest: str | None, as_json: bool
) -> None:
    """Write a systemd unit that runs this node's agent at boot.

    \b
    Example:
        vault agent install-service && systemctl --user enable --now vault-agent-NODE.service
    """
    from ..agent.service import install_unit

    v = open_vault(vault_path)
    path = install_unit(
        v.root, v.node, user_mode=not system, user=run_as, dest=Path(dest) if dest else None
    )
    scope = "--user " if not system else ""
    if as_json:
        emit_json({"unit": str(path), "name": path.name, "user_unit": not system})
        return
    click.echo(
        f"wrote {path}\nenable it with: systemctl {scope}daemon-reload && "
        f"systemctl {scope}enable --now {path.name}"
    )


agent_group.add_command(logs_cmd, "logs")


@agent_group.command("status")
@vault_option
@json_option
def agent_status_cmd(vault_path: str | None, as_json: bool) -> None:
    """Show the agent: pid, uptime, last stage times, error counts."""
    from ..agent.status import status_section

    _, data, lines = status_section(open_vault(vault_path))
    if as_json:
        emit_json(data)
    else:
        for line in lines:
            click.echo(line)


@click.command("demo")
@click.argument("directory", required=False, default=None, type=click.Path(file_okay=False))
@click.option("--days", type=int, default=None, help="Replay only the first N recorded days.")
@click.option("--no-site", is_flag=True, help="Skip the site build.")
@json_option
def demo_cmd(directory: str | None, days: int | None, no_site: bool, as_json: bool) -> None:
    """Three nodes and a NAS hub from the bundled real data, end to end.

    Builds a bare hub, three node vaults in DIR (default ./vault-demo, announced),
    replays recorded days on each (one node partitioned most of the time), syncs,
    asks six questions, indexes, builds the site and syncs once more, so every
    node ends on one tree. Prints how to browse it. One to two minutes on an
    idle 2-core machine; each step shows its progress on stderr.

    \b
    Example:
        vault demo /tmp/vault-demo
    """
    from ..agent.demo import run_demo

    given = directory is not None
    directory = directory or "vault-demo"
    if not as_json:
        where = Path(directory).resolve()
        click.echo(f"demo folder: {where}" + ("" if given else " (choose one: vault demo DIR)"))
    with _demo_progress() as progress:
        report = run_demo(
            Path(directory),
            days=days,
            site=not no_site,
            echo=None if as_json else click.echo,
            progress=progress,
        )
    if as_json:
        emit_json(report)


@contextmanager
def _demo_progress() -> Iterator[Callable[[str, int, int], None]]:
    """One rich line on stderr for the demo's current step: what it does, a bar when the
    step has a total (a spinner when not), and the time since the demo started. Off with
    ``--quiet`` or when stderr is not a terminal; lines printed meanwhile go above it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True),
        disable=quiet(),
    )
    task = bar.add_task("starting", total=None)

    def update(label: str, done: int, total: int) -> None:
        bar.update(task, description=label, completed=done, total=total or None)

    with bar:
        yield update
