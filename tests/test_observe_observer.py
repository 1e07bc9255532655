"""The observer end to end: real vault, real files, the ollama backend against FakeOllama."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import FakeOllama, Reply
from tests.support import rollups as R
from vault_agent.llm import NoLLM
from vault_agent.observe.observer import Observer, forget_llm_outages
from vault_agent.vault import Vault, layout

NODE = "alpaca-1"
DAY = datetime(2025, 10, 15, tzinfo=UTC)
H = timedelta(hours=1)
GOOD = "Motion in the hall at 03:00 (2 events); the last 14 days had none from 21:00 to 07:00."


def morning(t: datetime) -> int:
    return 2 if 7 <= t.hour < 9 else 0


def night_event(t: datetime) -> int:
    return 2 if (t.hour, t.minute) == (3, 0) else morning(t)


def vault_data(v: Vault) -> None:  # what the shared ``vault`` fixture holds: 15 days of motion
    v.append_rollups(R.binary(NODE, "hall-motion", DAY - timedelta(days=14), DAY, morning))
    v.append_rollups(R.binary(NODE, "hall-motion", DAY, DAY + 24 * H, night_event))


def use_llm(v: Vault, srv: FakeOllama | None, timeout_s: float = 2, **kw) -> None:
    cfg = v.node_config()
    cfg["llm"] = {
        "backend": "ollama" if srv else "none",
        "host": srv.url if srv else "http://127.0.0.1:9",
        "model": "qwen2.5:0.5b",
        "timeout_s": timeout_s,
        "keep_alive": "5m",
        **kw,
    }
    v.write_node_config(cfg)


def only_obs(v: Vault, paths: list[str]) -> list[str]:
    return [p for p in paths if layout.classify(p).kind == "observation"]


def test_good_llm_answer_is_kept(vault: Vault, fake_ollama: FakeOllama) -> None:
    use_llm(vault, fake_ollama)
    fake_ollama.script(Reply.text(GOOD))
    (rel,) = only_obs(vault, Observer(vault).run_window(DAY + 3 * H, DAY + 4 * H))
    o = vault.read_observation(rel)
    assert o.body.strip() == GOOD
    assert o.model == "ollama/qwen2.5:0.5b"
    assert o.kind == "observation" and o.sensors == ("hall-motion",)
    assert o.window == {"start": "2025-10-15T03:00:00Z", "end": "2025-10-15T04:00:00Z"}
    assert 0.9 <= o.confidence <= 0.99  # from 14 baseline days, not from the LLM
    assert "llm_rejected" not in o.extra
    assert o.sources[0] == "agents/alpaca-1/sensors/2025/10/2025-10-15.jsonl"
    assert all(vault.path(s).is_file() for s in o.sources)
    assert o.extra["facts"][0]["kind"] == "unusual_event"
    # the LLM got the code-computed facts to phrase, with the model and keep_alive configured
    req = fake_ollama.chat_requests()[0]
    assert req["model"] == "qwen2.5:0.5b" and req["keep_alive"] == "5m"
    assert "03:00" in req["messages"][-1]["content"]
    assert "none between 21:00 and 07:00" in req["messages"][-1]["content"]


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("Motion in the hall at 03:00, 5 people walked by.", "number 5 not in facts"),
        ("Motion in the hall at 02:47.", "time 02:47 not in facts"),
        ("Motion. " * 5, "5 sentences (max 3)"),
        ("Motion in the hall at 03:00; three people walked by.", "number three not in facts"),
    ],
)
def test_hallucinated_answer_is_replaced_by_rules(
    vault: Vault, fake_ollama: FakeOllama, answer: str, reason: str
) -> None:
    use_llm(vault, fake_ollama)
    fake_ollama.script(Reply.text(answer))
    (rel,) = only_obs(vault, Observer(vault).run_window(DAY + 3 * H, DAY + 4 * H))
    o = vault.read_observation(rel)
    assert o.model == "rules/v1"
    assert o.extra["llm_rejected"] == reason
    assert o.body.startswith("Motion on hall-motion at 03:00 (2 events), unusual")


@pytest.mark.parametrize(
    "reply, why",
    [
        (Reply.slow(GOOD, delay_s=5), "timed out"),
        (Reply.not_found(), "model not found"),
        (Reply.garbage_json(), "garbage"),
    ],
)
def test_llm_trouble_gives_rules_at_once(
    vault: Vault, fake_ollama: FakeOllama, caplog, reply: Reply, why: str
) -> None:
    use_llm(vault, fake_ollama, timeout_s=0.5)
    fake_ollama.script(reply)
    forget_llm_outages()  # a new run (the port of an earlier test's server may be reused)
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="vault_agent.observe"):
        (rel,) = only_obs(vault, Observer(vault).run_window(DAY + 3 * H, DAY + 4 * H))
    # at once: well before the slow reply's 5 s (it did not wait for it, nor retry);
    # the margin is the observer's own work on a busy machine
    assert time.monotonic() - t0 < 4.5
    o = vault.read_observation(rel)
    assert o.model == "rules/v1" and "llm_unavailable" not in o.extra  # said in the log, once
    lines = [r for r in caplog.records if "LLM unavailable" in r.getMessage()]
    assert len(lines) == 1 and why in lines[0].getMessage()


def test_retry_next_window(vault: Vault, fake_ollama: FakeOllama) -> None:
    vault.append_rollups(
        R.binary(
            NODE,
            "door",
            DAY - timedelta(days=14),
            DAY + 24 * H,
            lambda t: 1 if (t.day, t.hour, t.minute) == (15, 5, 30) else 0,
            quantity="door",
        )
    )
    use_llm(vault, fake_ollama, timeout_s=0.5)
    fake_ollama.script(Reply.not_found(), "Door activity at 05:30 (1 event), unusual.")
    obs = Observer(vault)  # the same instance, as a long-running loop would keep it
    (a,) = only_obs(vault, obs.run_window(DAY + 3 * H, DAY + 4 * H))
    (b,) = only_obs(vault, obs.run_window(DAY + 5 * H, DAY + 6 * H))
    assert vault.read_observation(a).model == "rules/v1"
    assert vault.read_observation(b).model == "ollama/qwen2.5:0.5b"
    assert len(fake_ollama.chat_requests()) == 2


def test_quiet_window_writes_nothing_and_asks_nobody(vault: Vault, fake_ollama: FakeOllama) -> None:
    use_llm(vault, fake_ollama)
    obs = Observer(vault)
    for h in (1, 7, 8, 12):
        assert only_obs(vault, obs.run_window(DAY + h * H, DAY + (h + 1) * H)) == []
    assert fake_ollama.requests == []


def test_run_window_twice_keeps_the_first(vault: Vault, fake_ollama: FakeOllama) -> None:
    use_llm(vault, None)
    first = only_obs(vault, Observer(vault).run_window(DAY + 3 * H, DAY + 4 * H))
    assert len(first) == 1
    assert Observer(vault).run_window(DAY + 3 * H, DAY + 4 * H) == []
    assert len(vault.observation_files(NODE)) == 1


def test_llm_none_backend_is_rules_without_noise(vault: Vault, caplog) -> None:
    use_llm(vault, None)
    obs = Observer(vault)
    assert isinstance(obs.llm, NoLLM)
    with caplog.at_level(logging.WARNING, logger="vault_agent.observe"):
        (rel,) = only_obs(vault, obs.run_window(DAY + 3 * H, DAY + 4 * H))
    o = vault.read_observation(rel)
    assert o.model == "rules/v1" and "llm_unavailable" not in o.extra
    assert not caplog.records


def test_day_close_writes_note_and_memory(vault: Vault) -> None:
    use_llm(vault, None)
    obs = Observer(vault)
    # the first window of a day closes yesterday if that was missed (agent down at midnight)
    first = obs.run_window(DAY + 3 * H, DAY + 4 * H)
    assert layout.daily_path(NODE, (DAY - H).date()) in first
    (prev_mem,) = vault.observation_files(NODE, "memory")
    written = obs.run_window(DAY + 23 * H, DAY + 24 * H)  # ends at midnight: the day closes
    note = layout.daily_path(NODE, DAY.date())
    assert note in written
    text = vault.path(note).read_text()
    assert "| hall-motion | 50 | 8 min |" in text  # 48 morning events + 2 at night
    assert "| 03:00 | 08:55 |" in text  # first and last event
    (orel,) = vault.observation_files(NODE)
    assert f"(../../../observations/2025/10/{orel.rsplit('/', 1)[1]})" in text
    mems = vault.observation_files(NODE, "memory")
    assert len(mems) == 2 and mems[1] in written
    m = vault.read_observation(mems[1])
    assert m.kind == "memory" and m.created == "2025-10-15T23:59:59Z"
    assert m.extra["day"] == "2025-10-15"
    assert m.extra["supersedes"] == vault.read_observation(prev_mem).id
    assert "hall-motion: motion usually 07:00–09:00 on weekdays" in m.body
    assert f"../../../memory/{mems[1].rsplit('/', 1)[1]}" in text
    before = vault.path(prev_mem).read_text()
    # the next window does not write them again (it notices the sensor fell silent)
    again = obs.run_window(DAY + 24 * H, DAY + 25 * H)
    assert [layout.classify(p).kind for p in again] == ["observation"]
    assert vault.read_observation(again[0]).extra["facts"][0]["kind"] == "silent"
    assert vault.path(prev_mem).read_text() == before  # never edited in place


def test_day_note_never_overwritten(vault: Vault) -> None:
    use_llm(vault, None)
    rel = layout.daily_path(NODE, DAY.date())
    vault.write_file(rel, "my own notes\n")
    assert Observer(vault).write_day_note(DAY.date()) is None
    assert vault.path(rel).read_text() == "my own notes\n"


def test_backfill_stops_asking_a_dead_llm(tmp_path, caplog) -> None:
    v, _ = Vault.init(tmp_path / "v", NODE)
    v.append_rollups(R.binary(NODE, "hall-motion", DAY - timedelta(days=14), DAY, morning))
    v.append_rollups(
        R.binary(
            NODE,
            "hall-motion",
            DAY,
            DAY + 24 * H,
            lambda t: 1 if t.minute == 0 and 0 <= t.hour < 6 else 0,
        )
    )
    with FakeOllama(default=Reply.not_found()) as srv:
        use_llm(v, srv)
        forget_llm_outages()  # a new run (an earlier test's server port may be reused)
        with caplog.at_level(logging.WARNING, logger="vault_agent.observe"):
            written = Observer(v).backfill(DAY, DAY + 24 * H)
        assert len(srv.chat_requests()) == 2  # two strikes, then rules only
    assert len(caplog.records) == 1  # one log line for the whole backfill
    observations = only_obs(v, written)
    assert observations  # unusual night motion
    assert all(v.read_observation(p).model == "rules/v1" for p in observations)
    assert layout.daily_path(NODE, DAY.date()) in written


def test_windows_alignment(vault: Vault) -> None:
    obs = Observer(vault)
    wins = obs.windows(DAY + timedelta(minutes=10), DAY + 3 * H + timedelta(minutes=2))
    assert wins[0] == (DAY, DAY + H)
    assert wins[-1] == (DAY + 2 * H, DAY + 3 * H)  # 03:00–04:00 not reached yet
    wins = obs.windows(DAY, DAY + 3 * H + timedelta(minutes=57))
    assert wins[-1] == (DAY + 3 * H, DAY + 4 * H)  # within one rollup window of its end
