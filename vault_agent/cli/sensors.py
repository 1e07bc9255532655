"""Sensor commands: ``vault sensors``, ``vault sensors read``, ``vault replay``,
``vault agent logs`` (also ``vault logs``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import click

from ..errors import VaultError
from .common import (
    emit_json,
    json_option,
    limit_option,
    node_option,
    open_vault,
    speed_option,
    time_range,
    vault_option,
)
from .common import (
    quiet as quiet_display,
)


@click.group("sensors", invoke_without_command=True)
@vault_option
@json_option
@click.pass_context
def sensors_group(ctx: click.Context, vault_path: str | None, as_json: bool) -> None:
    """List this node's sensors: id, quantity, last value with unit, age, errors.

    The last value comes from the running sampler (local-cache/sensors-status.json)
    or, for replayed sensors, from the newest rollup line.

    \b
    Examples:
        vault sensors
        vault sensors --json
        vault sensors read kitchen-temp
    """
    ctx.ensure_object(dict)
    ctx.obj["vault_path"] = vault_path
    if ctx.invoked_subcommand is not None:
        return
    from ..sensors.config import load_specs
    from ..sensors.status import format_age, sensor_rows

    v = open_vault(vault_path)
    rows = sensor_rows(v, load_specs(v))
    if as_json:
        emit_json({"node": v.node, "sensors": [r.as_dict() for r in rows]})
        return
    if not rows:
        click.echo(
            f"node {v.node} has no sensors; add [[sensors]] to "
            f"agents/{v.node}/node.toml or run 'vault replay FILE'"
        )
        return
    click.echo(f"{'id':<22} {'quantity':<14} {'last':>16}  {'age':>5} {'errors':>6}  driver")
    for r in rows:
        val = "-" if r.value is None else f"{r.value:.4g} {r.unit}".strip()
        flag = "  STUCK" if r.stuck else ""
        click.echo(
            f"{r.id:<22} {r.quantity:<14} {val:>16}  {format_age(r.age_s):>5} "
            f"{r.errors:>6}  {r.driver}{flag}"
        )


@sensors_group.command("read")
@click.argument("sensor_id")
@vault_option
@json_option
@click.pass_context
def read_cmd(ctx: click.Context, sensor_id: str, vault_path: str | None, as_json: bool) -> None:
    """Read one sensor now (from its hardware) and print the value with its unit.

    \b
    Example:
        vault sensors read hall-motion --json
    """
    from datetime import UTC, datetime

    from ..sensors.config import load_specs
    from ..sensors.drivers import make_driver

    v = open_vault(vault_path or ctx.obj.get("vault_path"))
    specs = {s.id: s for s in load_specs(v)}
    spec = specs.get(sensor_id)
    if spec is None:
        raise VaultError(
            f"no sensor {sensor_id!r} on node {v.node} (configured: {', '.join(specs) or 'none'})"
        )
    driver = make_driver(spec)
    try:
        m = driver.read()
    finally:
        driver.close()
    value = float(m[spec.quantity])
    t = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if as_json:
        emit_json(
            {
                "sensor": spec.id,
                "quantity": spec.quantity,
                "value": value,
                "unit": spec.unit,
                "t": t,
                "all": dict(m),
            }
        )
    else:
        click.echo(f"{spec.id} {spec.quantity} {value:.4g} {spec.unit}".rstrip())


@click.command("replay")
@click.argument("dataset")
@click.option(
    "--node", default=None, help="Vault node to write as; must be this working copy's node."
)
@click.option(
    "--source",
    default=None,
    help="Recorded node in the data set (S1…S7; default: from node.toml or node name).",
)
@speed_option
@click.option("--backfill", is_flag=True, help="As fast as possible (the default).")
@click.option("--since", "--from", "since", default=None, help="Only rows from this time (UTC).")
@click.option(
    "--until", "--to", "until", default=None, help="Only rows up to this time (a day: inclusive)."
)
@click.option(
    "--tz",
    default=None,
    callback=lambda ctx, p, v: check_tz(v),
    help="IANA zone of the recording's local times, e.g. Europe/Rome (default: UTC).",
)
@click.option("--no-commit", is_flag=True, help="Write rollups but do not commit them.")
@vault_option
@json_option
def replay_cmd(
    dataset: str,
    node: str | None,
    source: str | None,
    speed: float | None,
    backfill: bool,
    since: str | None,
    until: str | None,
    tz: str | None,
    no_commit: bool,
    vault_path: str | None,
    as_json: bool,
) -> None:
    """Replay a recorded real data set as this node's sensors, writing rollups.

    DATASET is a file, a folder, or a bundled data set name (occupancy-detection,
    room-occupancy-estimation). The format is recognised from the header; the
    recorded node's sensors are added to node.toml (committed) the first time.
    Re-running resumes: windows already written are skipped. Rollups are committed
    once per recorded day (Vault-Kind rollup).

    \b
    Examples:
        vault replay datasets/occupancy-detection/datatraining.txt --node office --backfill
        vault replay occupancy-detection --backfill
        vault replay room-occupancy-estimation --source S6
        vault replay FILE --speed 60 --from 2017-12-22 --to 2017-12-23
    """
    from ..sensors import datasets
    from ..sensors.replay import clock_note, configure_node, replay

    if speed is not None and backfill:
        raise click.UsageError("use either --speed N or --backfill, not both")
    t0, t1 = time_range(since, until)
    dataset = str(datasets.resolve(dataset))
    v = open_vault(vault_path)
    if node and node != v.node:
        raise VaultError(
            f"this working copy is node {v.node!r}, not {node!r}; each node writes "
            f"only its own folder: run the replay in {node}'s working copy "
            f"(vault init DIR --node {node})"
        )
    stop = threading.Event()
    result: dict = {}
    progress_cb, bar = _progress(as_json, Path(dataset).stat().st_size)

    specs = configure_node(v, dataset, source, tz)  # may commit node.toml

    def work() -> None:
        try:
            result["stats"] = replay(
                v,
                dataset,
                specs,
                backfill=speed is None,
                speed=speed or 1.0,
                since=t0,
                until=t1,
                stop=stop,
                progress=progress_cb,
                tz=tz,
                commit=not no_commit,
            )
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            result["error"] = e

    th = threading.Thread(target=work, name="replay", daemon=True)
    try:
        with bar:
            th.start()
            while th.is_alive():
                th.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        th.join()
    if "error" in result:
        raise result["error"]
    st = result["stats"]
    if as_json:
        emit_json(st.as_dict())
        return
    click.echo(
        f"replayed {st.rows} rows of {st.format} {st.source} "
        f"({st.first or '-'} → {st.last or '-'}) as node {v.node}: "
        f"{st.readings} readings, {st.rollups} rollups, {st.commits} commit(s), "
        f"{st.elapsed_s:.1f} s" + (" (stopped)" if st.stopped else "")
    )
    note = clock_note(v.node_config())
    if note:  # the times above carry a Z but are the recording's wall clock
        zone = (v.node_config().get("replay") or {}).get("zone") or "ZONE"
        click.echo(f"times: {note} (stored as if UTC; --tz {zone} converts them to UTC)")
    if st.skipped_closed:
        click.echo(f"skipped {st.skipped_closed} readings of windows already written (resumed)")
    if st.malformed:
        click.echo(f"{len(st.malformed)} malformed row(s) skipped:", err=True)
        for line, problem in st.malformed[:20]:
            click.echo(f"  {dataset}:{line}: {problem}", err=True)


def check_tz(name: str | None) -> str | None:
    """``name`` if it is an IANA time zone this machine knows.

    Raises:
        click.BadParameter: unknown zone (with examples).
    """
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{name!r} is not an IANA time zone; use e.g. UTC, Europe/Rome, America/New_York",
            param_hint="--tz",
        ) from None
    return name


def _progress(quiet: bool, total: int):
    """A rich progress bar over the file's bytes (or nothing when printing JSON)."""
    from contextlib import nullcontext

    if quiet or quiet_display():
        return None, nullcontext()
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("replay"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[when]}"),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    task = bar.add_task("replay", total=total, when="")

    def cb(stats) -> None:
        bar.update(task, completed=stats.bytes_read, when=stats.last or "")

    return cb, bar


