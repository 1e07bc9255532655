"""The ``ollama`` backend against FakeOllama: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from tests.support import FakeOllama, Reply
from vault_agent.errors import VaultError
from vault_agent.llm import LLMBackend, LLMUnavailable, NoLLM, complete, get_backend

MSGS = [{"role": "user", "content": "Say hello."}]


def backend(srv: FakeOllama, **kw) -> LLMBackend:
    return get_backend({"backend": "ollama", "host": srv.url, "timeout_s": 2, **kw})


@pytest.mark.parametrize("stream", [False, True])
def test_good_answer(fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.script(Reply.text("Hello there, 21.5 °C.", chunks=4))
    b = backend(fake_ollama)
    pieces = list(b.chat(MSGS, stream=stream))
    assert "".join(pieces) == "Hello there, 21.5 °C."
    assert len(pieces) == (4 if stream else 1)
    req = fake_ollama.chat_requests()[0]
    assert req["model"] == "qwen2.5:0.5b"
    assert req["stream"] is stream
    assert req["messages"] == MSGS
    assert req["keep_alive"] == "5m"
    assert req["options"]["temperature"] == 0


def test_name_and_protocol(fake_ollama: FakeOllama) -> None:
    b = backend(fake_ollama, model="tinyllama")
    assert isinstance(b, LLMBackend)
    assert b.name == "ollama/tinyllama"


def test_model_not_found_404(fake_ollama: FakeOllama) -> None:
    b = backend(fake_ollama, model="llama3.2:3b")  # not in the server's models
    with pytest.raises(LLMUnavailable, match="not found.*ollama pull llama3.2:3b"):
        list(b.chat(MSGS))


@pytest.mark.parametrize("stream", [False, True])
def test_scripted_404(fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.script(Reply.not_found())
    with pytest.raises(LLMUnavailable, match="model not found"):
        backend(fake_ollama).chat(MSGS, stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_garbage_json(fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.script(Reply.garbage_json())
    with pytest.raises(LLMUnavailable, match="garbage"):
        list(backend(fake_ollama).chat(MSGS, stream=stream))


@pytest.mark.parametrize("stream", [False, True])
def test_timeout_is_bounded(fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.script(Reply.slow("too late", delay_s=5))
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailable, match="timed out"):
        list(backend(fake_ollama).chat(MSGS, stream=stream, timeout_s=0.5))
    assert time.monotonic() - t0 < 2.5


def test_stream_whole_call_deadline(fake_ollama: FakeOllama) -> None:
    # each piece arrives within the read timeout, but the whole answer takes too long
    fake_ollama.script(Reply(content="a b c d e f g h", chunks=8, chunk_delay_s=0.3))
    with pytest.raises(LLMUnavailable, match="timed out"):
        list(backend(fake_ollama).chat(MSGS, stream=True, timeout_s=1.0))


def test_error_line_mid_stream(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(content="partial answer", stream_error=True, error="out of memory"))
    it = backend(fake_ollama).chat(MSGS, stream=True)
    with pytest.raises(LLMUnavailable, match="out of memory"):
        list(it)


def test_http_500(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply.http_error(500, "llama runner crashed"))
    with pytest.raises(LLMUnavailable, match="HTTP 500.*crashed"):
        backend(fake_ollama).chat(MSGS)


def test_unreachable_host() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = get_backend({"host": f"http://127.0.0.1:{port}", "timeout_s": 1})
    with pytest.raises(LLMUnavailable, match="unreachable"):
        b.chat(MSGS)


def test_empty_answer_rejected_by_complete(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply.text("   "))
    with pytest.raises(LLMUnavailable, match="empty"):
        complete(backend(fake_ollama), MSGS)


def test_models_listing(fake_ollama: FakeOllama) -> None:
    b = backend(fake_ollama)
    assert "qwen2.5:0.5b" in b.models()
    assert fake_ollama.requests[-1]["path"] == "/api/tags"


def test_script_exhausted_is_visible(fake_ollama: FakeOllama) -> None:
    fake_ollama.script("one")
    b = backend(fake_ollama)
    assert complete(b, MSGS) == "one"
    with pytest.raises(LLMUnavailable, match="exhausted"):
        complete(b, MSGS)


def test_callable_script_and_default() -> None:
    with FakeOllama(replies=lambda req: f"echo {req['json']['messages'][-1]['content']}") as srv:
        assert complete(backend(srv), MSGS) == "echo Say hello."
    with FakeOllama(default="fallback") as srv:
        b = backend(srv)
        assert [complete(b, MSGS) for _ in range(2)] == ["fallback", "fallback"]


def test_generate_and_embed_endpoints(fake_ollama: FakeOllama) -> None:
    import ollama

    fake_ollama.script(Reply.text("generated"))
    client = ollama.Client(host=fake_ollama.url)
    assert client.generate(model="qwen2.5:0.5b", prompt="x").response == "generated"
    fake_ollama.script(Reply.text("streamed gen", chunks=2))
    parts = [p.response for p in client.generate(model="qwen2.5:0.5b", prompt="x", stream=True)]
    assert "".join(parts) == "streamed gen"
    e1 = client.embed(model="nomic-embed-text", input=["a", "b"]).embeddings
    e2 = client.embed(model="nomic-embed-text", input="a").embeddings
    assert len(e1) == 2 and len(e1[0]) == fake_ollama.embed_dim
    assert e1[0] == e2[0] and e1[0] != e1[1]


def test_none_backend_and_unknown() -> None:
    assert isinstance(get_backend({"backend": "none"}), NoLLM)
    with pytest.raises(LLMUnavailable):
        get_backend({"backend": "none"}).chat(MSGS)
    with pytest.raises(VaultError, match="unknown"):
        get_backend({"backend": "gpt"})
    with pytest.raises(VaultError, match="timeout_s"):
        get_backend({"timeout_s": "soon"})
