"""Synthetic rollups for observer unit tests (real data is used in test_observe_realdata)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from vault_agent.vault import Rollup
from vault_agent.vault.layout import iso

STEP = timedelta(minutes=5)


def numeric(
    node: str,
    sensor: str,
    start: datetime,
    end: datetime,
    value: Callable[[datetime], float],
    quantity: str = "temperature",
    unit: str = "°C",
    spread: float = 0.1,
) -> list[Rollup]:
    """5-minute numeric rollups over [start, end): mean value(t), min/max ± spread/2."""
    out = []
    t = start
    while t < end:
        v = value(t)
        out.append(
            Rollup(
                node=node,
                sensor=sensor,
                quantity=quantity,
                unit=unit,
                start=iso(t),
                end=iso(t + STEP),
                count=10,
                mean=v,
                min=v - spread / 2,
                max=v + spread / 2,
                last=v,
                stddev=spread / 4,
                min_at=iso(t + timedelta(minutes=1)),
                max_at=iso(t + timedelta(minutes=4)),
            )
        )
        t += STEP
    return out


def binary(
    node: str,
    sensor: str,
    start: datetime,
    end: datetime,
    events: Callable[[datetime], int],
    quantity: str = "motion",
) -> list[Rollup]:
    """5-minute binary rollups over [start, end) with events(t) events (10 s on each)."""
    out = []
    t = start
    while t < end:
        n = events(t)
        out.append(
            Rollup(
                node=node,
                sensor=sensor,
                quantity=quantity,
                unit="",
                start=iso(t),
                end=iso(t + STEP),
                count=300,
                events=n,
                on_s=10.0 * n,
            )
        )
        t += STEP
    return out
