"""Week and month pages count days in the vault's time zone (vault.toml ``timezone``), as
the query layer's day summaries do, not UTC days. Truth: the replayed JSONL lines grouped
here by the Tokyo date of each window's start (zoneinfo), count-weighted means."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.test_site_helpers import DATATEST, parse
from vault_agent.sensors.replay import configure_node, replay
from vault_agent.site.build import build_site
from vault_agent.site.charts import fmt_num
from vault_agent.vault import Vault

TZ = "Asia/Tokyo"  # UTC+9: a UTC day's evening is the next Tokyo day


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    v, _ = Vault.init(tmp_path_factory.mktemp("tz") / "vault", "office")
    toml = v.path("vault.toml")
    toml.write_text(f'timezone = "{TZ}"\n' + toml.read_text(encoding="utf-8"), encoding="utf-8")
    v.commit("vault in Tokyo time", "edit")
    replay(v, DATATEST, configure_node(v, DATATEST), backfill=True, commit=True)
    return v, build_site(v)


def tokyo_days(v: Vault, sensor: str) -> dict[str, dict]:
    """Per Tokyo day: min, count-weighted mean, max, windows (lines with readings)."""
    acc: dict[str, list[dict]] = defaultdict(list)
    for f in sorted(v.path("agents/office/sensors").rglob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if d["sensor"] != sensor or not d["count"]:
                continue
            t = datetime.fromisoformat(d["start"].replace("Z", "+00:00"))
            acc[t.astimezone(ZoneInfo(TZ)).date().isoformat()].append(d)
    out = {}
    for day, rows in sorted(acc.items()):
        w = sum(r["count"] for r in rows)
        out[day] = {
            "min": min(r["min"] for r in rows),
            "max": max(r["max"] for r in rows),
            "mean": sum(r["mean"] * r["count"] for r in rows) / w,
            "windows": len(rows),
        }
    return out


def test_week_rows_are_tokyo_days(built):
    v, report = built
    truth = tokyo_days(v, "office-co2")
    assert list(truth) == ["2015-02-02", "2015-02-03", "2015-02-04"]
    # the UTC file of 2015-02-02 (14:19–24:00 UTC) is mostly Tokyo's 2015-02-03
    utc_file = v.path("agents/office/sensors/2015/02/2015-02-02.jsonl").read_text()
    utc_windows = sum(1 for ln in utc_file.splitlines() if '"office-co2"' in ln)
    assert truth["2015-02-02"]["windows"] < utc_windows / 5
    page = parse(report.html_dir / "nodes/office/sensors/office-co2/2015-W06.html")
    assert f"days and times in {TZ}" in page.text
    table = next(t for t in page.tables if t and t[0][0] == "Day")
    rows = table[1:]
    assert [r[0] for r in rows] == [date.fromisoformat(d).strftime("%a %d") for d in truth]
    for row, (day, e) in zip(rows, truth.items(), strict=True):
        assert row[1].split()[0] == fmt_num(e["min"]), day
        assert row[2] == fmt_num(e["mean"]), day
        assert row[3].split()[0] == fmt_num(e["max"]), day
        assert row[4] == str(e["windows"]), day


def test_times_shown_in_the_vault_zone(built):
    v, report = built
    page = parse(report.html_dir / "nodes/office/sensors/office-co2/2015-02.html")
    table = next(t for t in page.tables if t and t[0][0] == "Day")
    # the max of a Tokyo day, found in the raw lines and shown at its Tokyo time
    best: dict[str, tuple[float, str]] = {}
    for f in sorted(v.path("agents/office/sensors").rglob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if d["sensor"] != "office-co2" or not d["count"]:
                continue
            at = datetime.fromisoformat((d.get("max_at") or d["start"]).replace("Z", "+00:00"))
            t = datetime.fromisoformat(d["start"].replace("Z", "+00:00")).astimezone(ZoneInfo(TZ))
            day = t.date().isoformat()
            if day not in best or d["max"] > best[day][0]:
                best[day] = (d["max"], at.astimezone(ZoneInfo(TZ)).strftime("%H:%M"))
    for row in table[1:]:
        day = next(d for d in best if date.fromisoformat(d).strftime("%a %d") == row[0])
        value, hhmm = best[day]
        assert row[3] == f"{fmt_num(value)} {hhmm}", (row, best[day])
