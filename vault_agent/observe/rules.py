"""Rule-based phrasing (``model: rules/v1``): one sentence per fact, from templates.

Used when no LLM answers, when the LLM's text fails the grounding check, and as the
draft the LLM is asked to rephrase. Every number in these sentences comes from the
fact's ``values``/``times``/``dates``.
"""

from __future__ import annotations

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


def sentence(f: Fact) -> str:
    """The rule-based sentence for one fact."""
    v, t, u = f.values, f.times, _unit(f)
    window = f"between {t.get('from')} and {t.get('to')}"
    if f.kind in ("level_high", "level_low"):
        word = "higher" if f.kind == "level_high" else "lower"
        return (
            f"{f.sensor} averaged {v['value']}{u} {window}, {word} than usual: "
            f"{v['usual']}{u} at this time over {_days(f)} (z = {v['z']})."
        )
    if f.kind == "unusual_event":
        n = v["events"]
        return (
            f"{_noun(f)} on {f.sensor} at {t['first']} ({n} event{'s' if n != '1' else ''}), "
            f"unusual: {_days(f)} had none between {t['quiet_from']} and {t['quiet_to']}."
        )
    if f.kind == "quieter":
        return (
            f"No {_noun(f).lower()} on {f.sensor} {window}, although {v['active_days']} of "
            f"{_days(f)} had some at this time."
        )
    if f.kind == "busier":
        return (
            f"{f.sensor} saw {v['events']} events {window}, more than usual "
            f"(about {v['usual']} at this time over {_days(f)})."
        )
    if f.kind in ("fast_rise", "fast_drop"):
        word = "rose" if f.kind == "fast_rise" else "fell"
        return (
            f"{f.sensor} {word} from {v['from_value']} to {v['to_value']}{u} between "
            f"{t['t0']} and {t['t1']} ({v['change']}{u} in {v['minutes']} min)."
        )
    if f.kind in ("silent", "read_errors"):
        when = f"{f.dates['last_date']} {t['last']}" if "last_date" in f.dates else t["last"]
        what = (
            f"only failed reads ({v['errors']} errors)"
            if f.kind == "read_errors"
            else "no readings"
        )
        if f.also:
            names = ", ".join(f.sensors)
            return (
                f"{v['sensors']} sensors ({names}) sent no readings {window}; "
                f"the last reading was at {when}."
            )
        return f"{f.sensor} sent {what} {window}; its last reading was at {when}."
    if f.kind == "stuck":
        return (
            f"{f.sensor} has read exactly {v['value']}{u} since {t['since']} "
            f"({v['hours']} h), although it varied at this time on {v['varied_days']} of "
            f"{_days(f)}: it may be stuck."
        )
    if f.kind == "stuck_on":
        return (
            f"{f.sensor} has been on continuously since {t['since']} ({v['hours']} h): "
            "it may be stuck."
        )
    return f"{f.sensor}: {f.kind}."


def phrase(facts: list[Fact]) -> str:
    """Rule-based text for up to three facts: one sentence each."""
    return " ".join(sentence(f) for f in facts[:3])


def title(facts: list[Fact]) -> str:
    """A short title: the top fact's sensor and kind (``s6-pir: unusual event``)."""
    top = facts[0]
    more = f" (+{len(facts) - 1})" if len(facts) > 1 else ""
    return f"{top.sensor}: {top.kind.replace('_', ' ')}{more}"
