"""Phrase computed facts with an LLM, keeping only what the facts support.

The LLM sees the question and the templated sentence (the computed facts, times in the
vault's zone) and is asked to say it in one or two plain sentences. Its text is kept
only if it passes, in order:

1. it has words, not only citation markers (``[1] [2] …`` is a known loop of small
   models) — :func:`only_markers`;
2. the observer's grounding check (:func:`vault_agent.llm.grounding.check`): every
   number, clock time and date it states is one of the computed ones (with rounding);
3. the meaning is kept (:func:`meaning_lost`): a yes/no verdict is not reversed (a
   computed "No" phrased as "Yes…", or as a claim without a negation), and a which-day
   answer names the computed day. A 0.5B model phrased "no motion at night" as "There
   was motion … at 06:00" (06:00 being the end of the night) and named the first day of
   the range as the coldest: every number in it was allowed, its meaning was not.

Otherwise the templated sentence stays and the reason is returned (and logged). The
stream is read with an idle timeout (no new text for ``idle_s`` seconds) separate from
the total limit (:func:`stream_with_timeouts`). A phrasing cut by either keeps the
templated sentence, which is complete; a cut text answer (``ask._answer``) is kept
and marked cut.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .facts import Computed

log = logging.getLogger("vault_agent.ask")

SYSTEM = (
    "You restate facts computed from a home's sensor files for a person. "
    "Use only the facts given. Copy every number, time and date exactly as written; "
    "add no other number, time or date. Answer in one or two short sentences, "
    "without brackets or source numbers."
)
MARKER_RE = re.compile(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]")
IDLE_S = 20.0  # no new text for this long: the answer is cut (seconds)
TOTAL_S = 60.0  # the whole phrasing may take this long (seconds)


@dataclass(frozen=True)
class Phrased:
    """The text to show: the LLM's when ``ok``, else the template; ``reason`` why not,
    ``cut`` when the stream was stopped by a timeout."""

    text: str
    ok: bool
    reason: str = ""
    cut: bool = False


def messages(question: str, computed: Computed) -> list[dict]:
    """Chat messages: the facts, the question, and a last line that asks for prose.

    The facts name the clock of their times themselves when they state times ("(Times in
    UTC.)" or a replayed data set's local clock); otherwise the vault's zone is named.
    """
    clock = "" if "(Times " in computed.sentence else f"; times in {computed.tz}"
    user = (
        f"Facts (computed from the sensor files{clock}):\n"
        f"{computed.sentence}\n\n"
        f"Question: {question}\n"
        "Write the answer to the question as one or two plain sentences using the facts."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def only_markers(text: str) -> bool:
    """True when ``text`` has no words once citation markers and punctuation are removed."""
    return not re.search(r"\w", MARKER_RE.sub(" ", text))


def stream_with_timeouts(
    pieces: Iterator[str],
    idle_s: float,
    total_s: float,
    on_text: Callable[[str], None] | None = None,
) -> tuple[str, bool]:
    """Read ``pieces`` in a thread; (text so far, cut). Cut when no piece came for
    ``idle_s`` seconds or ``total_s`` passed; errors after the first piece also cut
    (the text so far is kept); an error before any text is raised.
    """
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        try:
            for p in pieces:
                q.put(("piece", p))
            q.put(("done", None))
        except Exception as e:  # noqa: BLE001 - handed to the reader below
            q.put(("error", e))

    threading.Thread(target=pump, name="ask-llm-stream", daemon=True).start()
    deadline = time.monotonic() + total_s
    got: list[str] = []
    while True:
        wait = min(idle_s, deadline - time.monotonic())
        if wait <= 0:
            return "".join(got), True
        try:
            kind, item = q.get(timeout=wait)
        except queue.Empty:
            return "".join(got), True
        if kind == "done":
            return "".join(got), False
        if kind == "error":
            if not got:
                raise item
            return "".join(got), True
        got.append(item)
        if on_text:
            on_text(item)


def verdict_flipped(text: str, verdict: bool | None) -> bool:
    """True when ``text`` opens with the opposite of the computed yes/no ``verdict``."""
    if verdict is None:
        return False
    m = re.match(r"\W*(yes|no)\b", text.strip(), re.IGNORECASE)
    if m is None:
        return False
    return (m.group(1).lower() == "yes") != verdict


NEGATION_RE = re.compile(
    r"\b(?:no|not|none|never|nothing|neither|nor|without|didn't|wasn't|weren't|isn't)\b"
    r"|n't\b",
    re.IGNORECASE,
)
MONTHS = (
    "january february march april may june july august september october november december"
).split()


def mentions_day(text: str, iso: str) -> bool:
    """Does ``text`` name the day ``iso`` (YYYY-MM-DD), as ISO or as "Feb 8" / "8 February"?"""
    if iso in text:
        return True
    month, day = MONTHS[int(iso[5:7]) - 1], int(iso[8:10])
    mon = rf"(?:{month}|{month[:3]})\.?"
    pattern = rf"\b{mon}\s+{day}(?:st|nd|rd|th)?\b|\b{day}(?:st|nd|rd|th)?\s+(?:of\s+)?{mon}\b"
    return re.search(pattern, text, re.IGNORECASE) is not None


def meaning_lost(text: str, computed: Computed) -> str:
    """'' when ``text`` keeps the computed meaning, else the reason.

    - a computed "no" (``verdict`` False) needs a negation in the text;
    - a computed "yes" may not be stated with a negation unless the text opens with "Yes",
      nor may the periods of a when-question (they have no verdict);
    - a which-day answer (a fact of kind ``day``) must name that day.
    """
    negated = NEGATION_RE.search(text) is not None
    if computed.verdict is False and not negated:
        return "the answer drops the computed no"
    if computed.verdict is True and negated and not re.match(r"\W*yes\b", text, re.I):
        return "the answer negates the computed yes"
    # a when-question has no verdict, but its motion periods (facts of kind interval)
    # are a "yes" all the same: "there was no motion" would reverse them
    if computed.verdict is None and negated and any(f.kind == "interval" for f in computed.facts):
        return "the answer negates the computed periods"
    for f in computed.facts:
        if f.kind == "day" and f.day and not mentions_day(text, f.day):
            return f"the answer does not name the computed day {f.day}"
    return ""


def check(text: str, computed: Computed, question: str = "") -> str:
    """'' if the LLM's ``text`` may be shown for ``computed``, else the reason."""
    from ..llm.grounding import check as grounded

    body = MARKER_RE.sub("", text).strip()
    if only_markers(text):
        return "the answer is only citation markers" if text.strip() else "empty answer"
    q_numbers = re.findall(r"-?\d+(?:\.\d+)?", question)
    verdict = grounded(
        body,
        [],
        extra_values=[str(v) for v in computed.values] + q_numbers,
        extra_times=sorted(computed.times),
        extra_dates=sorted(computed.dates),
    )
    if not verdict.ok:
        return verdict.reason
    if verdict_flipped(body, computed.verdict):
        return "the answer reverses the computed yes/no"
    return meaning_lost(body, computed)


def phrase(
    backend,
    question: str,
    computed: Computed,
    *,
    idle_s: float = IDLE_S,
    total_s: float = TOTAL_S,
) -> Phrased:
    """The LLM's phrasing of ``computed`` if it passes :func:`check`, else the template.

    Never raises for LLM trouble: an unreachable model, a timeout or a rejected text
    keep the templated sentence with the reason.
    """
    from ..llm import LLMUnavailable

    template = computed.sentence
    try:
        pieces = backend.chat(messages(question, computed), stream=True, timeout_s=total_s)
        text, cut = stream_with_timeouts(pieces, idle_s, total_s)
    except LLMUnavailable as e:
        log.info("event=ask_phrase result=unavailable reason=%r", str(e))
        return Phrased(template, False, f"no LLM: {e}")
    reason = "cut by a timeout" if cut else check(text, computed, question)
    text = re.sub(r"\s+([.,;:!?])", r"\1", MARKER_RE.sub("", text).strip())
    if reason:
        log.info("event=ask_phrase result=rejected reason=%r", reason)
        return Phrased(template, False, reason, cut)
    return Phrased(text, True, "", cut)
