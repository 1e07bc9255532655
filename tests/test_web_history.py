"""`vault serve` history, sensors and observations over HTTP (a real uvicorn server on
127.0.0.1) checked against figures computed here from the JSONL and Markdown files."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import frontmatter
import pytest

from tests.support.web import OFFICE_DAY, all_lines, get, lines_of, server, site_dir, vault

__all__ = ["server", "site_dir", "vault"]  # fixtures


# -- history ----------------------------------------------------------------------------
def test_history_numeric_matches_the_files(server, vault):
    v, _ = vault
    r = get(
        server,
        "/api/history",
        params={
            "sensor": "office-temperature",
            "since": "2015-02-03T00:00:00Z",
            "until": "2015-02-04T00:00:00Z",
            "every": "1h",
        },
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["sensor"] == "office/office-temperature" and d["unit"] == "°C"
    assert d["every"] == 3600 and d["binary"] is False
    buckets: dict[str, list[dict]] = defaultdict(list)
    for x in lines_of(v, OFFICE_DAY):
        if x["sensor"] == "office-temperature" and x["count"] > 0:
            buckets[x["start"][:13] + ":00:00Z"].append(x)
    assert [p["t"] for p in d["points"]] == sorted(buckets)
    for p in d["points"]:
        xs = buckets[p["t"]]
        mean = sum(x["mean"] * x["count"] for x in xs) / sum(x["count"] for x in xs)
        assert p["mean"] == pytest.approx(mean, abs=1e-6)
        assert p["min"] == pytest.approx(min(x["min"] for x in xs), abs=1e-9)
        assert p["max"] == pytest.approx(max(x["max"] for x in xs), abs=1e-9)
        assert p["count"] == sum(x["count"] for x in xs)


def test_history_downsamples_to_the_width(server, vault):
    v, _ = vault
    d = get(
        server, "/api/history", params={"sensor": "office-co2", "range": "7d", "width": "390"}
    ).json()
    newest = max(x["end"] for x in all_lines(v, "office"))
    assert d["until"] == newest  # a stopped node's range ends at its newest reading
    span = (
        datetime.fromisoformat(d["until"].replace("Z", "+00:00"))
        - datetime.fromisoformat(d["since"].replace("Z", "+00:00"))
    ).total_seconds()
    assert span == 7 * 86400
    assert span / d["every"] <= 390 and 0 < len(d["points"]) <= 390
    co2 = [x for x in all_lines(v, "office") if x["sensor"] == "office-co2" and x["count"]]
    assert max(p["max"] for p in d["points"]) == pytest.approx(max(x["max"] for x in co2))
    assert min(p["min"] for p in d["points"]) == pytest.approx(min(x["min"] for x in co2))


def test_history_binary_as_intervals(server, vault):
    v, _ = vault
    since, until = "2017-12-23T00:00:00Z", "2017-12-24T00:00:00Z"
    d = get(
        server, "/api/history", params={"sensor": "s6-motion", "since": since, "until": until}
    ).json()
    assert d["binary"] is True and "points" not in d
    lines = sorted(
        (x for x in all_lines(v, "pir-6") if since <= x["start"] < until),
        key=lambda x: x["start"],
    )
    truth: list[list] = []
    for x in lines:
        if (x.get("on_s") or 0) > 0:
            if truth and truth[-1][1] == x["start"]:
                truth[-1][1] = x["end"]
                truth[-1][2] += x["on_s"]
            else:
                truth.append([x["start"], x["end"], x["on_s"]])
    assert truth, "the test day has motion"
    got = [[i["start"], i["end"], i["on_s"]] for i in d["intervals"]]
    assert got == [[a, b, pytest.approx(s)] for a, b, s in truth]


def test_history_binary_buckets_hold_each_steps_on_time(server, vault):
    """Per-bucket on-time (what the chart draws at a coarse step) is the sum of the on
    seconds and events of the rollup lines whose window starts in the bucket; buckets
    without either are left out."""
    v, _ = vault
    since, until = "2017-12-22T00:00:00Z", "2017-12-25T00:00:00Z"
    d = get(
        server,
        "/api/history",
        params={"sensor": "s6-motion", "since": since, "until": until, "every": "2h"},
    ).json()
    assert d["every"] == 7200
    truth: dict[int, list[float]] = {}
    for x in all_lines(v, "pir-6"):
        if since <= x["start"] < until:
            t0 = datetime.fromisoformat(x["start"].replace("Z", "+00:00")).timestamp()
            b = truth.setdefault(int(t0 // 7200 * 7200), [0.0, 0])
            b[0] += x.get("on_s") or 0
            b[1] += x.get("events") or 0
    want = {k: v for k, v in truth.items() if v[0] > 0 or v[1] > 0}
    assert len(want) >= 3, "the test days have motion in several 2-hour buckets"

    def ts(text: str) -> int:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())

    got = {ts(b["t"]): (b["on_s"], b["events"], ts(b["end"]) - ts(b["t"])) for b in d["buckets"]}
    assert sorted(got) == sorted(want)
    for k, (on_s, events) in want.items():
        assert got[k] == (pytest.approx(on_s), events, 7200)


@pytest.mark.parametrize(
    "query,needle",
    [
        ({}, "sensor is required"),
        ({"sensor": "office-co2", "since": "yesterdayish"}, "since='yesterdayish'"),
        ({"sensor": "office-co2", "range": "2d"}, "range='2d'"),
        ({"sensor": "office-co2", "every": "-5"}, "every='-5'"),
        ({"sensor": "office-co2", "width": "abc"}, "width='abc'"),
        ({"sensor": "office-co2", "width": "5"}, "width=5 is out of range"),
        (
            {"sensor": "office-co2", "since": "2015-02-04", "until": "2015-02-03"},
            "must be before until",
        ),
        ({"sensor": "office-co2", "range": "1y", "every": "300"}, "points over this range"),
    ],
)
def test_history_bad_parameters(server, query, needle):
    r = get(server, "/api/history", params=query)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/plain")
    assert needle in r.text and len(r.text.strip().splitlines()) == 1


def test_history_unknown_sensor_names_the_known_ones(server):
    r = get(server, "/api/history", params={"sensor": "garage-humidity"})
    assert r.status_code == 404 and len(r.text.strip().splitlines()) == 1
    assert "garage-humidity" in r.text and "office-co2" in r.text


def test_sensors_list(server, vault):
    v, _ = vault
    keys = {s["key"] for s in get(server, "/api/sensors").json()["sensors"]}
    truth = {f"{x['node']}/{x['sensor']}" for n in ("office", "pir-6") for x in all_lines(v, n)}
    assert keys == truth


# -- observations -----------------------------------------------------------------------
def test_observations_in_a_window(server, vault):
    v, facts = vault
    since, until = "2015-02-03T00:00:00Z", "2015-02-03T23:59:59Z"
    d = get(
        server, "/api/observations", params={"node": "office", "since": since, "until": until}
    ).json()

    def overlaps(meta) -> bool:  # the window overlaps [since, until], else created in it
        w = meta.get("window") or {}
        if w.get("start") and w.get("end"):
            return str(w["start"]) <= until and str(w["end"]) > since
        return since <= str(meta["created"]) <= until

    truth = sorted(
        (str(frontmatter.load(p)["created"]), v.rel(p))
        for p in (v.root / "agents/office").rglob("*.md")
        if "/observations/" in v.rel(p) or "/memory/" in v.rel(p)
        if overlaps(frontmatter.load(p).metadata)
    )
    assert [o["path"] for o in d["observations"]] == [rel for _, rel in truth]
    assert {facts["obs_rel"], facts["early_rel"]} == {o["path"] for o in d["observations"]}
    peak = next(o for o in d["observations"] if o["path"] == facts["obs_rel"])
    assert peak["title"] == "CO2 peak in the afternoon"
    assert peak["url"] == f"/site/nodes/office/observations/{facts['obs_id']}.html"
    r = get(server, "/api/observations", params={"node": "Bad Node"})
    assert r.status_code == 400 and "node" in r.text
