"""The ``llamacpp`` backend: failure modes without a model, and a real small GGUF model.

The real-model tests are marked ``real_llm`` and use the GGUF from ``$VAULT_TEST_GGUF``
or the cache of ``python -m tests.support.gguf`` (Qwen2.5-Coder-0.5B-Instruct Q4_K_M,
shipped in PyPI wheels); they skip with the reason where it is absent.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import find_gguf
from tests.support import rollups as R
from vault_agent.llm import LLMBackend, LLMUnavailable, complete, get_backend
from vault_agent.llm.llamacpp_backend import LlamaCppBackend, _piece_of
from vault_agent.observe.observer import Observer, forget_llm_outages
from vault_agent.vault import Vault, layout

HAS_XLLAMACPP = importlib.util.find_spec("xllamacpp") is not None
MSGS = [{"role": "user", "content": "Reply with the single word: ready"}]


def test_config_and_name(tmp_path: Path) -> None:
    b = get_backend(
        {
            "backend": "llamacpp",
            "model": "~/models/tiny.gguf",
            "timeout_s": 9,
            "n_ctx": 512,
            "n_threads": 2,
        }
    )
    assert isinstance(b, LlamaCppBackend) and isinstance(b, LLMBackend)
    assert b.name == "llamacpp/tiny.gguf"
    assert b.model_path == os.path.expanduser("~/models/tiny.gguf")
    assert (b.timeout_s, b.n_ctx, b.n_threads) == (9.0, 512, 2)


def test_missing_file(tmp_path: Path) -> None:
    b = LlamaCppBackend(str(tmp_path / "nope.gguf"), timeout_s=1)
    with pytest.raises(LLMUnavailable, match="not found"):
        b.chat(MSGS)


@pytest.mark.skipif(not HAS_XLLAMACPP, reason="xllamacpp not installed (extra 'llamacpp')")
def test_corrupt_gguf_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "bad.gguf"
    p.write_bytes(b"GGUF" + os.urandom(4096))
    b = LlamaCppBackend(str(p), timeout_s=20)
    with pytest.raises(LLMUnavailable, match="could not load"):
        b.chat(MSGS)


def test_chunk_parsing() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Hel"}}], "object": "chunk"}
    assert _piece_of(chunk) == "Hel"
    assert _piece_of('{"choices": [{"delta": {"role": "assistant", "content": null}}]}') == ""
    assert _piece_of({"choices": []}) == ""
    with pytest.raises(LLMUnavailable, match="context"):
        _piece_of({"error": {"message": "context too long"}})
    with pytest.raises(ValueError):
        _piece_of("{garbage")


# -- a real model ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real() -> LlamaCppBackend:
    if not HAS_XLLAMACPP:
        pytest.skip("xllamacpp not installed (pip install 'vault-agent[llamacpp]')")
    path = find_gguf()
    if path is None:
        pytest.skip("no GGUF model: set VAULT_TEST_GGUF or run python -m tests.support.gguf")
    return LlamaCppBackend(str(path), timeout_s=240, n_ctx=1024, n_threads=1, max_tokens=24)


@pytest.mark.real_llm
@pytest.mark.slow
def test_real_model_chat_and_stream(real: LlamaCppBackend) -> None:
    text = complete(real, MSGS)
    assert text and len(text) < 400
    pieces = list(real.chat(MSGS, stream=True))
    assert len(pieces) >= 1 and "".join(pieces).strip()
    assert real.name == "llamacpp/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" or real.name.startswith(
        "llamacpp/"
    )


@pytest.mark.real_llm
@pytest.mark.slow
def test_real_model_timeout_then_recovers(real: LlamaCppBackend) -> None:
    complete(real, MSGS)  # loaded
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailable, match="timed out"):
        list(
            real.chat(
                [{"role": "user", "content": "Write a long poem about the sea."}], timeout_s=0.3
            )
        )
    assert time.monotonic() - t0 < 5
    assert complete(real, MSGS)  # the stopped generation did not break the server


@pytest.mark.real_llm
@pytest.mark.slow
def test_real_model_phrases_an_observation(
    tmp_path: Path, real: LlamaCppBackend, caplog: pytest.LogCaptureFixture
) -> None:
    day = datetime(2025, 10, 15, tzinfo=UTC)
    h = timedelta(hours=1)
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    morning = lambda t: 2 if 7 <= t.hour < 9 else 0  # noqa: E731
    v.append_rollups(R.binary("alpaca-1", "hall-motion", day - timedelta(days=14), day, morning))
    v.append_rollups(
        R.binary(
            "alpaca-1",
            "hall-motion",
            day,
            day + 4 * h,
            lambda t: 2 if (t.hour, t.minute) == (3, 0) else 0,
        )
    )
    obs = Observer(
        v,
        llm=LlamaCppBackend(real.model_path, timeout_s=240, n_ctx=1024, n_threads=1, max_tokens=60),
    )
    forget_llm_outages()  # "said once per run": this run starts here
    with caplog.at_level(logging.WARNING):
        (rel,) = [
            p
            for p in obs.run_window(day + 3 * h, day + 4 * h)
            if layout.classify(p).kind == "observation"
        ]
    o = v.read_observation(rel)
    # either the model's grounded text, or the rules with the reason: a refusal is in the
    # note (llm_rejected), an outage only in the log (said once per run, not per file)
    if o.model == "rules/v1":
        said = any("LLM unavailable" in r.getMessage() for r in caplog.records)
        assert o.extra.get("llm_rejected") or said
        assert o.body.startswith("Motion on hall-motion at 03:00")
    else:
        assert o.model == real.name and o.body.strip()
    assert o.confidence > 0.9  # statistics, whoever phrased it
