"""The query layer over replayed bundled data: truth from the raw CSVs (csv + numpy).

Replay reads the recordings' local times as UTC, so a row's timestamp is its UTC time.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from tests.support.replayed import OFFICE_FILES, ROOM_FILE, office_vault, room_vault
from vault_agent.query import Store, UnknownSensorError
from vault_agent.vault import Vault


@pytest.fixture(scope="session")
def office(tmp_path_factory) -> Vault:
    return office_vault(tmp_path_factory.mktemp("office") / "v")


@pytest.fixture(scope="session")
def room(tmp_path_factory) -> Vault:
    return room_vault(tmp_path_factory.mktemp("room") / "v", "S6")


def office_rows(column: str) -> tuple[list[datetime], np.ndarray]:
    """(UTC times, values) of one column; rows carry a row number before the header's fields."""
    times, values = [], []
    for p in OFFICE_FILES:
        with open(p, newline="") as fh:
            rows = csv.reader(fh)
            col = next(rows).index(column) + 1
            for row in rows:
                times.append(datetime.fromisoformat(row[1]).replace(tzinfo=UTC))
                values.append(float(row[col]))
    return times, np.array(values)


def room_rows(column: str) -> tuple[list[datetime], np.ndarray]:
    times, values = [], []
    with open(ROOM_FILE, newline="") as fh:
        for row in csv.DictReader(fh):
            d = datetime.strptime(f"{row['Date']} {row['Time']}", "%d-%m-%Y %H:%M:%S")
            times.append(d.replace(tzinfo=UTC))
            values.append(float(row[column]))
    return times, np.array(values)


def read_cited(v: Vault, cite: str) -> dict:
    path, _, n = cite.partition("#L")
    return json.loads(v.path(path).read_text("utf-8").splitlines()[int(n) - 1])


def test_day_summaries_match_the_csv(office: Vault) -> None:
    times, temp = office_rows("Temperature")
    by_day: dict[date, list[int]] = defaultdict(list)
    for i, t in enumerate(times):
        by_day[t.date()].append(i)
    store = Store(office.root)
    got = store.day_summaries("office-temperature", min(by_day), max(by_day))
    assert [s.day for s in got] == sorted(by_day)
    for s in got:
        idx = np.array(by_day[s.day])
        vals = temp[idx]
        first_max = times[idx[int(np.argmax(vals))]]
        assert s.count == len(idx)
        assert s.mean == pytest.approx(vals.mean(), abs=1e-6)
        assert (s.max, s.min) == (pytest.approx(vals.max()), pytest.approx(vals.min()))
        assert s.max_at == first_max.strftime("%Y-%m-%dT%H:%M:%SZ")
        line = read_cited(office, s.max_cite)
        assert (line["sensor"], line["max"], line["max_at"]) == (
            "office-temperature",
            s.max,
            s.max_at,
        )


def test_hourly_series_and_extreme_match_the_csv(office: Vault) -> None:
    times, light = office_rows("Light")
    day = date(2015, 2, 5)
    hours: dict[datetime, list[float]] = defaultdict(list)
    for t, x in zip(times, light, strict=True):
        if t.date() == day:
            hours[t.replace(minute=0, second=0)].append(x)
    store = Store(office.root)
    pts = store.series("office light", day, day, 3600, "mean")
    assert [p.t for p in pts] == [h.strftime("%Y-%m-%dT%H:%M:%SZ") for h in sorted(hours)]
    for p, h in zip(pts, sorted(hours), strict=True):
        assert p.value == pytest.approx(np.mean(hours[h]), abs=1e-5)
        assert p.count == len(hours[h])
    # "When did the light first go on in the office on 2015-02-05?" (first reading > 100 lx)
    first_on = next(t for t, x in zip(times, light, strict=True) if t.date() == day and x > 100)
    on = [p for p in store.series("office-light", day, day, 300, "max") if p.value > 100]
    assert on[0].t == first_on.replace(minute=first_on.minute // 5 * 5, second=0).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    hi = store.extreme("office-light", date(2015, 2, 1), date(2015, 2, 28), "max")
    i = int(np.argmax(light))
    assert hi.value == pytest.approx(light[i])
    assert hi.at == times[i].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert read_cited(office, hi.cite)["max_at"] == hi.at


def test_no_data_names_the_coverage(office: Vault) -> None:
    store = Store(office.root)
    times, _ = office_rows("Temperature")
    assert store.coverage("office-temperature") == (times[0].date(), times[-1].date())
    with pytest.raises(Exception) as e:
        store.extreme("office temperature", date(2015, 3, 1), date(2015, 3, 1), "max")
    assert str(e.value) == (
        "No data for office-temperature from 2015-03-01 to 2015-03-01; office-temperature "
        f"covers {times[0].date()} … {times[-1].date()} (UTC)."
    )


def test_replay_gives_the_sensors_words(office: Vault, room: Vault) -> None:
    office_store, room_store = Store(office.root), Store(room.root)
    for text, want in [
        ("office temperature", "office-temperature"),
        ("temp", "office-temperature"),
        ("office light", "office-light"),
        ("co2", "office-co2"),
        ("carbon dioxide", "office-co2"),
        ("humidity ratio", "office-humidity-ratio"),
        ("rh", "office-humidity"),
    ]:
        assert office_store.resolve(text).id == want, text
    info = office_store.resolve("office-temperature")
    assert (info.room, info.name) == ("office", "office temperature")
    assert room_store.resolve("room motion").id == "s6-motion"
    assert room_store.resolve("motion in the room").room == "room"
    with pytest.raises(UnknownSensorError, match="no sensor called 'kitchen'; known: s6-motion"):
        room_store.resolve("kitchen")


def test_motion_intervals_match_the_pir_readings(room: Vault) -> None:
    times, pir = room_rows("S6_PIR")
    store = Store(room.root)
    t0, t1 = times[0].replace(hour=0, minute=0, second=0), times[-1] + timedelta(days=1)
    ivs = store.intervals("s6-motion", t0, t1)
    spans = [(datetime.fromisoformat(i.start), datetime.fromisoformat(i.end)) for i in ivs]
    on_times = [t for t, x in zip(times, pir, strict=True) if x > 0.5]
    assert on_times and spans
    for t in on_times:  # every "on" reading lies in an interval…
        assert any(a <= t < z for a, z in spans), t
    for a, z in spans:  # …and every interval holds one; intervals are apart
        assert any(a <= t < z for t in on_times), (a, z)
    assert all(z1 < a2 for (_, z1), (a2, _) in zip(spans, spans[1:], strict=False))
    transitions = sum(1 for i, x in enumerate(pir) if x > 0.5 and (i == 0 or pir[i - 1] < 0.5))
    assert sum(i.events for i in ivs) == transitions
    # "When was there motion in the room at night on 2017-12-22?" 22:00–06:00
    night = (datetime(2017, 12, 22, 22, tzinfo=UTC), datetime(2017, 12, 23, 6, tzinfo=UTC))
    truth = [t for t in on_times if night[0] <= t < night[1]]
    got = store.intervals("room motion", *night)
    assert bool(got) == bool(truth)
    for iv in got:
        assert read_cited(room, iv.cites[0].split("-L")[0])["sensor"] == "s6-motion"
