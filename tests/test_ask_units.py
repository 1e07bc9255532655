"""Fusion, citations, time words: pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from vault_agent.ask.citations import CitationFilter, check
from vault_agent.ask.fusion import FusionParams, best_chunks, fuse, minmax, rrf
from vault_agent.ask.when import find_days

NOW = datetime(2025, 10, 15, 9, 30, tzinfo=UTC)  # a Wednesday


def test_rrf_k60_formula():
    s = rrf([["a", "b"], ["b", "c"]])
    assert s["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert s["a"] == pytest.approx(1 / 61) and s["c"] == pytest.approx(1 / 62)


def test_minmax_weights_and_missing():
    s = minmax([{"a": 10, "b": 0}, {"b": 1.0, "c": 0.5}], [0.5, 0.5])
    assert s["a"] == pytest.approx(0.5) and s["b"] == pytest.approx(0.5) and s["c"] == 0.0


def test_fuse_methods_agree_on_clear_winner():
    bm, vec = {"x": 5.0, "y": 1.0}, {"x": 0.9, "y": 0.2}
    for p in (FusionParams("rrf", 1.0), FusionParams("minmax", 0.5)):
        f = fuse(bm, vec, p)
        assert max(f, key=f.get) == "x"
    with pytest.raises(ValueError):
        fuse(bm, vec, FusionParams("nope"))


def test_best_chunks_takes_max_per_document():
    d = best_chunks({"a.md#0": 0.2, "a.md#1": 0.9, "b.md#0": 0.5}, bonus=0.1)
    assert d["a.md"] == pytest.approx(0.92) and d["b.md"] == 0.5


SOURCES = [f"knowledge-base/{i}.md" for i in range(1, 6)]


def test_citation_beyond_sources_is_dropped():
    c = check("Warm [1]. Cold [7]. Both [2, 9].", SOURCES)
    assert c.text == "Warm [1]. Cold. Both [2]."
    assert [x.n for x in c.citations] == [1, 2]
    assert c.citations[0].path == "knowledge-base/1.md"
    assert c.dropped == (7, 9)


def test_citation_zero_is_invalid():
    assert check("x [0]", SOURCES).dropped == (0,)


def test_stream_filter_holds_partial_citations():
    f = CitationFilter(5)
    out = "".join(f.feed(p) for p in ["Cold [", "7", "] and warm [", "1]", " ok"]) + f.flush()
    assert out == "Cold  and warm [1] ok"
    assert f.dropped == [7]


@pytest.mark.parametrize(
    "q,since,until",
    [
        ("what happened yesterday?", date(2025, 10, 14), date(2025, 10, 14)),
        ("motion last night", date(2025, 10, 14), date(2025, 10, 14)),
        ("when was there motion at night last week?", date(2025, 10, 6), date(2025, 10, 12)),
        ("anything today", date(2025, 10, 15), date(2025, 10, 15)),
        ("in the past 3 days", date(2025, 10, 12), date(2025, 10, 15)),
        ("last month", date(2025, 9, 1), date(2025, 9, 30)),
    ],
)
def test_time_words(q, since, until):
    (r,) = find_days(q, NOW.date())
    assert (r.since, r.until) == (since, until)


def test_no_time_words():
    assert find_days("how does the boiler work", NOW.date()) == []


def _hit(n: int, words: int):
    from vault_agent.ask.retrieve import Hit

    text = " ".join(f"word{i} 2015-02-05 23.4" for i in range(words))
    return Hit(f"id{n}", f"notes/n{n}.md", 1.0, f"Note {n}", text, "a", "knowledge", "", False, "")


@pytest.mark.parametrize("n_ctx,max_tokens", [(2048, 160), (1024, 256), (4096, 512)])
def test_prompt_fits_the_models_context_in_tokens(n_ctx, max_tokens):
    from vault_agent.ask.prompts import estimate_tokens, messages

    hits = [_hit(n, 2000) for n in range(5)]
    msgs = messages("how warm?", hits, "2025-10-15", {"n_ctx": n_ctx, "max_tokens": max_tokens})
    used = sum(estimate_tokens(m["content"]) for m in msgs)
    assert n_ctx // 3 < used <= n_ctx - max_tokens
    assert msgs[-1]["content"].endswith("Question: how warm?\nAnswer:")


def test_token_estimate_counts_digits_one_by_one():
    from vault_agent.ask.prompts import estimate_tokens

    assert estimate_tokens("2015-02-05") == 10 and estimate_tokens("temperature") == 3
