"""Vaults built by replaying the bundled data sets (real replay, real files, real git).

Build once per session and treat as read-only: ``office_vault(root)`` replays
occupancy-detection (datatest + datatraining, 2015-02-02 … 02-10) as node ``office``;
``room_vault(root, "S6")`` replays one recorded node of room-occupancy-estimation as node
``room-s6``. The raw CSVs are in :data:`OFFICE_FILES` and :data:`ROOM_FILE` for truth.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import shared
from vault_agent.sensors.replay import configure_node, replay
from vault_agent.vault import Vault

DATA = Path(__file__).resolve().parent.parent.parent / "datasets"
OFFICE_FILES = (
    DATA / "occupancy-detection" / "datatest.txt",
    DATA / "occupancy-detection" / "datatraining.txt",
)
ROOM_FILE = DATA / "room-occupancy-estimation" / "Occupancy_Estimation.csv"


def office_vault(root: Path) -> Vault:
    """A vault at ``root`` whose node ``office`` replayed the whole office data set (a copy
    of the run's shared build, :mod:`tests.support.shared`)."""
    shared.copy("office-replayed", _replay_office, root)
    return Vault(root, "office")


def _replay_office(root: Path) -> None:
    v, _ = Vault.init(root, "office")
    for p in OFFICE_FILES:
        replay(v, p, configure_node(v, p, "office"))
    v.close()


def room_vault(root: Path, source: str = "S6") -> Vault:
    """A vault at ``root`` whose node ``room-<source>`` replayed that recorded node."""
    v, _ = Vault.init(root, f"room-{source.lower()}")
    replay(v, ROOM_FILE, configure_node(v, ROOM_FILE, source))
    return v
