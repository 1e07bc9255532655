"""Vaults built by replaying the bundled data sets (real replay, real files, real git).

``office_vault(root)`` replays occupancy-detection (datatest + datatraining, 2015-02-02 …
02-10) as node ``office``; ``training_vault(root)`` only datatraining (2015-02-04 … 02-10);
``room_vault(root, "S6")`` replays one recorded node of room-occupancy-estimation as node
``room-s6``. The office vaults are built once per run and copied to ``root``
(:mod:`tests.support.shared`). The raw CSVs are in :data:`OFFICE_FILES`,
:data:`TRAINING_FILE` and :data:`ROOM_FILE` for truth.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import shared
from vault_agent.sensors.replay import ReplayStats, configure_node, replay
from vault_agent.vault import Vault

DATA = Path(__file__).resolve().parent.parent.parent / "datasets"
OFFICE_FILES = (
    DATA / "occupancy-detection" / "datatest.txt",
    DATA / "occupancy-detection" / "datatraining.txt",
)
TRAINING_FILE = OFFICE_FILES[1]
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


def training_vault(root: Path) -> tuple[Vault, ReplayStats]:
    """(vault, replay stats): a vault at ``root`` whose new node ``office`` replayed
    :data:`TRAINING_FILE` with the sensors ``configure_node`` gives it (a copy of the run's
    shared build)."""
    stats = shared.copy("office-training", _replay_training, root)
    return Vault(root, "office"), stats


def _replay_training(root: Path) -> ReplayStats:
    v, _ = Vault.init(root, "office")
    stats = replay(v, TRAINING_FILE, configure_node(v, TRAINING_FILE))
    v.close()
    return stats


def room_vault(root: Path, source: str = "S6") -> Vault:
    """A vault at ``root`` whose node ``room-<source>`` replayed that recorded node."""
    v, _ = Vault.init(root, f"room-{source.lower()}")
    replay(v, ROOM_FILE, configure_node(v, ROOM_FILE, source))
    return v
