"""Test support: fakes at the process boundary (a real HTTP server speaking Ollama's API)."""

from .ollama_server import FakeOllama, Reply

__all__ = ["FakeOllama", "Reply"]
