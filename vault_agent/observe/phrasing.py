"""Phrasing facts: ask the LLM for 1–3 sentences, keep its text only if it is grounded.

The LLM never decides what is notable, nor the numbers, nor the confidence: it gets
the code-computed facts (with their rule-based sentences as a draft) and may only
rephrase them. Its answer passes :func:`.grounding.check` or is discarded for the
rule-based text, with the reason recorded as ``llm_rejected``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..llm import LLMBackend, LLMUnavailable, complete
from ..llm.grounding import check
from . import rules
from .facts import Fact

log = logging.getLogger("vault_agent.observe")

SYSTEM = (
    "You write one short note for a home sensor log. Use only the facts given. "
    "Do not add any number, time or date that is not in the facts; do not guess causes "
    "as certain; no lists, no headings, no advice. Write 1 to 3 plain sentences."
)


@dataclass(frozen=True)
class Phrased:
    """The body to write, the ``model`` that wrote it, and why an LLM's text was refused."""

    body: str
    model: str
    rejected: str = ""
    unavailable: str = ""


def messages_for(facts: list[Fact]) -> list[dict]:
    """The chat messages asking the LLM to phrase ``facts``."""
    lines = "\n".join(f"- {rules.sentence(f)}" for f in facts)
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"Facts computed from the sensor data:\n{lines}\n\nWrite the note.",
        },
    ]


def phrase(
    facts: list[Fact],
    llm: LLMBackend | None,
    timeout_s: float | None = None,
    extra_values: tuple[str, ...] = (),
    extra_dates: tuple[str, ...] = (),
) -> Phrased:
    """Phrase ``facts`` with ``llm`` if it answers with grounded text, else by rules.

    Never raises for LLM trouble: an unavailable LLM gives the rule-based text with
    ``unavailable`` set (the caller logs it once and retries next window).
    """
    rule_text = rules.phrase(facts)
    if llm is None:
        return Phrased(rule_text, rules.MODEL)
    try:
        text = complete(llm, messages_for(facts), timeout_s=timeout_s)
    except LLMUnavailable as e:
        return Phrased(rule_text, rules.MODEL, unavailable=str(e))
    text = " ".join(text.split()).strip("\"'`“”").strip()
    verdict = check(text, facts, extra_values=extra_values, extra_dates=extra_dates)
    if not verdict.ok:
        log.info("LLM text rejected (%s): %r", verdict.reason, text[:200])
        return Phrased(rule_text, rules.MODEL, rejected=verdict.reason)
    return Phrased(text, llm.name)
