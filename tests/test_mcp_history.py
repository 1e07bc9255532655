"""The MCP ``history`` tool's step: chosen for the model when ``every`` is not given,
kept as asked when it is; values against the raw CSV (csv + numpy).

Calls :class:`VaultTools` in-process on a vault replaying the office data set; the
transport is covered by tests/test_mcp_stdio.py and tests/test_mcp_http.py.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np
import pytest

from tests.support.replayed import OFFICE_FILES, office_vault
from vault_agent.mcp.permissions import Policy
from vault_agent.mcp.tools import (
    MAX_POINTS,
    STEPS_S,
    TARGET_POINTS,
    ToolInputError,
    VaultTools,
    auto_step,
    auto_step_rule,
)
from vault_agent.vault import Vault


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> VaultTools:
    v: Vault = office_vault(tmp_path_factory.mktemp("mcp-history") / "v")
    return VaultTools(v, Policy(v.node))


def co2_rows() -> tuple[np.ndarray, np.ndarray]:
    """(UTC epoch seconds, CO2 ppm) of the office recordings."""
    t, x = [], []
    for p in OFFICE_FILES:
        with open(p, newline="") as fh:
            rows = csv.reader(fh)
            col = next(rows).index("CO2") + 1  # rows carry a row number first
            for row in rows:
                t.append(datetime.fromisoformat(row[1]).replace(tzinfo=UTC).timestamp())
                x.append(float(row[col]))
    return np.array(t), np.array(x)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_auto_step_keeps_answers_small() -> None:
    for days in range(1, 1401):
        step = auto_step(days)
        assert days * 86400 / step <= TARGET_POINTS
        smaller = [s for s in STEPS_S if s < step]
        assert not smaller or days * 86400 / smaller[-1] > TARGET_POINTS  # the finest fitting
    assert auto_step_rule().startswith("15m up to 2 days, 30m up to 4 days, 1h up to 8 days")
    assert auto_step_rule().endswith("1d up to 200 days, 7d beyond")


def test_history_without_every_picks_the_step_and_matches_the_csv(tools: VaultTools) -> None:
    t, co2 = co2_rows()
    r = tools.history("office co2", since="2015-02-02", until="2015-02-10")  # 9 days: 3 h
    assert r.data["every_s"] == 3 * 3600 and "every 3h" in r.text.splitlines()[0]
    points = r.data["points"]
    b = t // 10800 * 10800
    truth = {iso(k): co2[b == k].mean() for k in np.unique(b)}
    assert len(points) == len(truth) <= TARGET_POINTS
    for p in points:
        assert p["value"] == pytest.approx(truth[p["t"]], abs=1e-4)
    last7 = tools.history("office co2")  # no dates: the last 7 days with data, 1 h
    assert last7.data["every_s"] == 3600 and len(last7.data["points"]) <= 7 * 24


def test_explicit_every_is_kept(tools: VaultTools) -> None:
    t, _ = co2_rows()
    day = datetime(2015, 2, 5, tzinfo=UTC).timestamp()
    windows = np.unique(t[(t >= day) & (t < day + 86400)] // 300)
    r = tools.history("office co2", since="2015-02-05", until="2015-02-05", every="5m")
    assert r.data["every_s"] == 300 and len(r.data["points"]) == len(windows) > TARGET_POINTS
    with pytest.raises(ToolInputError, match=f"more than {MAX_POINTS}"):
        tools.history("office co2", since="2015-02-02", until="2015-02-10", every="5m")
