"""`vault index` and `vault search` through click's CliRunner on a tiny real vault."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from tests.test_index_indexer import make_vault
from vault_agent.cli import main


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    return make_vault(tmp_path_factory.mktemp("s") / "v")


def run(vault, *args):
    r = CliRunner().invoke(main, [*args, "--vault", str(vault.root)])
    return r


def test_index_then_incremental_json(vault):
    r = run(vault, "index")
    assert r.exit_code == 0, r.output
    assert "new" in r.stdout and "chunks added" in r.stdout
    r = run(vault, "index", "--json")
    data = json.loads(r.stdout)
    assert data["rebuilt"] is False and data["new"] == [] and data["unchanged"] >= 4


def test_index_rebuild_says_why(vault):
    r = run(vault, "index", "--rebuild")
    assert r.exit_code == 0
    assert "Rebuilding the index (requested (--rebuild))" in r.stderr


def test_search_prints_path_date_score_snippet(vault):
    r = run(vault, "search", "radiator", "slow")
    assert r.exit_code == 0, r.output
    first = r.stdout.splitlines()[0]
    assert first.split()[-1] == "knowledge-base/heating.md"
    assert "radiator" in r.stdout.splitlines()[1]


@pytest.mark.parametrize("mode", ["bm25", "vector", "hybrid"])
def test_search_modes_json(vault, mode):
    r = run(vault, "search", "hall motion at night", "--mode", mode, "--json", "-k", "3")
    data = json.loads(r.stdout)
    assert data["mode"] == mode and len(data["hits"]) <= 3
    assert data["hits"][0]["kind"] == "observation"


def test_search_filters(vault):
    r = run(
        vault,
        "search",
        "kitchen",
        "--kind",
        "rollup",
        "--since",
        "2025-10-14",
        "--until",
        "2025-10-14",
        "--json",
    )
    hits = json.loads(r.stdout)["hits"]
    assert hits and {h["kind"] for h in hits} == {"rollup"}
    assert hits[0]["date"] == "2025-10-14"
    r = run(vault, "search", "kitchen", "--node", "nobody", "--json")
    assert json.loads(r.stdout)["hits"] == []


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_a_clear_error(vault, query):
    r = run(vault, "search", query)
    assert r.exit_code == 1
    assert "empty query" in r.stderr


def test_100kb_query_is_cut_and_searched(vault):
    q = ("radiator " * 12000)[:100_000]
    r = run(vault, "search", q, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert "searching its first 2000" in data["notes"][0]
    assert data["hits"][0]["path"] == "knowledge-base/heating.md"


def test_deleted_state_dir_search_rebuilds(vault):
    run(vault, "index")
    shutil.rmtree(vault.root / ".vault")
    r = run(vault, "search", "tomatoes")
    assert r.exit_code == 0, r.output
    assert "Building the index (new index)" in r.stderr
    assert "knowledge-base/garden.md" in r.stdout


def test_help_has_examples():
    for cmd in ("index", "watch", "search", "ask"):
        r = CliRunner().invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output


def test_rollup_chunks_of_one_day_are_not_collapsed(vault):
    from vault_agent.vault import Rollup

    vault.append_rollups(
        [
            Rollup(
                node="alpaca-1",
                sensor="kitchen-humidity",
                quantity="humidity",
                unit="%RH",
                start="2025-10-14T06:00:00Z",
                end="2025-10-14T06:05:00Z",
                count=300,
                mean=50.0,
                min=48.0,
                max=52.0,
            )
        ]
    )
    r = run(vault, "search", "kitchen", "--kind", "rollup", "--json")
    ids = [h["id"] for h in json.loads(r.stdout)["hits"]]
    assert len(ids) == 2 and len({i.split("#")[0] for i in ids}) == 1