@click.command("logs")
@click.option("-f", "--tail", "follow", is_flag=True, help="Keep following new records.")
@limit_option(10, "records shown first (the newest; 0 with --tail: only new)", "--lines", minimum=0)
@node_option()
@click.option(
    "--for", "duration", type=float, default=None, help="Stop following after this many seconds."
)
@click.option(
    "--interval",
    type=float,
    default=1.0,
    show_default=True,
    help="Poll interval when following, seconds.",
)
@vault_option
@json_option
def logs_cmd(
    follow: bool,
    limit: int,
    node: str | None,
    duration: float | None,
    interval: float,
    vault_path: str | None,
    as_json: bool,
) -> None:
    """Show the agent's latest rollups and observations; --tail follows new ones.

    (`vault log` shows git history instead.) Also reachable as `vault logs`.

    \b
    Examples:
        vault agent logs -n 20
        vault agent logs --tail --node alpaca-1
        vault agent logs --tail --json        # one JSON object per line
    """
    from ..sensors.tail import LogFollower

    v = open_vault(vault_path)
    follower = LogFollower(v, node)

    def show(entries) -> None:
        for e in entries:
            if as_json:
                click.echo(json.dumps(e.as_dict(), ensure_ascii=False, default=str))
            else:
                click.echo(f"{e.t} {e.node:<12} {e.kind:<11} {e.text}")

    recent = follower.recent(limit)
    show(recent)
    if not follow:
        if not recent and not as_json:
            click.echo("no rollups or observations yet (vault replay FILE, or vault agent run)")
        return
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(
                interval
                if deadline is None
                else max(0.0, min(interval, deadline - time.monotonic()))
            )
            show(follower.poll())
    except KeyboardInterrupt:
        pass
