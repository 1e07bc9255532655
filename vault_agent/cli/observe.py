"""``vault observe`` (run the observer over a period) and ``vault observations`` (list them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..errors import RecordError, VaultError
from ..vault import Vault, layout
from .common import (
    OBSERVATION_KINDS,
    emit_json,
    filter_options,
    json_option,
    limit_option,
    open_vault,
    progress_bar,
    since_until_options,
    time_range,
    vault_option,
)


def _data_span(v: Vault) -> tuple[datetime, datetime]:
    """(first rollup start, last rollup end) of this node's rollup files."""
    from ..observe.store import RollupStore, day_file_date

    files = v.rollup_files(v.node)
    if not files:
        raise VaultError(
            f"node {v.node} has no rollups yet; record or replay some first (vault replay FILE)"
        )
    first, last = day_file_date(files[0]), day_file_date(files[-1])
    a = RollupStore(v, first, first).span()
    b = RollupStore(v, last, last).span()
    if a is None or b is None:
        raise VaultError(
            f"node {v.node}: rollup files {files[0]} / {files[-1]} hold no valid lines"
        )
    return a[0], b[1]


@click.command("observe")
@vault_option
@since_until_options
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--no-llm", is_flag=True, help="Rule-based text only (do not ask the LLM).")
@json_option
def observe_cmd(
    vault_path: str | None,
    since: str | None,
    until: str | None,
    dry_run: bool,
    no_llm: bool,
    as_json: bool,
) -> None:
    """Run the observer over a period of this node's rollups (backfill after a replay).

    Without --since/--until: the whole span of this node's rollups (both days
    inclusive). Each observe window ([observer] window_s, default 1 h) with something notable gets
    an observation; each closed day a day note and a memory file. Windows that already
    have an observation are skipped, so running it again is safe. The files written
    are committed (Vault-Kind: observation).

    \b
    Examples:
        vault replay datasets/occupancy-detection/datatraining.txt --backfill
        vault observe
        vault observe --since 2015-02-07 --until 2015-02-08 --dry-run
    """
    from ..llm import NoLLM
    from ..observe.observer import Observer

    s0, s1 = time_range(since, until)
    v = open_vault(vault_path)
    first, last = _data_span(v)
    t0 = s0 or first
    t1 = s1 or last
    if t1 <= t0:
        raise click.BadParameter(f"--until {layout.iso(t1)} is not after --since {layout.iso(t0)}")
    obs = Observer(v, llm=NoLLM() if (no_llm or dry_run) else None)
    if dry_run:
        plans = [p for s, e in obs.windows(t0, t1) if (p := obs.plan_window(s, e, use_llm=False))]
        if as_json:
            emit_json(
                {
                    "dry_run": True,
                    "since": layout.iso(t0),
                    "until": layout.iso(t1),
                    "observations": [p.as_dict() for p in plans],
                }
            )
            return
        for p in plans:
            click.echo(f"{layout.iso(p.start)}  conf {p.confidence:.2f}  {p.body}")
        click.echo(f"{len(plans)} observations would be written (dry run: nothing written)")
        return
    written = _backfill(obs, t0, t1, quiet=as_json)
    commit = (
        v.commit(
            f"Observe {layout.iso(t0)} to {layout.iso(t1)}: {len(written)} files",
            "observation",
            paths=written,
        )
        if written
        else None
    )
    kinds = {"observation": 0, "memory": 0, "daily": 0}
    for p in written:
        kinds[layout.classify(p).kind] = kinds.get(layout.classify(p).kind, 0) + 1
    if as_json:
        emit_json(
            {
                "since": layout.iso(t0),
                "until": layout.iso(t1),
                "written": written,
                "counts": kinds,
                "commit": commit,
            }
        )
        return
    for p in written:
        click.echo(p)
    click.echo(
        f"{kinds['observation']} observations, {kinds['daily']} day notes, "
        f"{kinds['memory']} memory files written" + (f"; committed {commit[:10]}" if commit else "")
    )


def _backfill(obs: Any, t0: datetime, t1: datetime, quiet: bool) -> list[str]:
    with progress_bar("observing", off=quiet) as bar:
        task = bar.add_task("observe", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return obs.backfill(t0, t1, progress=progress)


def window_label(t: datetime, o: Any) -> str:
    """``2017-12-25 12:00–13:00``: the window start–end (UTC), as day notes and the site
    (:func:`vault_agent.vault.layout.window_label`); ``t`` alone without a window."""
    w = o.window or {}
    return layout.window_label(w.get("start") or layout.iso(t), w.get("end"), with_date=True)


def _when(rel: str, o: Any) -> str:
    return (o.window or {}).get("start") or o.created


@click.command("observations")
@vault_option
@filter_options(kinds=OBSERVATION_KINDS)
@limit_option(None, "observations (the newest)")
def observations_cmd(
    vault_path: str | None,
    node: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
    limit: int | None,
) -> None:
    """List observations (and with --kind memory, memory facts), oldest first.

    Times filter on the window the observation is about (its start; --until is
    inclusive). Each line shows the window as start–end, e.g. 12:00–13:00.

    \b
    Examples:
        vault observations --since 7d
        vault observations --node alpaca-1 --json
        vault observations --kind memory
    """
    t0, t1 = time_range(since, until)
    v = open_vault(vault_path)
    sub = "memory" if kind == "memory" else "observations"
    errors: list[RecordError] = []
    rows = []
    for rel, o in v.iter_observations(node, errors, sub):
        try:
            t = layout.parse_iso(_when(rel, o))
        except ValueError:
            continue
        if (t0 and t < t0) or (t1 and t >= t1):
            continue
        rows.append((t, rel, o))
    rows.sort(key=lambda r: (r[0], r[1]))
    if limit:
        rows = rows[-limit:]
    if as_json:
        emit_json(
            [
                {
                    "path": rel,
                    "id": o.id,
                    "node": o.node,
                    "kind": o.kind,
                    "created": o.created,
                    "window": o.window,
                    "sensors": list(o.sensors),
                    "confidence": o.confidence,
                    "model": o.model,
                    "title": o.title,
                    "body": o.body.strip(),
                    "sources": list(o.sources),
                    **{k: val for k, val in o.extra.items() if k in ("llm_rejected", "supersedes")},
                }
                for _, rel, o in rows
            ]
        )
    else:
        for t, _, o in rows:
            conf = f"{o.confidence:.2f}" if o.confidence is not None else "  - "
            body = " ".join(o.body.split())
            click.echo(f"{window_label(t, o)}  {o.node}  {conf}  {o.model or '-'}  {body}")
        if not rows:
            click.echo("no observations" + (" in that period" if t0 or t1 else ""))
    for e in errors:
        click.echo(f"warning: {e}", err=True)
