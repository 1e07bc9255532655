"""`vault ask` on a vault replayed from the bundled data sets: answers against truth
computed from the raw CSVs (tests/support/ask_questions.py), cited lines that hold the
value, the no-data path, the vault's time zone, bad input, and LLM phrasing against the
scripted Ollama server (a hallucinated number is rejected)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from tests.support import FakeOllama, Reply
from tests.support import ask_questions as AQ
from tests.support.core_fixtures import make_vault
from vault_agent.ask.answer import check, mentions_day, only_markers
from vault_agent.ask.ask import ask
from vault_agent.cli import main
from vault_agent.query import Store
from vault_agent.vault import Vault


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = AQ.build_vault(tmp_path_factory.mktemp("ask") / "hub")
    return Vault(root, "office"), Store(root)


def ask_json(v: Vault, *args: str) -> dict:
    r = CliRunner().invoke(main, ["ask", *args, "--vault", str(v.root), "--json", "--no-log"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def read_cited(v: Vault, cite: str) -> list[dict]:
    """The JSON lines a citation names (``#L5`` or ``#L5-L9``), read without the query layer."""
    path, _, rng = cite.partition("#L")
    a, _, b = rng.partition("-L")
    lines = v.path(path).read_text("utf-8").splitlines()
    return [json.loads(x) for x in lines[int(a) - 1 : int(b or a)]]


def test_question_set_without_llm(hub):
    v, store = hub
    qs = AQ.questions(v.root)
    assert len(qs) >= 50 and {q.type for q in qs} == set(AQ.TYPES)
    wrong = []
    for q in qs[::2]:  # every other question: a subset of each type
        d = ask(v, q.text, log=False, use_llm=False, store=store).as_dict()
        ok, why = AQ.judge(q, d)
        if not ok:
            wrong.append(f"{q.text}: {why}: {d['answer']}")
        assert not AQ.invented(d, q.text)
    assert not wrong, "\n".join(wrong)


def test_extreme_cites_the_line_that_holds_it(hub):
    v, _ = hub
    office = AQ.load_office()
    truth, t = AQ.extreme(office["temperature"], *AQ.span(datetime(2015, 2, 5).date()), "max")
    d = ask_json(v, "What was the highest temperature in the office on 2015-02-05?", "--no-llm")
    (fact,) = d["facts"]
    assert fact["value"] == pytest.approx(truth, abs=1e-6) and f"{t:%H:%M}" in d["answer"]
    (line,) = read_cited(v, fact["cites"][0])
    assert line["max"] == pytest.approx(truth, abs=1e-6) and line["sensor"] == "office-temperature"
    # replayed without --tz: the times are the recording's wall clock, and the answer says so
    assert (
        "(Times are local time in Europe/Brussels, as the recording wrote them.)" in (d["answer"])
    )


def test_motion_at_night_is_none_and_cites_the_night(hub):
    v, _ = hub
    d = ask_json(v, "When was there motion in room-s6 at night on 2017-12-22?", "--no-llm")
    # a when-question: no "No:" verdict in the text; the False verdict keeps an LLM
    # phrasing from turning "none" into a time
    assert d["verdict"] is False and d["answer"].startswith("s6-motion saw no motion")
    lines = [x for c in d["citations"] for x in read_cited(v, c["path"])]
    starts = {x["start"] for x in lines}
    assert min(starts) == "2017-12-22T22:00:00Z" and max(starts) == "2017-12-23T05:55:00Z"
    assert all(x["on_s"] == 0 and x["events"] == 0 for x in lines)


def test_no_data_names_the_coverage_never_another_day(hub):
    v, _ = hub
    d = ask_json(v, "What was the highest temperature in the office on 2015-03-01?", "--no-llm")
    assert d["answer"] == (
        "No data for office-temperature on 2015-03-01; "
        "the office node's data covers 2015-02-02 … 2015-02-10."
    )
    assert d["no_data"] is True and d["facts"] == [] and d["citations"] == []


def test_unknown_sensor(hub):
    v, _ = hub
    d = ask_json(v, "What was the air pressure in the office on 2015-02-05?", "--no-llm")
    assert d["answer"].startswith("No sensor called pressure on office; known: office-co2")


def test_observation_question_returns_that_days_observations(hub):
    v, _ = hub
    day = datetime(2015, 2, 9).date()
    d = ask_json(v, "What did the office node notice on Feb 9?", "--no-llm")
    assert d["route"] == "observation"
    assert sorted(c["path"] for c in d["citations"]) == AQ.observations_on(v.root, "office", day)


@pytest.mark.parametrize("q", ["", "   "])
def test_empty_question_is_one_line(hub, q):
    v, _ = hub
    r = CliRunner().invoke(main, ["ask", q, "--vault", str(v.root), "--no-log"])
    assert r.exit_code != 0 and "empty query" in r.output and "Traceback" not in r.output


def test_reversed_range_is_one_line(hub):
    v, _ = hub
    r = CliRunner().invoke(
        main,
        [
            "ask",
            "average temperature in the office",
            "--since",
            "2015-02-07",
            "--until",
            "2015-02-05",
            "--vault",
            str(v.root),
            "--no-log",
        ],
    )
    assert r.exit_code != 0 and "--since" in r.output and "Traceback" not in r.output


# -- time zone ---------------------------------------------------------------------------------
def test_days_and_times_are_in_the_vaults_zone(tmp_path):
    v = make_vault(tmp_path, node="office")
    toml = v.path("vault.toml")
    toml.write_text(toml.read_text() + 'timezone = "Europe/Berlin"\n')

    def line(start: datetime, mx: float) -> dict:
        return {
            "v": 1,
            "node": "office",
            "sensor": "office-temperature",
            "quantity": "temperature",
            "unit": "°C",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "count": 5,
            "mean": mx - 1,
            "min": mx - 2,
            "max": mx,
            "max_at": (start + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    # 22:30 UTC on Feb 5 is 23:30 in Berlin (Feb 5); 23:30 UTC is 00:30 on Feb 6 there
    rel = "agents/office/sensors/2015/02/2015-02-05.jsonl"
    p = v.path(rel)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        json.dumps(line(datetime(2015, 2, 5, 22, 30, tzinfo=UTC), 30.0))
        + "\n"
        + json.dumps(line(datetime(2015, 2, 5, 23, 30, tzinfo=UTC), 40.0))
        + "\n"
    )
    now = datetime(2015, 2, 7, tzinfo=UTC)
    r5 = ask(v, "highest temperature in the office on Feb 5", log=False, use_llm=False, now=now)
    assert "30 °C at 23:31" in r5.answer and "Europe/Berlin" in r5.answer
    r6 = ask(v, "highest temperature in the office on Feb 6", log=False, use_llm=False, now=now)
    assert "40 °C at 00:31" in r6.answer


# -- LLM phrasing ------------------------------------------------------------------------------
Q_MAX = "What was the highest temperature in the office on 2015-02-05?"


def set_llm(v: Vault, host: str) -> None:
    cfg = v.node_config()
    cfg["llm"] = {**cfg["llm"], "backend": "ollama", "host": host, "timeout_s": 5}
    v.write_node_config(cfg)


def test_llm_phrases_only_the_computed_facts(hub):
    v, store = hub
    template = ask(v, Q_MAX, log=False, use_llm=False, store=store).answer
    with FakeOllama() as srv:
        set_llm(v, srv.url)
        srv.script(Reply.text("It peaked at 22.9 °C at 12:58 in the office."))
        res = ask(v, Q_MAX, log=False, store=store)
    assert res.llm_ok and res.answer == "It peaked at 22.9 °C at 12:58 in the office."
    prompt = srv.chat_requests()[0]["messages"][-1]["content"]
    assert template.split(" (Times")[0] in prompt
    assert res.citations and "2015-02-05.jsonl#L" in res.citations[0].path


@pytest.mark.parametrize(
    "reply,reason",
    [
        ("It peaked at 24.3 °C at 12:58.", "number 24.3 not in facts"),
        ("It peaked at 22.9 °C at 14:10.", "time 14:10 not in facts"),
        ("[1] [2] [3] [1] [2]", "only citation markers"),
    ],
)
def test_llm_text_that_states_unsupported_things_is_rejected(hub, reply, reason, caplog):
    v, store = hub
    template = ask(v, Q_MAX, log=False, use_llm=False, store=store).answer
    with FakeOllama() as srv:
        set_llm(v, srv.url)
        srv.script(Reply.text(reply))
        with caplog.at_level("INFO", logger="vault_agent.ask"):
            res = ask(v, Q_MAX, log=False, store=store)
    assert not res.llm_ok and res.answer == template
    assert any(reason in n for n in res.notes)
    assert any("event=ask_phrase result=rejected" in r.message for r in caplog.records)


def test_llm_reversing_a_verdict_is_rejected(hub):
    v, store = hub
    q = "Was there motion in room-s6 at night on 2017-12-22?"
    with FakeOllama() as srv:
        set_llm(v, srv.url)
        srv.script(Reply.text("Yes, there was motion that night."))
        res = ask(v, q, log=False, store=store)
    assert not res.llm_ok and res.answer.startswith("No:")


def test_llm_idle_timeout_cuts_the_phrasing_and_keeps_the_template(hub):
    v, store = hub
    template = ask(v, Q_MAX, log=False, use_llm=False, store=store).answer
    with FakeOllama() as srv:
        set_llm(v, srv.url)
        cfg = v.node_config()
        cfg["llm"]["idle_s"] = 0.5
        v.write_node_config(cfg)
        srv.script(Reply(content="It peaked at 22.9 °C at 12:58.", chunks=3, chunk_delay_s=3))
        t = time.monotonic()
        res = ask(v, Q_MAX, log=False, store=store)
    assert time.monotonic() - t < 3  # the idle timeout, not the 5 s total limit
    assert res.cut and not res.llm_ok and res.answer == template
    assert any("cut by a timeout" in n for n in res.notes)


def test_markers_only():
    assert only_markers("[1] [2], [3].") and not only_markers("It was 5 [1].")


def test_check_allows_rounding_and_question_numbers(hub):
    v, store = hub
    res = ask(
        v,
        "Was the CO2 in the office above 1000 ppm on 2015-02-09?",
        log=False,
        use_llm=False,
        store=store,
    )
    c = res.computed
    assert check("Yes, it went above 1000 ppm and reached 2028 ppm.", c) == ""
    assert check("Yes, it reached 2500 ppm.", c).startswith("number 2500")


def test_llm_claim_that_drops_a_computed_no_is_rejected(hub):
    """A 0.5B model phrased "no motion at night" as motion at 06:00 (the night's end)."""
    v, store = hub
    q = "When was there motion in room-s6 at night on 2017-12-22?"
    c = ask(v, q, log=False, use_llm=False, store=store).computed
    assert c.verdict is False and "06:00" in c.times
    assert check("There was motion in room-s6 at night on 2017-12-22 at 06:00.", c) == (
        "the answer drops the computed no"
    )
    assert check("There was no motion in room-s6 that night.", c) == ""


def test_llm_claim_that_negates_a_computed_yes_is_rejected(hub):
    v, store = hub
    c = ask(
        v,
        "Was the CO2 in the office above 1000 ppm on 2015-02-09?",
        log=False,
        use_llm=False,
        store=store,
    ).computed
    assert c.verdict is True
    assert check("The CO2 did not go above 1000 ppm.", c) == "the answer negates the computed yes"


def test_llm_which_day_must_name_the_computed_day(hub):
    v, store = hub
    c = ask(v, "Which day was the coldest in the office?", log=False, use_llm=False, store=store)
    day = next(f.day for f in c.computed.facts if f.kind == "day")
    others = sorted(d for d in c.computed.dates if d != day)
    wrong = f"The coldest day in the office was {others[0]}."
    assert check(wrong, c.computed).startswith("the answer does not name the computed day")
    assert check(f"The coldest day in the office was {day}.", c.computed) == ""


def test_mentions_day_reads_iso_and_month_names():
    assert mentions_day("on 2015-02-08.", "2015-02-08")
    assert mentions_day("It was Feb 8.", "2015-02-08")
    assert mentions_day("the 8th of February", "2015-02-08")
    assert not mentions_day("It was Feb 18.", "2015-02-08")
    assert not mentions_day("It was 2015-02-02.", "2015-02-08")
