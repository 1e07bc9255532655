"""A vault built from the bundled data for the MCP tests, built once per test run.

Node ``office``: ``datasets/occupancy-detection/datatraining.txt`` replayed (rollups of
2015-02-04 … 02-10), the observer's backfill without LLM (observations, day notes,
memory), one knowledge-base note, everything committed and the search index built.
Each test gets its own copy (:func:`fresh_copy`), so writes never leak between tests; the
build is shared by the run's test processes (:mod:`tests.support.shared`).
"""

from __future__ import annotations

from pathlib import Path

from tests.support import shared

DATA = Path(__file__).resolve().parent.parent.parent / "datasets"
OFFICE_CSV = DATA / "occupancy-detection" / "datatraining.txt"
NODE = "office"
HEATING_NOTE = "knowledge-base/heating.md"
HEATING_TEXT = (
    "# Heating\n\nThe boiler is a Vaillant ecoTEC in the cellar. Its pressure should read "
    "1.5 bar; below 1.0 bar, refill at the grey valve. The office radiator is slow to warm.\n"
)


def build(root: Path) -> Path:
    """Build the vault at ``root`` (see the module docstring); returns ``root``."""
    from tests.support.replayed import observed_training_vault
    from vault_agent.index.indexer import Indexer

    v = observed_training_vault(root)  # node office: OFFICE_CSV replayed, then observed
    v.write_file(HEATING_NOTE, HEATING_TEXT)
    v.commit("office data, observations and a heating note", "edit")
    Indexer(v).update()
    v.close()
    return root


def fresh_copy(base: Path, dest: Path) -> Path:
    """A copy of the built vault at ``dest`` (git history, index and all). ``base`` is
    unused (the run's shared folder holds the build)."""
    shared.copy("mcp-office", build, dest)
    return dest
