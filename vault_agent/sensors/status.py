"""What ``vault sensors`` shows: per sensor the last value, its age and error count.

Sources, best first: the running sampler's ``local-cache/sensors-status.json``, then
the newest rollup line of the sensor (replayed sensors have only those).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..vault.layout import parse_iso
from .config import SensorSpec
from .sampler import STATUS_FILE


@dataclass(frozen=True)
class SensorRow:
    """One line of ``vault sensors``. ``t`` is UTC ISO 8601; ``age_s`` seconds before now."""

    id: str
    quantity: str
    unit: str
    driver: str
    value: float | None
    t: str | None
    age_s: float | None
    errors: int
    stuck: bool
    source: str  # "sampler", "rollup" or "none"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


def read_status_file(vault: Any) -> dict[str, Any]:
    """The sampler's last status snapshot ({} if none or unreadable)."""
    p = vault.path(f"agents/{vault.node}/local-cache/{STATUS_FILE}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def latest_rollups(vault: Any, sensors: set[str]) -> dict[str, Any]:
    """Newest non-empty rollup per sensor id, plus the errors of its day (newest files first)."""
    found: dict[str, Any] = {}
    for rel in reversed(vault.rollup_files(vault.node)):
        for r in vault.read_rollups(rel):
            if r.sensor not in sensors:
                continue
            cur = found.get(r.sensor)
            if cur is None or r.end > cur.end:
                found[r.sensor] = r
        if sensors <= set(found):
            break
    return found


def sensor_rows(
    vault: Any, specs: list[SensorSpec], now: datetime | None = None
) -> list[SensorRow]:
    """One :class:`SensorRow` per configured sensor."""
    now = now or datetime.now(UTC)
    live = read_status_file(vault).get("sensors", {})
    rolled = latest_rollups(vault, {s.id for s in specs if s.id not in live})
    rows = []
    for s in specs:
        st = live.get(s.id)
        if st and st.get("last_t"):
            t = st["last_t"]
            rows.append(
                SensorRow(
                    s.id,
                    s.quantity,
                    s.unit,
                    s.driver,
                    st.get("last_value"),
                    t,
                    _age(now, t),
                    int(st.get("errors", 0)),
                    bool(st.get("stuck")),
                    "sampler",
                )
            )
            continue
        r = rolled.get(s.id)
        if r is not None:
            value = r.last if r.last is not None else r.mean
            rows.append(
                SensorRow(
                    s.id,
                    s.quantity,
                    s.unit,
                    s.driver,
                    value,
                    r.end,
                    _age(now, r.end),
                    r.errors,
                    False,
                    "rollup",
                )
            )
        else:
            rows.append(
                SensorRow(
                    s.id,
                    s.quantity,
                    s.unit,
                    s.driver,
                    None,
                    None,
                    None,
                    int(st.get("errors", 0)) if st else 0,
                    False,
                    "none",
                )
            )
    return rows


def _age(now: datetime, t: str) -> float | None:
    try:
        return max(0.0, (now - parse_iso(t)).total_seconds())
    except ValueError:
        return None


def format_age(age_s: float | None) -> str:
    """``42s``, ``5m``, ``3h``, ``12d`` or ``-``."""
    if age_s is None or math.isnan(age_s):
        return "-"
    for limit, div, unit in ((120, 1, "s"), (7200, 60, "m"), (172800, 3600, "h")):
        if age_s < limit:
            return f"{age_s / div:.0f}{unit}"
    return f"{age_s / 86400:.0f}d"
