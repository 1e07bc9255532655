"""``Store.compare``: one statistic over two periods, on replayed bundled data.

Truth comes from the raw CSVs (csv + numpy): replay reads the recordings' local times as
UTC, so a row's timestamp is its UTC time, and a period's mean is the mean of its rows.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from tests.support.replayed import OFFICE_FILES, ROOM_FILE, office_vault, room_vault
from vault_agent.ask.ask import ask
from vault_agent.query import QueryError, Store
from vault_agent.vault import Vault

D5, D6 = date(2015, 2, 5), date(2015, 2, 6)


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Vault:
    return office_vault(tmp_path_factory.mktemp("office") / "v")


@pytest.fixture(scope="module")
def room(tmp_path_factory) -> Vault:
    return room_vault(tmp_path_factory.mktemp("room") / "v", "S6")


def office_rows(column: str) -> tuple[np.ndarray, np.ndarray]:
    """(UTC epoch seconds, values) of one column of the office recordings."""
    times, values = [], []
    for p in OFFICE_FILES:
        with open(p, newline="") as fh:
            rows = csv.reader(fh)
            col = next(rows).index(column) + 1  # rows carry a row number first
            for row in rows:
                times.append(datetime.fromisoformat(row[1]).replace(tzinfo=UTC).timestamp())
                values.append(float(row[col]))
    return np.array(times), np.array(values)


def room_times() -> np.ndarray:
    """UTC epoch seconds of every row of the room recordings."""
    with open(ROOM_FILE, newline="") as fh:
        return np.array(
            [
                datetime.strptime(f"{r['Date']} {r['Time']}", "%d-%m-%Y %H:%M:%S")
                .replace(tzinfo=UTC)
                .timestamp()
                for r in csv.DictReader(fh)
            ]
        )


def utc(d: date, hour: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def in_spans(t: np.ndarray, spans: list[tuple[datetime, datetime]]) -> np.ndarray:
    """Rows whose time lies in any [a, b) span."""
    keep = np.zeros(len(t), dtype=bool)
    for a, b in spans:
        keep |= (t >= a.timestamp()) & (t < b.timestamp())
    return keep


def read_cited(v: Vault, cite: str) -> list[dict]:
    """The JSON lines a citation names (``#L5`` or ``#L5-L9``), read without the query layer."""
    path, _, rng = cite.partition("#L")
    a, _, b = rng.partition("-L")
    lines = v.path(path).read_text("utf-8").splitlines()
    return [json.loads(x) for x in lines[int(a) - 1 : int(b or a)]]


def test_two_days_mean_and_difference_match_the_csv(office: Vault) -> None:
    t, temp = office_rows("Temperature")
    store = Store(office.root)
    got = store.compare("office temperature", (D5, D5), (D6, D6))
    truth = [temp[in_spans(t, [(utc(d), utc(d + timedelta(1)))])] for d in (D5, D6)]
    assert (got.sensor, got.node, got.stat, got.unit) == ("office-temperature", "office",
                                                          "mean", "°C")  # fmt: skip
    for side, vals in zip((got.a, got.b), truth, strict=True):
        assert side.value == pytest.approx(vals.mean(), abs=1e-6)
        assert side.count == len(vals)
        assert side.at is None
        (c,) = side.cites  # one range over the day file: first to last line of the sensor
        lines = read_cited(office, c)
        assert {ln["sensor"] for ln in (lines[0], lines[-1])} == {"office-temperature"}
    assert got.a.spans == (("2015-02-05T00:00:00Z", "2015-02-06T00:00:00Z"),)
    assert got.difference == pytest.approx(truth[0].mean() - truth[1].mean(), abs=1e-6)
    d = got.as_dict()
    assert d["difference"] == got.difference and d["a"]["cites"] == list(got.a.cites)


def test_nights_as_periods_with_max_and_its_line(office: Vault) -> None:
    t, co2 = office_rows("CO2")
    nights_a = [
        (utc(d, 22), utc(d + timedelta(1), 6)) for d in (date(2015, 2, 3), D5 - timedelta(1))
    ]
    night_b = [(utc(D5, 22), utc(D6, 6))]
    store = Store(office.root)
    got = store.compare("office co2", nights_a, night_b, "max")
    for side, spans in ((got.a, nights_a), (got.b, night_b)):
        keep = in_spans(t, spans)
        vals, times = co2[keep], t[keep]
        i = int(np.argmax(vals))  # the first reading holding the max
        assert side.value == pytest.approx(vals[i])
        assert side.at == datetime.fromtimestamp(times[i], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert side.count == len(vals)
        (line,) = read_cited(office, side.cites[0])
        assert (line["sensor"], line["max"], line["max_at"]) == ("office-co2", side.value,
                                                                 side.at)  # fmt: skip
    assert len(got.a.spans) == 2
    assert got.difference == pytest.approx(got.a.value - got.b.value)


def test_binary_sensor_defaults_to_on_time_and_counts_readings(room: Vault) -> None:
    store = Store(room.root)
    (motion,) = [s for s in store.sensors() if s.binary]
    first, last = motion.first_day, motion.last_day
    assert first is not None and last is not None and first < last
    got = store.compare(motion, (first, first), (last, last))
    assert (got.stat, got.unit) == ("on_s", "s")
    t = room_times()
    n = store.compare(motion, (first, first), (last, last), "count")
    for side, d in ((n.a, first), (n.b, last)):
        assert side.value == float(in_spans(t, [(utc(d), utc(d + timedelta(1)))]).sum())
    assert n.unit == ""


def test_no_data_and_bad_input(office: Vault) -> None:
    store = Store(office.root)
    got = store.compare("office temperature", (D5, D5), (date(2015, 3, 1), date(2015, 3, 1)))
    assert got.a.value is not None and (got.b.value, got.b.count, got.b.cites) == (None, 0, ())
    assert got.difference is None
    with pytest.raises(QueryError, match="numeric sensor: compare mean, min, max, sum, count"):
        store.compare("office temperature", (D5, D5), (D6, D6), "on_s")
    with pytest.raises(QueryError, match="at least one"):
        store.compare("office temperature", [], (D6, D6))
    with pytest.raises(QueryError, match="reversed"):
        store.compare("office temperature", (D6, D5), (D6, D6))


def test_ask_answers_comparisons_through_the_query_layer(office: Vault) -> None:
    t, temp = office_rows("Temperature")
    m5, m6 = (temp[in_spans(t, [(utc(d), utc(d + timedelta(1)))])].mean() for d in (D5, D6))
    store = Store(office.root)
    for q, yes in (
        ("Was 2015-02-05 warmer than 2015-02-06 in the office?", m5 > m6),
        ("Was 2015-02-05 colder than 2015-02-06 in the office?", m5 < m6),
    ):
        d = ask(office, q, log=False, use_llm=False, store=store).as_dict()
        cmp = store.compare("office-temperature", (D5, D5), (D6, D6))
        assert d["verdict"] == yes, d["answer"]
        assert d["answer"].startswith("Yes" if yes else "No")
        assert f"{m5:.2f}".rstrip("0") in d["answer"] and f"{m6:.2f}".rstrip("0") in d["answer"]
        assert [c for f in d["facts"] for c in f["cites"]] == [*cmp.a.cites, *cmp.b.cites]
        assert [f["value"] for f in d["facts"]] == [cmp.a.value, cmp.b.value]
