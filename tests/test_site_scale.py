"""The incremental site build at scale: thousands of days of one sensor (its own file so
that pytest-xdist can run it beside the other site tests; see tests/conftest.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from tests.test_site_helpers import day_html, parse
from tests.test_site_incremental import rollup
from vault_agent.site.build import build_site
from vault_agent.vault import Vault

# Five and a half years of days: thousands of day pages (plus week and month pages) in one
# full build. The full build's cost is MkDocs rendering every page (~35 ms a page on this
# machine), so the count sets this test's run time (3000 days took ~105 s).
DAYS = 2000


@pytest.mark.slow
def test_thousands_of_days(tmp_path):
    """DAYS days of one sensor build, link up and rebuild incrementally."""
    v, _ = Vault.init(tmp_path / "v", "alpaca-1")
    t0 = datetime(2017, 1, 1, tzinfo=UTC)
    v.append_rollups(
        [
            rollup("alpaca-1", "temp", t0 + timedelta(days=d, hours=h), 15 + h)
            for d in range(DAYS)
            for h in (6, 12, 18)
        ],
        fsync=False,
    )
    v.commit("years of rollups", "rollup")
    rep = build_site(v)
    assert rep.full and rep.html_rendered >= DAYS
    days = list((rep.html_dir / "nodes/alpaca-1/days").glob("*.html"))
    assert len(days) == DAYS
    all_days = parse(rep.html_dir / "nodes/alpaca-1/days.html")
    assert sum(1 for x in all_days.links if "days/" in x) == DAYS
    last = (t0 + timedelta(days=DAYS - 1)).date().isoformat()
    v.append_rollups([rollup("alpaca-1", "temp", t0 + timedelta(days=DAYS - 1, hours=20), 40.0)])
    os.sync()
    rep2 = build_site(v)
    assert not rep2.full and rep2.html_rendered <= 6
    assert rep2.seconds < rep.seconds / 3
    assert "40.5" in day_html(rep.html_dir, "alpaca-1", last).read_text()
