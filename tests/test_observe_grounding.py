"""The grounding check: an LLM may only state numbers that are among the facts."""

from __future__ import annotations

import pytest

from vault_agent.llm.grounding import check, count_sentences, number_ok
from vault_agent.observe.facts import Fact

LEVEL = Fact(
    "level_high",
    "kitchen-temp",
    "temperature",
    "°C",
    2.0,
    0.8,
    values={"value": "23.1", "usual": "21.3", "z": "3.4", "days": "14"},
    times={"from": "14:00", "to": "15:00"},
)
EVENT = Fact(
    "unusual_event",
    "hall-motion",
    "motion",
    "",
    2.2,
    0.9,
    values={"events": "2", "days": "14"},
    times={"first": "03:04", "quiet_from": "01:00", "quiet_to": "05:00"},
    dates={"last_date": "2025-10-14"},
)
CO2 = Fact(
    "fast_rise",
    "s5-co2",
    "co2",
    "ppm",
    1.5,
    0.6,
    values={"from_value": "450", "to_value": "818", "change": "368", "minutes": "25"},
    times={"t0": "08:05", "t1": "08:30"},
)


@pytest.mark.parametrize(
    "text",
    [
        "The kitchen was warm: 23.1 °C between 14:00 and 15:00, against 21.3 °C usually.",
        "Kitchen temperature averaged about 23 °C, higher than the usual 21 °C over 14 days.",
        "kitchen-temp ran hot (z = 3.4) from 14:00 to 15:00.",
        "It was 23.1°C, well above normal.",
    ],
)
def test_grounded_level_text_passes(text: str) -> None:
    v = check(text, [LEVEL])
    assert v.ok, v.reason


@pytest.mark.parametrize(
    "text, bad",
    [
        ("The kitchen reached 25.4 °C between 14:00 and 15:00.", "number 25.4"),
        ("The kitchen was 23.1 °C, 5 degrees above normal.", "number 5"),
        ("The kitchen was 23.1 °C at 16:30.", "time 16:30"),
        ("Warm since 4 pm, 23.1 °C.", "time 4 pm"),
        ("The kitchen was 23.1 °C on 2025-10-13.", "date 2025-10-13"),
        ("Warm: 23.1 °C over 30 days.", "number 30"),
    ],
)
def test_hallucinated_numbers_rejected(text: str, bad: str) -> None:
    v = check(text, [LEVEL])
    assert not v.ok
    assert v.reason.startswith(bad)


def test_times_dates_and_12h_clock() -> None:
    assert check("Warm since 2 pm, 23.1 °C.", [LEVEL]).ok  # 2 pm is 14:00
    assert check(
        "Motion in the hall at 3:04 am; none from 1 am to 5 am on the last 14 nights.", [EVENT]
    ).ok
    assert check("Motion at 03:04 on 2025-10-14 (2 events).", [EVENT]).ok
    assert not check("Motion at 03:05.", [EVENT]).ok
    assert not check("Motion at 3:04 pm.", [EVENT]).ok


def test_rounding_of_round_numbers() -> None:
    assert check("CO2 climbed from about 450 to around 800 ppm in 25 minutes.", [CO2]).ok
    assert check("CO2 rose by 368 ppm between 08:05 and 08:30.", [CO2]).ok
    assert not check("CO2 rose to 1000 ppm.", [CO2]).ok  # 818 → 1000 is not rounding
    assert not check("CO2 rose to 820.5 ppm.", [CO2]).ok


def test_names_with_digits_are_not_numbers() -> None:
    assert check("s5-co2 on node alpaca-1 (qwen2.5 says) rose to 818 ppm.", [CO2]).ok
    assert check("CO2 in room S5 rose to 818 ppm.", [CO2]).ok


def test_sign_may_be_dropped_and_negative_checked() -> None:
    f = Fact("level_low", "t", "temperature", "°C", 2, 0.5, values={"z": "-3.2", "value": "18.0"})
    assert check("Cold: 18 °C (z = -3.2).", [f]).ok
    assert check("Cold: 18 °C, 3.2 standard deviations below usual.", [f]).ok
    assert not check("Cold: -18.5 °C.", [f]).ok


def test_number_words() -> None:
    assert check("Motion in the hall at 03:04: two events, none in fourteen days.", [EVENT]).ok
    v = check("Motion at 03:04: five people walked by.", [EVENT])
    assert not v.ok and v.reason == "number five not in facts"
    assert check("No one expected motion at 03:04.", [EVENT]).ok


def test_length_and_sentences() -> None:
    assert not check("", [LEVEL]).ok
    long = "It was 23.1 °C. " * 4
    v = check(long, [LEVEL])
    assert not v.ok and "4 sentences" in v.reason
    assert not check("x" * 700, [LEVEL]).ok
    assert count_sentences("It was 23.1 °C at 3 a.m. in the hall. Then it cooled.") == 2


def test_extra_values_allowed() -> None:
    assert not check("Over the last 1 hour it was 23.1 °C.", [LEVEL]).ok
    assert check("Over the last 1 hour it was 23.1 °C.", [LEVEL], extra_values=["1"]).ok


@pytest.mark.parametrize(
    "x, ok", [("23", True), ("23.1", True), ("23.14", False), ("1,158", True), ("24", False)]
)
def test_number_ok(x: str, ok: bool) -> None:
    assert number_ok(x, [23.1, 1158.0]) is ok
