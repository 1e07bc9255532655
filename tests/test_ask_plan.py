"""The question planner: one test per rule of plan.py / when.py (pure, no vault)."""

from __future__ import annotations

from datetime import date, time

import pytest

from vault_agent.ask.plan import find_part, parse, reference_day
from vault_agent.ask.question import QueryError, clean_query
from vault_agent.ask.when import find_days
from vault_agent.query import SensorInfo

OFFICE = (date(2015, 2, 2), date(2015, 2, 10))
ROOM = (date(2017, 12, 22), date(2018, 1, 11))
VOCAB = [
    SensorInfo("office", f"office-{n}", q, u, first_day=OFFICE[0], last_day=OFFICE[1])
    for n, q, u in (
        ("temperature", "temperature", "°C"),
        ("humidity", "humidity", "%RH"),
        ("light", "illuminance", "lx"),
        ("co2", "co2", "ppm"),
    )
] + [
    SensorInfo(
        "room-s6",
        "s6-motion",
        "motion",
        "",
        room="room",
        binary=True,
        first_day=ROOM[0],
        last_day=ROOM[1],
    ),
    SensorInfo(
        "room-s7",
        "s7-motion",
        "motion",
        "",
        room="room",
        binary=True,
        first_day=ROOM[0],
        last_day=ROOM[1],
    ),
    SensorInfo("room-s5", "s5-co2", "co2", "ppm", room="room", first_day=ROOM[0], last_day=ROOM[1]),
    SensorInfo(
        "kitchen",
        "k-temp",
        "temperature",
        "°C",
        name="stove thermometer",
        aliases=("cooking corner", "hob heat"),
        first_day=date(2025, 10, 1),
        last_day=date(2025, 10, 15),
    ),
]
TODAY = date(2025, 10, 15)


def plan(q: str):
    return parse(q, VOCAB, TODAY)


def test_a_sensor_alias_names_the_sensor_not_its_node():
    """room-s7's light has the alias "light": "the light in the office" is the office's."""
    lamp = SensorInfo("room-s7", "s7-light", "illuminance", "lx", room="room", aliases=("light",))
    p = parse("when did the light go on in the office", [*VOCAB, lamp], TODAY)
    assert p.sensors == (("office", "office-light"),) and p.stat == "first"
    p = parse("when did the light go on in the room", [*VOCAB, lamp], TODAY)
    assert p.sensors == (("room-s7", "s7-light"),)


def test_node_aliases_name_the_node():
    p = parse("highest co2 in the study", VOCAB, TODAY, {"room-s5": ("study",)})
    assert p.sensors == (("room-s5", "s5-co2"),)
    assert parse("highest co2 in the study", VOCAB, TODAY).nodes == ()


@pytest.mark.parametrize(
    "q", ["when did the light go on in the office", "what time did the lights come on"]
)
def test_going_on_is_the_first_time(q):
    assert plan(q).stat == "first"


# -- subject: node, room, alias, sensor name, quantity words -----------------------------
@pytest.mark.parametrize(
    "q,sensors",
    [
        ("highest temperature in the office", [("office", "office-temperature")]),
        ("how humid was the office", [("office", "office-humidity")]),
        ("when did the lights go on in the office", [("office", "office-light")]),
        ("average co2 in room-s5", [("room-s5", "s5-co2")]),
        ("how many times was there motion on s6", [("room-s6", "s6-motion")]),
        ("was there movement in the room", [("room-s6", "s6-motion"), ("room-s7", "s7-motion")]),
        ("highest value of the stove thermometer", [("kitchen", "k-temp")]),
        ("how warm was the cooking corner", [("kitchen", "k-temp")]),
        ("lowest k-temp", [("kitchen", "k-temp")]),
        ("what was the hob heat at noon", [("kitchen", "k-temp")]),
    ],
)
def test_subject_words(q, sensors):
    assert list(plan(q).sensors) == sensors


def test_quantity_nobody_measures_is_unknown():
    p = plan("what was the air pressure in the office on 2015-02-05?")
    assert p.kind == "sensor" and p.stat == "unknown" and p.unknown == "pressure on office"


def test_no_subject_goes_to_text():
    p = plan("how is the boiler set up?")
    assert p.kind == "text" and not p.sensors


# -- dates ---------------------------------------------------------------------------------
REF = date(2018, 1, 11)  # a Thursday


