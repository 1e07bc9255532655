"""``vault history`` (a sensor's values over time) and ``vault query`` (read-only SQL)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, timedelta
from typing import Any

import click

from .common import emit_json, json_option, vault_option

csv_option = click.option("--csv", "as_csv", is_flag=True, help="CSV output (a header row first).")
POINT_FIELDS = (
    "t", "end", "agg", "value", "count", "mean", "min", "max", "last", "sum", "on_s", "events",
)  # fmt: skip


def _store(vault_path: str | None) -> Any:
    from ..query import Store
    from ..vault import Vault

    return Store(Vault.find_root(vault_path))


def _span(store: Any, infos: list[Any], since: str | None, until: str | None) -> tuple[Any, Any]:
    """(since, until) bounds; default: the last day with data of the sensors."""
    from ..query.params import parse_bound

    t0 = parse_bound(since, store.tz, "--since") if since else None
    t1 = parse_bound(until, store.tz, "--until") if until else None
    if t1 is None:
        days = [i.last_day for i in infos if i.last_day]
        t1 = max(days) if days else datetime.now(store.tz).date()
    if t0 is None:
        t0 = t1 if isinstance(t1, date) and not isinstance(t1, datetime) else t1 - timedelta(1)
    return t0, t1


@click.command("history")
@click.argument("sensors", nargs=-1, required=True)
@click.option("--since", default=None, help="From this date or ISO time (vault time zone).")
@click.option("--until", default=None, help="Until this date (inclusive) or ISO time.")
@click.option("--every", default=None, help="Bucket length: 5m, 1h, 1d (default: each window).")
@click.option(
    "--agg",
    default=None,
    help="mean, min, max, last, sum, on_s, events or count (default: mean; on_s for motion).",
)
@json_option
@csv_option
@vault_option
def history_cmd(
    sensors: tuple[str, ...],
    since: str | None,
    until: str | None,
    every: str | None,
    agg: str | None,
    as_json: bool,
    as_csv: bool,
    vault_path: str | None,
) -> None:
    """A sensor's values over time, from the rollup files, with the lines they come from.

    SENSOR is an id, node/id, name, alias or words ("office temperature"). Dates are
    inclusive and in the vault's time zone (vault.toml ``timezone``, default UTC);
    without --since/--until: the sensor's last day with data.

    \b
    Examples:
        vault history office-temperature --since 2015-02-05 --until 2015-02-06 --every 1h
        vault history "office light" --every 1d --agg max --json
        vault history s6-motion --every 1h --agg on_s --csv
    """
    from ..query.params import parse_every

    store = _store(vault_path)
    every_s = parse_every(every)
    infos = [store.resolve(s) for s in sensors]
    t0, t1 = _span(store, infos, since, until)
    out = []
    for info in infos:
        a = agg or ("on_s" if info.binary else "mean")
        points = store.series(info, t0, t1, every_s, a)
        out.append((info, a, points))
    if not any(pts for _, _, pts in out):  # nothing at all: say what the sensors cover
        raise store.no_data(infos[0], t0, t1)
    if as_json:  # compact: a long series is thousands of points
        data = [_as_json(store, info, a, every_s, pts) for info, a, pts in out]
        click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    elif as_csv:
        _write_csv(out)
    else:
        for info, a, pts in out:
            _print_table(store, info, a, every_s, pts)


def _as_json(store: Any, info: Any, agg: str, every_s: int | None, points: list) -> dict:
    return {
        "sensor": info.id,
        "node": info.node,
        "quantity": info.quantity,
        "unit": info.unit,
        "agg": agg,
        "every_s": every_s,
        "timezone": store.tz.key,
        "points": [p.as_dict() for p in points],
    }


def _write_csv(out: list) -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(("node", "sensor", "unit", *POINT_FIELDS, "cites"))
    for info, _, pts in out:
        for p in pts:
            d = p.as_dict()
            row = ["" if d[k] is None else d[k] for k in POINT_FIELDS]
            w.writerow((info.node, info.id, info.unit, *row, " ".join(p.cites)))


def _print_table(store: Any, info: Any, agg: str, every_s: int | None, points: list) -> None:
    from ..vault.layout import parse_iso

    step = f"per {_duration(every_s)}" if every_s else "per rollup window"
    unit = f" {info.unit}" if info.unit else ""
    click.echo(f"{info.key}  {agg} {step}  (times {store.tz.key})")
    if not points:
        click.echo("  no data in this period")
    for p in points:
        t = parse_iso(p.t).astimezone(store.tz).strftime("%Y-%m-%d %H:%M")
        value = "-" if p.value is None else f"{p.value:.6g}"
        click.echo(f"  {t}  {value}{unit}  n={p.count}  {p.cites[0] if p.cites else ''}")


def _duration(seconds: int) -> str:
    """``3600`` → ``1h`` (the largest unit that divides it)."""
    for unit, n in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"


@click.command("query")
@click.argument("sql")
@json_option
@csv_option
@vault_option
def query_cmd(sql: str, as_json: bool, as_csv: bool, vault_path: str | None) -> None:
    """Read-only SQL over the views rollups, sensors and observations (DuckDB).

    Only one SELECT (or WITH … SELECT) statement; anything else is refused.

    \b
    Examples:
        vault query "SELECT sensor, max(max) FROM rollups GROUP BY sensor"
        vault query "SELECT day, title FROM observations WHERE node = 'office'" --json
        vault query "SELECT node, id, room FROM sensors" --csv
    """
    cols, rows = _store(vault_path).sql(sql)
    if as_json:
        emit_json([dict(zip(cols, (_plain(v) for v in r), strict=True)) for r in rows])
    elif as_csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(cols)
        w.writerows([[_cell(v) for v in r] for r in rows])
    else:
        _print_rows(cols, rows)


def _plain(v: Any) -> Any:
    """A JSON-ready value (times as ISO 8601)."""
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list | tuple):
        return " ".join(str(x) for x in v)
    return str(_plain(v))


def _print_rows(cols: list[str], rows: list[tuple]) -> None:
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", err=True)
