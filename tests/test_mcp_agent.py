"""An Ollama tool-calling agent using `vault mcp`: the loop of docs/mcp.md, for real.

The model is the test Ollama server (the one fake the team allows): it answers the
first turn with a tool call, and the next turn from what the tool returned. Everything
between is real: the ``ollama`` client, the MCP SDK's client, a spawned `vault mcp`,
the vault's files and git. This proves a small model's tool call reaches the vault,
its answer cites a vault file, and the call is in the session log under the agent's name.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import anyio
import ollama
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

from tests.support import Reply
from tests.support.mcp_vault import HEATING_NOTE, NODE, fresh_copy

MODEL = "qwen2.5:0.5b"
SYSTEM = "Answer from the vault's tools. Name the file paths you used."


async def agent(question: str, vault: Path, ollama_host: str) -> tuple[str, list]:
    """The docs' loop: list the MCP tools, give them to the model, run its tool calls."""
    llm = ollama.AsyncClient(host=ollama_host)
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "vault_agent.cli", "mcp", "--vault", str(vault)]
    )
    info = Implementation(name="ollama-agent", version="1")
    async with Client(server, client_info=info, read_timeout_seconds=120) as mcp:
        tools = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                },
            }  # fmt: skip
            for t in (await mcp.list_tools()).tools
        ]
        messages: list = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
        ]
        for _ in range(5):
            reply = (await llm.chat(model=MODEL, messages=messages, tools=tools)).message
            messages.append(reply)
            if not reply.tool_calls:
                return reply.content or "", messages
            for call in reply.tool_calls:
                result = await mcp.call_tool(call.function.name, dict(call.function.arguments))
                messages.append(
                    {"role": "tool", "tool_name": call.function.name,
                     "content": result.content[0].text}
                )  # fmt: skip
    raise AssertionError("the agent did not finish in 5 turns")


def model(first_call: Reply):
    """A scripted model: the first turn calls a tool; then it answers from the tool's
    text, citing the first vault path found in it (as a grounded small model would)."""

    def reply(request: dict) -> Reply:
        messages = request["json"]["messages"]
        tool_msgs = [m for m in messages if m["role"] == "tool"]
        if not tool_msgs:
            return first_call
        paths = re.findall(r"(?:knowledge-base|agents)/[\w./-]+\.md", tool_msgs[-1]["content"])
        if not paths:
            return Reply.text("The vault has nothing on that.")
        return Reply.text(f"Refill it when it reads below 1.0 bar [{paths[0]}].")

    return reply


@pytest.fixture
def vault_dir(tmp_path_factory, tmp_path) -> Path:
    return fresh_copy(tmp_path_factory.getbasetemp(), tmp_path / "v")


def session_lines(root: Path) -> list[dict]:
    return [
        json.loads(x)
        for p in (root / "agents" / NODE / "sessions").rglob("*.jsonl")
        for x in p.read_text().splitlines()
    ]


@pytest.mark.slow  # the first test of the MCP files builds their shared vault
def test_small_model_tool_call_reaches_the_vault_and_answer_cites_a_file(vault_dir, fake_ollama):
    fake_ollama.script()
    fake_ollama.replies = model(Reply.tool_call("search", {"query": "boiler pressure", "k": 3}))
    answer, messages = anyio.run(agent, "When do I refill the boiler?", vault_dir, fake_ollama.url)
    chats = fake_ollama.chat_requests()
    assert len(chats) == 2
    # the model was offered the vault's tools with their schemas
    offered = {t["function"]["name"]: t["function"] for t in chats[0]["tools"]}
    assert offered["search"]["parameters"]["required"] == ["query"]
    # the tool's result, read from the vault, reached the model in the second turn
    tool_text = chats[1]["messages"][-1]["content"]
    assert chats[1]["messages"][-1]["role"] == "tool"
    assert HEATING_NOTE in tool_text and "grey valve" in tool_text
    # the answer cites a file that exists in the vault and says what the file says
    cited = re.findall(r"\[([^\]]+\.md)\]", answer)
    assert cited == [HEATING_NOTE] and (vault_dir / cited[0]).is_file()
    assert "1.0 bar" in (vault_dir / cited[0]).read_text()
    # and the call is in the session log, under the agent's name, committed at exit
    (line,) = session_lines(vault_dir)
    assert (line["client"], line["tool"], line["args"]["query"]) == (
        "ollama-agent", "search", "boiler pressure",
    )  # fmt: skip
    status = subprocess.run(["git", "status", "--porcelain"], cwd=vault_dir,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert status == ""


def test_small_model_remembers_a_fact(vault_dir, fake_ollama):
    fact = "The user prefers the office at 21 °C."
    fake_ollama.script()
    fake_ollama.replies = model(Reply.tool_call("remember", {"fact": fact, "topic": "comfort"}))
    answer, _ = anyio.run(
        agent, "Remember: I like the office at 21 °C.", vault_dir, fake_ollama.url
    )
    (path,) = re.findall(r"\[([^\]]+\.md)\]", answer)
    assert path.startswith(f"agents/{NODE}/memory/")
    text = (vault_dir / path).read_text()
    assert fact in text and "source: agent:ollama-agent" in text
    log = subprocess.run(
        ["git", "log", "-1", "--format=%(trailers:key=Vault-Agent,valueonly)", "--", path],
        cwd=vault_dir, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert log == "ollama-agent"


def test_ask_tool_gives_the_verified_cited_answer(vault_dir, fake_ollama):
    """`ask` over MCP runs `vault ask` with the node's LLM (here the test Ollama server)."""
    toml = vault_dir / "agents" / NODE / "node.toml"
    text = re.sub(r'(?m)^backend = ".*"$', 'backend = "ollama"', toml.read_text())
    toml.write_text(re.sub(r'(?m)^host = ".*"$', f'host = "{fake_ollama.url}"', text))

    def llm(request: dict) -> Reply:
        prompt = "\n".join(m["content"] for m in request["json"]["messages"])
        n = re.search(r"\[(\d+)\] " + re.escape(HEATING_NOTE), prompt).group(1)
        return Reply.text(f"Refill at the grey valve when it reads below 1.0 bar [{n}] [9].")

    fake_ollama.script()
    fake_ollama.replies = llm

    async def body():
        server = StdioServerParameters(
            command=sys.executable, args=["-m", "vault_agent.cli", "mcp", "--vault", str(vault_dir)]
        )
        async with Client(server, read_timeout_seconds=120) as c:
            return await c.call_tool("ask", {"question": "How do I refill the boiler?"})

    before = sorted((vault_dir / "interactions").rglob("*"))
    res = anyio.run(body)
    assert not res.is_error, res.content[0].text
    data = res.structured_content
    assert data["paths"] == [HEATING_NOTE]
    assert [c["path"] for c in data["citations"]] == [HEATING_NOTE], res.content[0].text
    assert data["dropped_citations"] == [9]  # a source number that was never given
    assert "grey valve" in res.content[0].text and f"] {HEATING_NOTE}" in res.content[0].text
    # no Q&A note is written by a tool call (the call itself is in the session log)
    assert sorted((vault_dir / "interactions").rglob("*")) == before
