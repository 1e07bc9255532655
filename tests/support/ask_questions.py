"""Everyday questions about the bundled data sets, with truth computed from the raw CSVs.

Shared by ``benchmarks/ask.py`` and ``tests/test_ask_questions.py``. The truth is
computed here with ``csv`` and ``numpy`` over ``datasets/`` — never through the vault,
the query layer or ``vault ask`` — following the documented meaning of each question
(docs/ask.md): the recordings' clock times are read as UTC (``vault replay``'s
default), "at night" on D is D 22:00 → D+1 06:00, a motion reading that is on holds
until the next reading for at most 45 s (1.5 × the 30 s interval), "the light went on"
is the first reading ≥ 100 lx (answered with its 5-minute window), "which day" ranks
daily means (motion: on-time), "warmer than" compares daily means, "above N" asks
whether the day's maximum exceeded N.

Observation questions are judged against the observation files themselves (read with
``yaml`` from the vault folder): the answer must cite exactly those whose window starts
on the day asked.

:func:`build_vault` replays the data into a vault with the nodes ``office``,
``room-s1``, ``room-s5``, ``room-s6`` and ``room-s7`` and runs the observer for the
office; :func:`questions` returns the question set; :func:`judge` scores one answer.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent.parent.parent / "datasets"
OFFICE_FILES = [
    DATA / "occupancy-detection" / "datatest.txt",
    DATA / "occupancy-detection" / "datatraining.txt",
]
ROOM_FILE = DATA / "room-occupancy-estimation" / "Occupancy_Estimation.csv"
ROOM_NODES = ("S1", "S5", "S6", "S7")
HOLD_S = 45.0  # a motion reading holds at most 1.5 × 30 s
LIGHT_ON = 100.0
TYPES = ("point", "temporal", "comparison", "observation", "negative")


# -- raw data ---------------------------------------------------------------------------
@dataclass
class Series:
    """One recorded column: times (datetime, naive = UTC) and values (numpy)."""

    t: list[datetime]
    v: np.ndarray

    def between(self, a: datetime, b: datetime) -> tuple[list[datetime], np.ndarray]:
        idx = [i for i, x in enumerate(self.t) if a <= x < b]
        return [self.t[i] for i in idx], self.v[idx]

    def day(self, d: date) -> tuple[list[datetime], np.ndarray]:
        a = datetime(d.year, d.month, d.day)
        return self.between(a, a + timedelta(days=1))

    def days(self) -> list[date]:
        return sorted({x.date() for x in self.t})


def load_office() -> dict[str, Series]:
    """``temperature``, ``humidity``, ``light``, ``co2`` of the office (both files)."""
    cols: dict[str, list[float]] = {"temperature": [], "humidity": [], "light": [], "co2": []}
    ts: list[datetime] = []
    for path in OFFICE_FILES:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        for row in rows[1:]:
            if len(row) == 8:
                row = row[1:]
            ts.append(datetime.strptime(row[0], "%Y-%m-%d %H:%M:%S"))
            for name, i in (("temperature", 1), ("humidity", 2), ("light", 3), ("co2", 4)):
                cols[name].append(float(row[i]))
    return {k: Series(ts, np.array(v)) for k, v in cols.items()}


def load_room() -> dict[str, Series]:
    """``s1-temperature``, ``s1-light``, ``s5-co2``, ``s6-motion``, ``s7-motion``."""
    with open(ROOM_FILE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    ts = [datetime.strptime(f"{r['Date']} {r['Time']}", "%d-%m-%Y %H:%M:%S") for r in rows]
    pick = {
        "s1-temperature": "S1_Temp",
        "s1-light": "S1_Light",
        "s5-co2": "S5_CO2",
        "s6-motion": "S6_PIR",
        "s7-motion": "S7_PIR",
    }
    return {k: Series(ts, np.array([float(r[c]) for r in rows])) for k, c in pick.items()}


# -- truths -----------------------------------------------------------------------------
def hm(t: datetime) -> str:
    return f"{t:%H:%M}"


def window5(t: datetime) -> str:
    """Start of the 5-minute window holding ``t`` (HH:MM)."""
    return f"{t.hour:02d}:{t.minute // 5 * 5:02d}"


def extreme(s: Series, a: datetime, b: datetime, which: str) -> tuple[float, datetime]:
    """The first reading holding the max/min in [a, b) and its time."""
    t, v = s.between(a, b)
    i = int(np.argmax(v) if which == "max" else np.argmin(v))
    return float(v[i]), t[i]


def on_seconds(s: Series, a: datetime, b: datetime) -> float:
    """Seconds a binary series was on within [a, b) (each on reading holds until the next
    reading, at most :data:`HOLD_S`)."""
    total = 0.0
    for i, (t, x) in enumerate(zip(s.t, s.v, strict=True)):
        if x <= 0.5 or t >= b:
            continue
        nxt = s.t[i + 1] if i + 1 < len(s.t) else t + timedelta(seconds=HOLD_S)
        end = min(nxt, t + timedelta(seconds=HOLD_S))
        lo, hi = max(t, a), min(end, b)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def events(s: Series, a: datetime, b: datetime) -> int:
    """Off→on transitions with the on reading in [a, b) (the reading before decides)."""
    n = 0
    for i, (t, x) in enumerate(zip(s.t, s.v, strict=True)):
        if a <= t < b and x > 0.5 and (i == 0 or s.v[i - 1] <= 0.5):
            n += 1
    return n


def night(d: date) -> tuple[datetime, datetime]:
    a = datetime(d.year, d.month, d.day, 22)
    return a, a + timedelta(hours=8)


def span(d: date, h0: int = 0, h1: int = 24) -> tuple[datetime, datetime]:
    a = datetime(d.year, d.month, d.day)
    return a + timedelta(hours=h0), a + timedelta(hours=h1)


# -- questions --------------------------------------------------------------------------
@dataclass
class Question:
    """A question, its type, and what a right answer must state.

    ``expect`` keys: ``value`` (+ ``tol``), ``time`` (HH:MM), ``day``, ``verdict``
    (True/False), ``no_data`` (True), ``observations`` (vault paths; judged on the
    answer's citations).
    """

    type: str
    text: str
    expect: dict[str, Any] = field(default_factory=dict)


def _v(x: float) -> dict[str, Any]:
    return {"value": x, "tol": max(0.06, abs(x) * 0.002)}


def questions(vault_root: Path | None = None) -> list[Question]:
    """The question set (≥ 50), truth from the raw CSVs (observations: from the files)."""
    off, room = load_office(), load_room()
    qs: list[Question] = []
    add = qs.append
    q_office_days = [date(2015, 2, d) for d in (3, 5, 6, 9)]
    # point: extremes with their time, means, a value at a clock time, counts, on-time
    for d in q_office_days:
        v, t = extreme(off["temperature"], *span(d), "max")
        add(
            Question(
                "point",
                f"What was the highest temperature in the office on {d}?",
                {**_v(v), "time": hm(t)},
            )
        )
    for d in q_office_days[:3]:
        v, t = extreme(off["co2"], *span(d), "min")
        add(
            Question(
                "point",
                f"What was the lowest CO2 in the office on {d:%B} {d.day}?",
                {**_v(v), "time": hm(t)},
            )
        )
    for d in (date(2015, 2, 5), date(2015, 2, 10)):
        _, vals = off["humidity"].day(d)
        add(
            Question(
                "point",
                f"What was the average humidity in the office on {d}?",
                _v(float(vals.mean())),
            )
        )
    d = date(2015, 2, 9)
    t0, t1 = span(d, 14, 16)
    _, vals = off["co2"].between(t0, t1)
    add(
        Question(
            "point",
            "What was the average CO2 in the office on Feb 9 between 2 and 4 pm?",
            _v(float(vals.mean())),
        )
    )
    for d, h in ((date(2015, 2, 5), 14), (date(2015, 2, 6), 9)):
        a = datetime(d.year, d.month, d.day, h)
        _, vals = off["temperature"].between(a, a + timedelta(minutes=5))
        add(
            Question(
                "point",
                f"What was the office temperature at {h:02d}:00 on {d}?",
                _v(float(vals.mean())),
            )
        )
    for d in (date(2017, 12, 22), date(2017, 12, 23)):
        v, t = extreme(room["s5-co2"], *span(d), "max")
        add(
            Question(
                "point", f"What was the highest CO2 in room-s5 on {d}?", {**_v(v), "time": hm(t)}
            )
        )
        add(
            Question(
                "point",
                f"How many times was there motion in room-s6 on {d:%b} {d.day}?",
                {"value": float(events(room["s6-motion"], *span(d))), "tol": 0.01},
            )
        )
    for d in (date(2017, 12, 22), date(2017, 12, 24)):
        s = on_seconds(room["s7-motion"], *span(d))
        add(
            Question(
                "point",
                f"How many minutes of motion did room-s7 see on {d}?",
                {"value": s / 60, "tol": 0.01},
            )
        )
    v, t = extreme(room["s1-temperature"], *span(date(2018, 1, 11)), "min")
    add(
        Question(
            "point",
            "What was the lowest temperature on s1 on 11 January 2018?",
            {**_v(v), "time": hm(t)},
        )
    )
    # temporal: first light, motion at a part of day, first/last motion
    for d in (date(2015, 2, 3), date(2015, 2, 5), date(2015, 2, 6), date(2015, 2, 9)):
        t, v = off["light"].day(d)
        first = next(x for x, y in zip(t, v, strict=True) if y >= LIGHT_ON)
        add(
            Question(
                "temporal",
                f"When did the light first go on in the office on {d}?",
                {"time": window5(first)},
            )
        )
    for node, d in (
        ("s6", date(2017, 12, 22)),
        ("s7", date(2017, 12, 23)),
        ("s6", date(2017, 12, 25)),
    ):
        s = room[f"{node}-motion"]
        a, b = night(d)
        t, v = s.between(a, b)
        on = [x for x, y in zip(t, v, strict=True) if y > 0.5]
        exp = {"verdict": bool(on)}
        if on:
            exp["time"] = window5(on[0])
        add(Question("temporal", f"When was there motion in room-{node} at night on {d}?", exp))
    for node, d, (h0, h1), words in (
        ("s6", date(2017, 12, 23), (6, 12), "in the morning"),
        ("s7", date(2017, 12, 24), (12, 18), "in the afternoon"),
        ("s6", date(2017, 12, 26), (2, 4), "between 2 and 4 am"),
    ):
        t, v = room[f"{node}-motion"].between(*span(d, h0, h1))
        on = [x for x, y in zip(t, v, strict=True) if y > 0.5]
        add(
            Question(
                "temporal",
                f"Was there motion in room-{node} {words} on {d:%B} {d.day}?",
                {"verdict": bool(on)},
            )
        )
    for node, d, which in (
        ("s6", date(2017, 12, 22), "first"),
        ("s7", date(2017, 12, 23), "last"),
        ("s6", date(2018, 1, 10), "first"),
    ):
        t, v = room[f"{node}-motion"].day(d)
        on = [x for x, y in zip(t, v, strict=True) if y > 0.5]
        pick = on[0] if which == "first" else on[-1]
        add(
            Question(
                "temporal",
                f"When was the {which} motion in room-{node} on {d}?",
                {"time": window5(pick)},
            )
        )
    for d in (date(2015, 2, 5), date(2015, 2, 8)):
        v, t = extreme(off["temperature"], *span(d, 6, 12), "min")
        add(
            Question(
                "temporal",
                f"When was it coldest in the office in the morning on {d:%b} {d.day}?",
                {**_v(v), "time": hm(t)},
            )
        )
    # comparison: two days, which day, above N
    for d1, d2 in (
        (date(2015, 2, 5), date(2015, 2, 6)),
        (date(2015, 2, 7), date(2015, 2, 9)),
        (date(2015, 2, 3), date(2015, 2, 8)),
    ):
        m1 = float(off["temperature"].day(d1)[1].mean())
        m2 = float(off["temperature"].day(d2)[1].mean())
        add(
            Question(
                "comparison", f"Was {d1} warmer than {d2} in the office?", {"verdict": m1 > m2}
            )
        )
    m1 = float(off["co2"].day(date(2015, 2, 4))[1].mean())
    m2 = float(off["co2"].day(date(2015, 2, 10))[1].mean())
    add(
        Question(
            "comparison",
            "Was the CO2 in the office lower on Feb 4 than on Feb 10?",
            {"verdict": m1 < m2},
        )
    )
    for which, word in (("min", "coldest"), ("max", "warmest")):
        days = off["temperature"].days()
        means = [float(off["temperature"].day(d)[1].mean()) for d in days]
        i = int(np.argmin(means) if which == "min" else np.argmax(means))
        add(
            Question(
                "comparison",
                f"Which day was the {word} in the office?",
                {"day": days[i].isoformat()},
            )
        )
    days = off["co2"].days()
    means = [float(off["co2"].day(d)[1].mean()) for d in days]
    add(
        Question(
            "comparison",
            "Which day had the highest CO2 in the office?",
            {"day": days[int(np.argmax(means))].isoformat()},
        )
    )
    s = room["s6-motion"]
    rdays = s.days()
    ons = [on_seconds(s, *span(d)) for d in rdays]
    add(
        Question(
            "comparison",
            "Which day had the most motion in room-s6?",
            {"day": rdays[int(np.argmax(ons))].isoformat()},
        )
    )
    for d, n in ((date(2015, 2, 9), 1000), (date(2015, 2, 7), 600), (date(2015, 2, 5), 1200)):
        mx = float(off["co2"].day(d)[1].max())
        add(
            Question(
                "comparison",
                f"Was the CO2 in the office above {n} ppm on {d}?",
                {"verdict": mx > n},
            )
        )
    mn = float(off["temperature"].day(date(2015, 2, 8))[1].min())
    add(
        Question(
            "comparison",
            "Did the office temperature drop below 19.5 °C on Feb 8?",
            {"verdict": mn < 19.5},
        )
    )
    # negative: no data for the day, or no such sensor
    for text in (
        "What was the highest temperature in the office on 2015-03-01?",
        "What was the average humidity in the office on Feb 11, 2015?",
        "When was there motion in room-s6 at night on 2017-12-28?",
        "What was the CO2 in room-s5 on 2018-01-05?",
        "How many times was there motion in room-s7 on Dec 31, 2017?",
        "What was the lowest temperature in the office on 2015-01-31?",
    ):
        add(Question("negative", text, {"no_data": True}))
    for text in (
        "What was the air pressure in the office on 2015-02-05?",
        "Was there motion in the office on Feb 5?",
    ):
        add(Question("negative", text, {"no_data": True}))
    # observation: what a node noticed on a day
    if vault_root is not None:
        for d in (date(2015, 2, 4), date(2015, 2, 7), date(2015, 2, 9), date(2015, 2, 3)):
            add(
                Question(
                    "observation",
                    f"What did the office node notice on {d}?",
                    {"observations": observations_on(vault_root, "office", d)},
                )
            )
    return qs


def observations_on(root: Path, node: str, d: date) -> list[str]:
    """Vault paths of ``node``'s observations whose window starts on day ``d`` (UTC),
    read straight from the files' frontmatter."""
    import yaml

    out = []
    base = root / "agents" / node / "observations"
    for p in sorted(base.rglob("*.md")):
        text = p.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
        if meta.get("kind") != "observation":
            continue
        start = str((meta.get("window") or {}).get("start") or "")
        if start[:10] == d.isoformat():
            out.append(p.relative_to(root).as_posix())
    return out


# -- judging ----------------------------------------------------------------------------
NUM_RE = re.compile(r"(?<![\w.\-:])-?\d+(?:\.\d+)?(?![\d:])")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def numbers(text: str) -> list[float]:
    """Numbers stated in ``text`` (dates, clock times and names like s6-motion left out)."""
    text = DATE_RE.sub(" ", text)
    text = re.sub(r"\b\d{1,2}:\d{2}\b", " ", text)
    return [float(x) for x in NUM_RE.findall(text)]


def says_no(text: str) -> bool:
    t = text.strip().lower()
    return bool(
        re.match(r"\W*no\b", t)
        or re.search(r"\b(not|no motion|did not|didn't|wasn't|was not|never)\b", t)
    )


def judge(q: Question, answer: dict[str, Any]) -> tuple[bool, str]:
    """Is ``answer`` (``vault ask --json``) right for ``q``? (ok, why not)."""
    text = answer.get("answer", "")
    e = q.expect
    if "no_data" in e:
        ok = bool(re.search(r"\bno (data|sensor)\b", text, re.I)) and not numbers(text)
        return ok, "" if ok else "no-data answer expected"
    if "observations" in e:
        cited = sorted(c["path"] for c in answer.get("citations", []))
        ok = cited == sorted(e["observations"])
        return ok, "" if ok else f"cited {len(cited)}, expected {len(e['observations'])}"
    if "verdict" in e and says_no(text) == e["verdict"]:
        return False, f"verdict should be {'yes' if e['verdict'] else 'no'}"
    if "time" in e and e["time"] not in text:
        return False, f"time {e['time']} missing"
    if "day" in e and e["day"] not in text:
        return False, f"day {e['day']} missing"
    if "value" in e:
        x, tol = e["value"], e["tol"]
        if not any(math.isclose(n, x, abs_tol=tol) for n in numbers(text)):
            return False, f"value {x:.3f} missing"
    return True, ""


def invented(answer: dict[str, Any], question: str) -> list[float]:
    """Numbers in a sensor answer that are none of its facts' values (with rounding), nor
    in the question, nor in the computed sentence: an LLM's invention shows here.
    Observation answers quote the observation files verbatim and are not counted."""
    if answer.get("route") != "sensor":
        return []
    allowed: list[float] = [float(x) for x in numbers(question)]
    for f in answer.get("facts", []):
        if f.get("value") is not None:
            v = float(f["value"])
            allowed += [v, v / 60, v / 3600]
    allowed += numbers(answer.get("template") or "")
    out = []
    for n in numbers(answer.get("answer", "")):
        tol = 0.51 if n == int(n) else 0.051
        if not any(abs(abs(n) - abs(a)) <= tol for a in allowed):
            out.append(n)
    return out


def build_vault(root: Path, observe: bool = True) -> Path:
    """Replay the bundled data into a new vault at ``root`` (nodes ``office``,
    ``room-s1/-s5/-s6/-s7``) and run the observer over the office's days."""
    from tests.support.replayed import office_vault
    from vault_agent.cli.observe import _data_span
    from vault_agent.llm import NoLLM
    from vault_agent.observe.observer import Observer
    from vault_agent.sensors.replay import configure_node, replay
    from vault_agent.vault import Vault

    v = office_vault(root)  # the office data set replayed, as OFFICE_FILES
    for src in ROOM_NODES:
        w = Vault(v.root, f"room-{src.lower()}")
        w._add_node_folder()
        replay(w, ROOM_FILE, configure_node(w, ROOM_FILE, src))
    if observe:
        Observer(v, llm=NoLLM()).backfill(*_data_span(v))
    return v.root


Judge = Callable[[Question, dict[str, Any]], tuple[bool, str]]
