"""``vault history`` and ``vault query`` through the real CLI (CliRunner and a process)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.support.core_fixtures import cli, make_vault, vault_proc
from vault_agent.query import Store
from vault_agent.vault import Vault

REL = "agents/office/sensors/2015/02/2015-02-05.jsonl"


def _lines() -> list[dict]:
    out = []
    for i in range(24):  # 07:00 … 08:55, one line every 5 min; means 20.0 … 22.3
        h, m = 7 + i // 12, (i % 12) * 5
        m2, h2 = (m + 5) % 60, h + (m + 5) // 60
        out.append(
            {"v": 1, "node": "office", "sensor": "office-temperature", "quantity": "temperature",
             "unit": "°C", "start": f"2015-02-05T{h:02d}:{m:02d}:00Z",
             "end": f"2015-02-05T{h2:02d}:{m2:02d}:00Z", "count": 5, "mean": 20 + i / 10,
             "min": 19.5 + i / 10, "max": 20.5 + i / 10}
        )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def vault(tmp_path_factory) -> Vault:
    v = make_vault(tmp_path_factory.mktemp("cli"), node="office")
    p = v.path(REL)
    p.parent.mkdir(parents=True)
    p.write_text("".join(json.dumps(d) + "\n" for d in _lines()), encoding="utf-8")
    return v


def truth_hourly() -> dict[str, float]:
    """Count-weighted hourly means computed from the lines written."""
    out: dict[str, list] = {}
    for d in _lines():
        out.setdefault(d["start"][:13] + ":00:00Z", []).append(d)
    return {k: sum(x["mean"] * x["count"] for x in v) / sum(x["count"] for x in v)
            for k, v in out.items()}  # fmt: skip


def test_history_json(vault: Vault) -> None:
    r = cli("history", "office temperature", "--since", "2015-02-05", "--until", "2015-02-05",
            "--every", "1h", "--json", "--vault", str(vault.root))  # fmt: skip
    assert r.exit_code == 0, r.output
    (series,) = json.loads(r.stdout)
    assert (series["sensor"], series["agg"], series["every_s"], series["timezone"]) == (
        "office-temperature", "mean", 3600, "UTC")  # fmt: skip
    got = {p["t"]: p["value"] for p in series["points"]}
    assert got.keys() == truth_hourly().keys()
    for k, v in truth_hourly().items():
        assert got[k] == pytest.approx(v)
    assert series["points"][0]["cites"] == [f"{REL}#L1-L12"]


def test_history_csv_max_cites_the_line(vault: Vault) -> None:
    r = cli("history", "office-temperature", "--since", "2015-02-05T08:00", "--until",
            "2015-02-05T09:00", "--every", "1d", "--agg", "max", "--csv",
            "--vault", str(vault.root))  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 1
    want = max(d["max"] for d in _lines() if d["start"] >= "2015-02-05T08")
    assert float(rows[0]["value"]) == pytest.approx(want)
    path, _, n = rows[0]["cites"].partition("#L")
    assert json.loads(vault.path(path).read_text().splitlines()[int(n) - 1])["max"] == want


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kitchen"], "no sensor called 'kitchen'; known: office-temperature"),
        (["office-temperature", "--every", "7x"], "--every '7x' is not a duration"),
        (["office-temperature", "--since", "2015-02-06", "--until", "2015-02-05"],
         "the range is reversed"),
        (["office-temperature", "--since", "Feb 5"], "--since 'Feb 5' is not a date"),
        (["office-temperature", "--agg", "median"], "unknown aggregate 'median'"),
        (["office-temperature", "--agg", "on_s"], "on_s applies to binary sensors"),
        (["office-temperature", "--since", "2015-03-01", "--until", "2015-03-01"],
         "No data for office-temperature from 2015-03-01 to 2015-03-01; "
         "office-temperature covers 2015-02-05 … 2015-02-05 (UTC)."),
    ],
)  # fmt: skip
def test_history_errors_are_one_line(vault: Vault, args: list[str], message: str) -> None:
    r = cli("history", *args, "--vault", str(vault.root))
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


def test_query_json_csv_and_refusals(vault: Vault) -> None:
    sql = "SELECT sensor, count(*) AS n, max(max) AS hi FROM rollups GROUP BY sensor"
    r = cli("query", sql, "--json", "--vault", str(vault.root))
    assert r.exit_code == 0, r.output
    lines = _lines()
    assert json.loads(r.stdout) == [
        {"sensor": "office-temperature", "n": len(lines), "hi": max(d["max"] for d in lines)}
    ]
    r = cli("query", "SELECT line, cite FROM rollups ORDER BY line LIMIT 2", "--csv",
            "--vault", str(vault.root))  # fmt: skip
    assert r.stdout.splitlines() == ["line,cite", f"1,{REL}#L1", f"2,{REL}#L2"]
    for bad in ("DROP TABLE _lines", "SELECT nope FROM rollups"):
        r = cli("query", bad, "--vault", str(vault.root))
        assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.stderr
    r = cli("query", "SELECT count(*) FROM rollups", "--vault", str(vault.root))
    assert r.exit_code == 0 and r.stdout.split()[-1] == str(len(lines))


def test_history_as_a_process(vault: Vault, tmp_path: Path) -> None:
    p = vault_proc("history", "office-temperature", "--since", "2015-02-05", "--json",
                   cwd=vault.root)  # fmt: skip
    assert p.returncode == 0, p.stderr
    (series,) = json.loads(p.stdout)
    assert len(series["points"]) == len(_lines())
    p = vault_proc("query", "DELETE FROM _lines", cwd=vault.root)
    assert p.returncode == 1
    assert p.stderr.strip() == ("Error: only read-only SELECT/WITH queries are allowed, not DELETE")


@pytest.mark.parametrize(
    ("sql", "view", "missing"),
    [
        ("SELECT nope FROM rollups", "rollups", "nope"),
        ("SELECT r.temp FROM rollups r WHERE r.count > 0", "rollups", "temp"),
        ("SELECT id FROM sensors WHERE colour = 'red'", "sensors", "colour"),
    ],
)
def test_query_unknown_column_lists_the_views_columns(
    vault: Vault, sql: str, view: str, missing: str
) -> None:
    store = Store(vault.root)
    cols, _ = store.sql(f"SELECT * FROM {view} LIMIT 0")  # the view's real columns
    store.close()
    r = cli("query", sql, "--vault", str(vault.root))
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.strip() == f"Error: no column {missing} in {view}; columns: {', '.join(cols)}"
    assert "cite" in cols or view != "rollups"


def test_query_unknown_column_over_two_views(vault: Vault) -> None:
    sql = "SELECT r.node, s.colour FROM rollups r JOIN sensors s ON r.sensor = s.id"
    r = cli("query", sql, "--vault", str(vault.root))
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "no column colour in rollups or sensors; rollups columns: node, sensor," in r.stderr
    assert "; sensors columns: node, id, quantity," in r.stderr
