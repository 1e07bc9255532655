"""Vaults built by replaying the bundled data sets (real replay, real files, real git).

``office_vault(root)`` replays occupancy-detection (datatest + datatraining, 2015-02-02 …
02-10) as node ``office``; ``training_vault(root)`` only datatraining (2015-02-04 … 02-10);
``observed_training_vault(root)`` adds the observer's backfill to the latter;
``room_vault(root, "S6")`` replays one recorded node of room-occupancy-estimation as node
``room-s6``. Each is built once per run and copied to ``root``
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


def observed_training_vault(root: Path) -> Vault:
    """A copy of :func:`training_vault` after the observer's backfill without LLM over the
    data's span (observations, day notes, memory notes; uncommitted like the observer
    leaves them), built once per run."""
    shared.copy("office-training-observed", _observe_training, root)
    return Vault(root, "office")


def _observe_training(root: Path) -> None:
    from vault_agent.cli.observe import _data_span
    from vault_agent.llm import NoLLM
    from vault_agent.observe.observer import Observer

    v, _ = training_vault(root)
    Observer(v, llm=NoLLM()).backfill(*_data_span(v))
    v.close()


def room_vault(root: Path, source: str = "S6") -> Vault:
    """A vault at ``root`` whose node ``room-<source>`` replayed that recorded node (a copy
    of the run's shared build)."""
    node = f"room-{source.lower()}"
    shared.copy(f"room-{source}", lambda dest: _replay_room(dest, node, source), root)
    return Vault(root, node)


def _replay_room(root: Path, node: str, source: str) -> None:
    v, _ = Vault.init(root, node)
    replay(v, ROOM_FILE, configure_node(v, ROOM_FILE, source))
    v.close()