@pytest.mark.parametrize(
    "q,since,until",
    [
        ("on 2015-02-05", date(2015, 2, 5), date(2015, 2, 5)),
        ("on Feb 5", date(2017, 2, 5), date(2017, 2, 5)),  # latest Feb 5 not after REF
        ("on February 5th, 2015", date(2015, 2, 5), date(2015, 2, 5)),
        ("on 5 Feb 2015", date(2015, 2, 5), date(2015, 2, 5)),
        ("on the 23rd of December", date(2017, 12, 23), date(2017, 12, 23)),
        ("on Christmas day", date(2017, 12, 25), date(2017, 12, 25)),
        ("on Christmas Eve", date(2017, 12, 24), date(2017, 12, 24)),
        ("on boxing day", date(2017, 12, 26), date(2017, 12, 26)),
        ("on New Year's day", date(2018, 1, 1), date(2018, 1, 1)),
        ("yesterday", date(2018, 1, 10), date(2018, 1, 10)),
        ("today", REF, REF),
        ("3 days ago", date(2018, 1, 8), date(2018, 1, 8)),
        ("last week", date(2018, 1, 1), date(2018, 1, 7)),
        ("this week", date(2018, 1, 8), date(2018, 1, 11)),
        ("last month", date(2017, 12, 1), date(2017, 12, 31)),
        ("in the past 2 weeks", date(2017, 12, 28), REF),
        ("on Monday", date(2018, 1, 8), date(2018, 1, 8)),
        ("last Thursday", date(2018, 1, 4), date(2018, 1, 4)),
        ("on Thursday", REF, REF),
    ],
)
def test_date_words(q, since, until):
    (r,) = find_days(q, REF)
    assert (r.since, r.until) == (since, until)


def test_two_dates_compare_or_make_a_range():
    p = plan("was 2015-02-05 warmer than 2015-02-06 in the office?")
    assert p.stat == "compare" and p.direction == "max"
    assert (p.days.since, p.days2.since) == (date(2015, 2, 5), date(2015, 2, 6))
    p = plan("average temperature in the office between Feb 7 and Feb 5, 2015")
    assert p.days2 is None and (p.days.since, p.days.until) == (date(2015, 2, 5), date(2015, 2, 7))


def test_relative_dates_count_from_the_last_data_of_a_stopped_node():
    assert reference_day(VOCAB[:1], TODAY) == OFFICE[1]
    assert reference_day(VOCAB[-1:], TODAY) == TODAY  # kitchen has data up to today
    p = plan("highest temperature in the office yesterday")
    assert p.days.since == date(2015, 2, 9)
    p = plan("highest temperature in the kitchen yesterday")
    assert p.days.since == date(2025, 10, 14)


def test_bad_dates_are_not_dates():
    assert find_days("on 2015-02-30 and Feb 31", REF) == []


# -- parts of day ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "q,part,at",
    [
        ("motion at night", (time(22), time(6)), None),
        ("motion overnight", (time(22), time(6)), None),
        ("in the morning", (time(6), time(12)), None),
        ("in the afternoon", (time(12), time(18)), None),
        ("in the evening", (time(18), time(22)), None),
        ("between 2 and 4 am", (time(2), time(4)), None),
        ("between 2 and 4 pm", (time(14), time(16)), None),
        ("between 11 pm and 1 am", (time(23), time(1)), None),
        ("from 09:00 to 11:30", (time(9), time(11, 30)), None),
        ("after 6 pm", (time(18), time(0)), None),
        ("before 8 am", (time(0), time(8)), None),
        ("at 14:00", None, time(14)),
        ("at 3 pm", None, time(15)),
        ("at 5", None, None),  # not a clock time
    ],
)
def test_parts_of_day(q, part, at):
    got_part, _, got_at = find_part(q)
    assert (got_part, got_at) == (part, at)


# -- statistics ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "q,stat,direction",
    [
        ("what was the highest temperature in the office on Feb 5", "max", "max"),
        ("when was the office warmest on Feb 5", "max", "max"),
        ("lowest co2 in the office", "min", "min"),
        ("the average humidity in the office", "mean", ""),
        ("how warm was the office on Feb 5", "mean", ""),
        ("office temperature at 14:00 on Feb 5", "value_at", ""),
        ("when did the light first go on in the office", "first", ""),
        ("which day was the coldest in the office", "which_day", "min"),
        ("which day had the highest co2 in the office", "which_day", "max"),
        ("was the office colder on Feb 5 than on Feb 6", "compare", "min"),
        ("was the co2 in the office above 1000 ppm", "threshold", "above"),
        ("did the office temperature drop below 19.5", "threshold", "below"),
        ("how many times was there motion on s6", "count", ""),
        ("how many hours of motion on s6", "duration", ""),
        ("how long was there motion on s6", "duration", ""),
        ("when was there motion on s6 at night", "when", ""),
        ("was there motion on s6 on Christmas day", "any", ""),
        ("when was the last motion on s6", "last", ""),
        ("what was the highest motion on s6", "when", "max"),
    ],
)
def test_statistics(q, stat, direction):
    p = plan(q)
    assert p.kind == "sensor" and (p.stat, p.direction) == (stat, direction)


def test_threshold_value():
    assert plan("was the co2 in the office above 1000 ppm").threshold == 1000.0


def test_observation_questions():
    p = plan("What did the office node notice on 2015-02-05?")
    assert p.kind == "observation" and p.nodes == ("office",)
    assert p.days.since == date(2015, 2, 5)


@pytest.mark.parametrize("q", ["", "   ", "\n\t"])
def test_empty_question(q):
    with pytest.raises(QueryError, match="empty"):
        clean_query(q)
