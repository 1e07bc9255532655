"""`vault demo` end to end on a reduced slice of the bundled real data."""

from __future__ import annotations

import csv
import statistics
from datetime import date, datetime, timedelta
from pathlib import Path

import pygit2
import pytest
from click.testing import CliRunner

from vault_agent.agent.demo import NODES, QUESTIONS, run_demo
from vault_agent.cli import main
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree


def tree_of(v: Vault) -> dict[str, str]:
    """Committed tree of HEAD: path -> blob id."""
    out = {}

    def walk(tree, prefix=""):
        for e in tree:
            if e.type_str == "tree":
                walk(v.repo[e.id], f"{prefix}{e.name}/")
            else:
                out[prefix + e.name] = str(e.id)

    walk(v.repo.head.peel().tree)
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo run on two recorded days per node: (root, report, printed lines, steps)."""
    root = tmp_path_factory.mktemp("demo") / "demo"
    lines: list[str] = []
    steps: list[tuple[str, int, int]] = []
    report = run_demo(root, days=2, echo=lines.append, progress=lambda *a: steps.append(a))
    return root, report, lines, steps


@pytest.mark.slow
def test_demo_converges_observes_answers_and_builds_site(demo):
    root, report, lines, _ = demo
    assert report["converged"], report["heads"]
    vaults = {s.node: Vault.open(root / s.node) for s in NODES}
    trees = {n: tree_of(v) for n, v in vaults.items()}
    first = trees[NODES[0].node]
    # every node ends on one tree, the logged questions included (final sync after them)
    assert len({v.head() for v in vaults.values()}) == 1
    for n, t in trees.items():
        assert t == first, n
    assert sum(p.startswith("interactions/2") for p in first) == len(QUESTIONS)
    hub = pygit2.Repository(str(root / "nas" / "homelab-ai.git"))
    assert str(hub.head.target) == vaults[NODES[0].node].head()
    for n, v in vaults.items():
        assert list(v.iter_rollups(n)), f"{n} wrote no rollups"
        assert check_tree(v.root) == [], n
    office_obs = [o for _, o in vaults["office"].iter_observations("office")]
    assert office_obs, "the office node noticed nothing in two recorded days"
    cited = [c["path"] for a in report["answers"] for c in a["citations"]]
    assert cited
    for p in cited:
        assert (vaults[NODES[0].node].root / p.split("#")[0]).is_file(), p  # path#Lline
    site = root / NODES[0].node / ".vault" / "site" / "index.html"
    assert site.is_file() and "office" in site.read_text()
    assert any("done in" in line for line in lines)
    coordinator = root / NODES[0].node
    assert f"  vault site serve --vault {coordinator}" in "\n".join(lines)


# -- the answers, against truth read from the raw CSVs -----------------------------------
DATA = Path(__file__).resolve().parent.parent / "datasets"


def office_rows(day: str) -> list[dict]:
    """Rows of the office file (the demo's replayed one) on ``day`` (its clock)."""
    out = []
    with (DATA / "occupancy-detection" / "datatraining.txt").open(newline="") as f:
        rows = csv.reader(f)
        next(rows)  # the header is one field short: each row starts with a row id
        for _id, t, temp, _hum, light, co2, *_ in rows:
            if t.startswith(day):
                out.append(
                    {
                        "t": datetime.fromisoformat(t),
                        "temp": float(temp),
                        "light": float(light),
                        "co2": float(co2),
                    }
                )
    return out


def room_motion_windows(day: date) -> list[datetime]:
    """5-minute window starts holding an S6_PIR = 1 reading on ``day``."""
    out = set()
    with (DATA / "room-occupancy-estimation" / "Occupancy_Estimation.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            t = datetime.strptime(f"{r['Date']} {r['Time']}", "%d-%m-%Y %H:%M:%S")
            if t.date() == day and r["S6_PIR"] == "1":
                out.add(t.replace(minute=t.minute // 5 * 5, second=0))
    return sorted(out)


def answer(report: dict, question: str) -> dict:
    (a,) = [a for a in report["answers"] if a["question"] == question]
    return a


@pytest.mark.slow
def test_demo_answers_are_right(demo):
    _, report, lines, _ = demo
    assert [a["question"] for a in report["answers"]] == list(QUESTIONS)
    text = "\n".join(lines)
    for a in report["answers"]:
        assert f"Q: {a['question']}\nA: {a['answer'].splitlines()[0]}" in text  # whole, not cut
    # a number and its time
    rows = office_rows("2015-02-05")
    top = max(r["co2"] for r in rows)
    a = answer(report, QUESTIONS[0])
    assert a["facts"][0]["value"] == pytest.approx(top, abs=0.01)
    assert any(f"at {r['t']:%H:%M}" in a["answer"] for r in rows if r["co2"] == top)
    # a time: the light's first 5-minute window reaching 100 lx
    on = next(r["t"] for r in rows if r["light"] >= 100)
    w = on.replace(minute=on.minute // 5 * 5, second=0)
    a = answer(report, QUESTIONS[1])
    assert f"{w:%H:%M}–{w + timedelta(minutes=5):%H:%M} on 2015-02-05" in a["answer"]
    # when: times, not a yes/no verdict
    a = answer(report, QUESTIONS[2])
    assert not a["answer"].lower().startswith(("yes", "no")), a["answer"]
    assert a["verdict"] is None
    spans = [
        (datetime.fromisoformat(f["at"][:19]), datetime.fromisoformat(f["end"][:19]))
        for f in a["facts"]
    ]
    truth = room_motion_windows(date(2017, 12, 22))
    assert spans[0][0] == truth[0] and spans[-1][1] == truth[-1] + timedelta(minutes=5)
    assert all(any(s <= t < e for s, e in spans) for t in truth)
    assert all(any(s <= t < e for t in truth) for s, e in spans)
    for s, e in spans:
        assert f"{s:%H:%M}–{e:%H:%M}" in a["answer"]
    # which day (the two replayed office days; the first starts at 17:51)
    means = {
        d: statistics.fmean(r["temp"] for r in office_rows(d)) for d in ("2015-02-04", "2015-02-05")
    }
    a = answer(report, QUESTIONS[3])
    assert a["answer"].startswith(f"{min(means, key=means.get)} had the lowest daily mean")
    # what a node noticed: that day's observations, each cited
    a = answer(report, QUESTIONS[4])
    assert a["route"] == "observation" and a["citations"]
    assert a["answer"].startswith(f"Office noticed {len(a['citations'])} thing(s) on 2015-02-05")
    # no data: says so and what the data covers, states no value
    a = answer(report, QUESTIONS[5])
    assert a["no_data"] and a["answer"].startswith("No data for office-temperature on 2015-03-01")
    assert "covers 2015-02-04 … 2015-02-05" in a["answer"]


@pytest.mark.slow
def test_demo_reports_progress_for_every_long_step(demo):
    _, _, _, steps = demo
    labels = " | ".join(s[0] for s in steps)
    for what in ("replaying a recorded day", "syncing", "asking:", "indexing", "site"):
        assert what in labels, what
    assert all(0 <= done <= total or total == 0 for _, done, total in steps)


def test_demo_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    res = CliRunner().invoke(main, ["demo", str(tmp_path / "x")])
    assert res.exit_code == 1
    assert "not empty" in res.output
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_demo_announces_its_default_folder(tmp_path, monkeypatch):
    """Without DIR the demo says where it writes (and how to choose another) first."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vault-demo").mkdir()
    (tmp_path / "vault-demo" / "keep.txt").write_text("mine")  # so it stops right after
    res = CliRunner().invoke(main, ["demo"])
    assert res.exit_code == 1
    assert res.stdout.splitlines()[0] == (
        f"demo folder: {tmp_path / 'vault-demo'} (choose one: vault demo DIR)"
    )
    assert "not empty" in res.stderr
