"""`vault ask` end to end: real indexes, the real Ollama client against a scripted
Ollama server on 127.0.0.1, interactions written and committed."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import frontmatter
import pytest
from click.testing import CliRunner

from tests.support import FakeOllama, Reply
from tests.test_index_indexer import make_vault
from vault_agent.ask.ask import ask
from vault_agent.cli import main
from vault_agent.index.whoosh_index import Filters
from vault_agent.vault import repo as git


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    v = make_vault(tmp_path_factory.mktemp("a") / "v")
    assert CliRunner().invoke(main, ["index", "--vault", str(v.root)]).exit_code == 0
    return v


def set_llm(v, host, model="qwen2.5:0.5b"):
    cfg = v.node_config()
    cfg["llm"] = {**cfg["llm"], "backend": "ollama", "host": host, "model": model, "timeout_s": 5}
    v.write_node_config(cfg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(v, *args):
    return CliRunner().invoke(main, ["ask", *args, "--vault", str(v.root)])


def test_answer_streams_and_drops_citation_beyond_sources(base):
    with FakeOllama() as srv:
        set_llm(base, srv.url)
        srv.script(Reply.text("The kitchen radiator is slow to warm [1]. See also [7].", chunks=6))
        r = run(base, "is the kitchen radiator slow?", "--no-log")
    assert r.exit_code == 0, r.output
    assert "slow to warm [1]." in r.stdout and "[7]" not in r.stdout
    assert "[1] knowledge-base/heating.md" in r.stdout
    assert "dropped citation(s) [7]" in r.stderr
    prompt = srv.chat_requests()[0]["messages"][-1]["content"]
    assert "[1] knowledge-base/heating.md" in prompt and "Question: is the kitchen" in prompt
    assert srv.chat_requests()[0]["model"] == "qwen2.5:0.5b"


def test_interaction_logged_and_committed(base):
    with FakeOllama() as srv:
        set_llm(base, srv.url)
        srv.script("Tomatoes need water every evening [1].")
        r = run(base, "when do the tomatoes need water?")
    assert r.exit_code == 0, r.output
    rel = r.stderr.strip().splitlines()[-1].removeprefix("logged to ")
    assert rel.startswith("interactions/") and "-alpaca-1-when-do-the-tomatoes" in rel
    post = frontmatter.load(base.path(rel))
    assert post["kind"] == "interaction" and post["node"] == "alpaca-1"
    assert post["question"] == "when do the tomatoes need water?"
    assert post["model"] == "ollama/qwen2.5:0.5b"
    assert post["sources"] == ["knowledge-base/garden.md"]
    assert "every evening [1]" in post.content
    last = git.history(base.repo, limit=1)[0]
    assert last.kind == "ask" and rel not in base.pending()


def test_no_llm_reachable_gives_passages(base):
    set_llm(base, f"http://127.0.0.1:{free_port()}")
    r = run(base, "is the kitchen radiator slow?", "--no-log")
    assert r.exit_code == 0, r.output
    notes = [x for x in r.stderr.splitlines() if "No LLM reachable" in x]
    assert len(notes) == 1
    assert r.stdout.startswith("[1] knowledge-base/heating.md")


def test_model_override_and_json(base):
    with FakeOllama(models=["qwen2.5:3b"]) as srv:
        set_llm(base, srv.url)
        srv.script("Motion in the hall at 03:04 [1].")
        r = run(
            base,
            "was there motion in the hall?",
            *("--kind", "observation", "--model", "qwen2.5:3b", "--json", "--no-log"),
        )
    data = json.loads(r.stdout)
    assert data["model"] == "ollama/qwen2.5:3b" and data["llm"] is True
    assert data["citations"][0]["path"].startswith("agents/alpaca-1/observations/")
    assert srv.chat_requests()[0]["model"] == "qwen2.5:3b"


def test_model_missing_falls_back(base):
    with FakeOllama(models=[]) as srv:
        set_llm(base, srv.url)
        r = run(base, "radiator?", "--no-log", "--json")
    data = json.loads(r.stdout)
    assert data["llm"] is False and data["model"] == "extractive"
    assert data["answer"].startswith("[1] knowledge-base/heating.md")


def test_time_words_filter_the_sources(base):
    with FakeOllama() as srv:
        set_llm(base, srv.url)
        srv.script("It was 21.3 °C on average [1].")
        res = ask(
            base,
            "what does the kitchen note say about yesterday?",
            log=False,
            now=datetime(2025, 10, 15, 8, 0, tzinfo=UTC),
        )
    assert (res.filters.since, res.filters.until) == ("2025-10-14", "2025-10-14")
    assert res.hits and all(h.date == "2025-10-14" for h in res.hits)


def test_sensor_question_yesterday_is_computed_from_that_day(base):
    res = ask(
        base,
        "how warm was the kitchen yesterday?",
        log=False,
        use_llm=False,
        now=datetime(2025, 10, 15, 8, 0, tzinfo=UTC),
    )
    assert res.route == "sensor" and res.plan.days.since.isoformat() == "2025-10-14"
    assert res.citations and all("2025-10-14.jsonl#L" in c.path for c in res.citations)


@pytest.mark.parametrize("q", ["", "  "])
def test_empty_question(base, q):
    r = run(base, q)
    assert r.exit_code == 1 and "empty query" in r.stderr


def test_100kb_question_is_cut(base):
    set_llm(base, f"http://127.0.0.1:{free_port()}")
    r = run(base, "radiator " * 11500, "--no-log", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert len(data["question"]) == 2000 and "first 2000" in data["notes"][0]


def test_nothing_found_does_not_call_llm(base):
    with FakeOllama() as srv:
        set_llm(base, srv.url)
        r = run(base, "radiator", "--node", "nobody", "--no-log")
    assert "Nothing in the vault matches" in r.stdout and srv.chat_requests() == []


def test_earlier_questions_are_not_evidence(tmp_path):
    v = make_vault(tmp_path / "v")
    set_llm(v, f"http://127.0.0.1:{free_port()}")  # nothing listens: extractive answers
    question = "is the kitchen radiator slow?"
    first = ask(v, question, log=True)
    assert first.logged and first.logged.startswith("interactions/")
    again = ask(v, question, log=False)
    assert again.hits, "the knowledge-base note should still be found"
    assert all(h.kind != "interaction" for h in again.hits)
    logged = ask(v, question, log=False, filters=Filters(kind="interaction"))
    assert [h.path for h in logged.hits] == [first.logged]


def test_mixed_question_gets_numbers_and_notes(base):
    res = ask(
        base,
        "why was the kitchen radiator slow to warm yesterday, what was the temperature?",
        log=False,
        use_llm=False,
        now=datetime(2025, 10, 15, 8, 0, tzinfo=UTC),
    )
    assert res.route == "sensor" and "21.3 °C" in res.answer
    assert "knowledge-base/heating.md" in [h.path for h in res.hits]
    assert "Related notes:" in res.answer


def test_text_answer_cut_by_idle_timeout_is_kept_and_marked(base):
    with FakeOllama() as srv:
        set_llm(base, srv.url)
        cfg = base.node_config()
        cfg["llm"]["idle_s"] = 0.5
        base.write_node_config(cfg)
        srv.script(
            Reply(content="The kitchen radiator is slow to warm [1].", chunks=3, chunk_delay_s=3)
        )
        res = ask(base, "is the kitchen radiator slow?", log=False)
        cfg["llm"].pop("idle_s")
        base.write_node_config(cfg)
    assert res.cut and res.llm_ok and res.answer.endswith("[cut: the model timed out]")
    assert res.answer.startswith("The kitchen")


def test_logged_answers_stay_out_of_search_unless_asked(tmp_path):
    v = make_vault(tmp_path / "v")
    res = ask(v, "when do the tomatoes need water?", use_llm=False)
    assert res.logged and res.logged.startswith("interactions/")
    s = CliRunner().invoke(main, ["search", "tomatoes water", "--json", "--vault", str(v.root)])
    paths = [h["path"] for h in json.loads(s.stdout)["hits"]]
    assert "knowledge-base/garden.md" in paths and res.logged not in paths
    s = CliRunner().invoke(
        main,
        ["search", "tomatoes water", "--kind", "interaction", "--json", "--vault", str(v.root)],
    )
    assert [h["path"] for h in json.loads(s.stdout)["hits"]] == [res.logged]
