"""Rule-based phrasing (``model: rules/v1``): one sentence per fact, from templates.

Used when no LLM answers, when the LLM's text fails the grounding check, and as the
draft the LLM is asked to rephrase. Every number in these sentences comes from the
fact's ``values``/``times``/``dates``.
"""

from __future__ import annotations

from collections.abc import Callable

from .facts import Fact

MODEL = "rules/v1"

EVENT_NOUN = {"motion": "Motion", "door": "Door activity", "occupancy": "Presence"}


def _unit(f: Fact) -> str:
    if not f.unit:
        return ""
    return f.unit if f.unit.startswith("°") or f.unit == "%" else f" {f.unit}"


def _days(f: Fact) -> str:
    n = f.values.get("days", "0")
    return "the last day" if n == "1" else f"the last {n} days"


def _noun(f: Fact) -> str:
    return EVENT_NOUN.get(f.quantity, "Activity")


def _level(f: Fact) -> str:
    v, t, u = f.values, f.times, _unit(f)
    word = "higher" if f.kind == "level_high" else "lower"
    return (
        f"{f.sensor} averaged {v['value']}{u} {_window(t)}, {word} than usual: "
        f"{v['usual']}{u} at this time over {_days(f)} (z = {v['z']})."
    )


def _unusual_event(f: Fact) -> str:
    v, t = f.values, f.times
    n = v["events"]
    return (
        f"{_noun(f)} on {f.sensor} at {t['first']} ({n} event{'s' if n != '1' else ''}), "
        f"unusual: {_days(f)} had none between {t['quiet_from']} and {t['quiet_to']}."
    )


def _quieter(f: Fact) -> str:
    return (
        f"No {_noun(f).lower()} on {f.sensor} {_window(f.times)}, although "
        f"{f.values['active_days']} of {_days(f)} had some at this time."
    )


def _busier(f: Fact) -> str:
    v = f.values
    return (
        f"{f.sensor} saw {v['events']} events {_window(f.times)}, more than usual "
        f"(about {v['usual']} at this time over {_days(f)})."
    )


def _swing(f: Fact) -> str:
    v, t, u = f.values, f.times, _unit(f)
    word = "rose" if f.kind == "fast_rise" else "fell"
    return (
        f"{f.sensor} {word} from {v['from_value']} to {v['to_value']}{u} between "
        f"{t['t0']} and {t['t1']} ({v['change']}{u} in {v['minutes']} min)."
    )


def _silent(f: Fact) -> str:
    v, t = f.values, f.times
    when = f"{f.dates['last_date']} {t['last']}" if "last_date" in f.dates else t["last"]
    what = f"only failed reads ({v['errors']} errors)" if f.kind == "read_errors" else "no readings"
    if f.also:
        names = ", ".join(f.sensors)
        return (
            f"{v['sensors']} sensors ({names}) sent no readings {_window(t)}; "
            f"the last reading was at {when}."
        )
    return f"{f.sensor} sent {what} {_window(t)}; its last reading was at {when}."


def _stuck(f: Fact) -> str:
    v, t = f.values, f.times
    return (
        f"{f.sensor} has read exactly {v['value']}{_unit(f)} since {t['since']} "
        f"({v['hours']} h), although it varied at this time on {v['varied_days']} of "
        f"{_days(f)}: it may be stuck."
    )


def _stuck_on(f: Fact) -> str:
    return (
        f"{f.sensor} has been on continuously since {f.times['since']} "
        f"({f.values['hours']} h): it may be stuck."
    )


def _window(t: dict[str, str]) -> str:
    return f"between {t.get('from')} and {t.get('to')}"


SENTENCES: dict[str, Callable[[Fact], str]] = {
    "level_high": _level,
    "level_low": _level,
    "unusual_event": _unusual_event,
    "quieter": _quieter,
    "busier": _busier,
    "fast_rise": _swing,
    "fast_drop": _swing,
    "silent": _silent,
    "read_errors": _silent,
    "stuck": _stuck,
    "stuck_on": _stuck_on,
}
"""The sentence template of each fact kind (every kind of :data:`.facts.DETECTORS`)."""


def sentence(f: Fact) -> str:
    """The rule-based sentence for one fact (``SENSOR: KIND.`` for a kind without one)."""
    render = SENTENCES.get(f.kind)
    return render(f) if render else f"{f.sensor}: {f.kind}."


def phrase(facts: list[Fact]) -> str:
    """Rule-based text for up to three facts: one sentence each."""
    return " ".join(sentence(f) for f in facts[:3])


def title(facts: list[Fact]) -> str:
    """A short title: the top fact's sensor and kind (``s6-pir: unusual event``)."""
    top = facts[0]
    more = f" (+{len(facts) - 1})" if len(facts) > 1 else ""
    return f"{top.sensor}: {top.kind.replace('_', ' ')}{more}"
