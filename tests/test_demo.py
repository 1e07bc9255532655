"""`vault demo` end to end on a reduced slice of the bundled real data."""

from __future__ import annotations

import pygit2
import pytest
from click.testing import CliRunner

from vault_agent.agent.demo import NODES, run_demo
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


@pytest.mark.slow
def test_demo_converges_observes_answers_and_builds_site(tmp_path):
    lines: list[str] = []
    report = run_demo(tmp_path / "demo", days=2, echo=lines.append)
    assert report["converged"], report["heads"]
    vaults = {s.node: Vault.open(tmp_path / "demo" / s.node) for s in NODES}
    trees = {n: tree_of(v) for n, v in vaults.items()}
    first = trees[NODES[0].node]
    # every node ends on one tree, the logged questions included (final sync after them)
    assert len({v.head() for v in vaults.values()}) == 1
    for n, t in trees.items():
        assert t == first, n
    assert sum(p.startswith("interactions/2") for p in first) == 3  # the logged Q&A
    hub = pygit2.Repository(str(tmp_path / "demo" / "nas" / "homelab-ai.git"))
    assert str(hub.head.target) == vaults[NODES[0].node].head()
    for n, v in vaults.items():
        assert list(v.iter_rollups(n)), f"{n} wrote no rollups"
        assert check_tree(v.root) == [], n
    office_obs = [o for _, o in vaults["office"].iter_observations("office")]
    assert office_obs, "the office node noticed nothing in two recorded days"
    # every answer cites files that exist in the vault (no LLM here: the extractive
    # answer's numbered passages are its citations)
    assert len(report["answers"]) == 3
    cited = [c["path"] for a in report["answers"] for c in a["citations"] or a["sources"]]
    assert cited
    for p in cited:
        assert (vaults[NODES[0].node].root / p.split("#")[0]).is_file(), p  # path#Lline
    site = tmp_path / "demo" / NODES[0].node / ".vault" / "site" / "index.html"
    assert site.is_file() and "office" in site.read_text()
    assert any("done in" in line for line in lines)
    coordinator = tmp_path / "demo" / NODES[0].node
    assert f"  vault site serve --vault {coordinator}" in "\n".join(lines)


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
