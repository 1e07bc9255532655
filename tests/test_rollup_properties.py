"""Property test: for any readings in any arrival order, the rollups equal a numpy
group-by over the same values (count, mean, min, max, population std, last)."""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault_agent.sensors.base import Reading
from vault_agent.sensors.config import parse_sensors
from vault_agent.sensors.rollup import RollupEngine
from vault_agent.vault import Vault

T0 = datetime(2025, 3, 1, 23, 50, tzinfo=UTC)  # crosses a UTC day boundary
SPECS = parse_sensors([{"id": "t", "driver": "bme280"}])
RUN = itertools.count()


@pytest.fixture(scope="module")
def vault_dir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, 1800), st.floats(-40, 85, allow_nan=False)),
        min_size=1,
        max_size=60,
        unique_by=lambda x: x[0],
    ),
    st.sampled_from([60, 300, 900]),
    st.randoms(),
)
def test_rollups_equal_numpy_groupby(vault_dir, readings, window, rnd):
    root = vault_dir / f"v{next(RUN)}"  # a fresh vault per example
    v = Vault.init(root, "n1")[0]
    order = list(readings)
    rnd.shuffle(order)
    eng = RollupEngine(v, SPECS, window_s=window)
    for off, x in order:
        eng.add(Reading("t", T0 + timedelta(seconds=off), x))
    eng.flush()
    got = {r.start: r for r in v.iter_rollups(v.node)}
    secs = np.array([o for o, _ in readings], dtype=float)
    vals = np.array([x for _, x in readings])
    starts = np.floor((T0.timestamp() + secs) / window) * window
    assert len(got) == np.unique(starts).size
    for s in np.unique(starts):
        sel = starts == s
        xs, ts = vals[sel], secs[sel]
        r = got[datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
        assert r.count == xs.size
        assert r.mean == pytest.approx(xs.mean(), abs=1e-5)
        assert r.stddev == pytest.approx(xs.std(), abs=1e-5)
        assert (r.min, r.max) == (
            pytest.approx(xs.min(), abs=1e-6),
            pytest.approx(xs.max(), abs=1e-6),
        )
        assert r.last == pytest.approx(xs[ts.argmax()], abs=1e-6)
