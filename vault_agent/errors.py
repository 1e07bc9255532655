"""Domain errors. The CLI turns each into one readable line and exit code 1."""

from __future__ import annotations

from pathlib import Path


class VaultError(Exception):
    """Base class of every error vault-agent reports to a person."""


class NotAVaultError(VaultError):
    """The path is not inside a vault (no vault.toml found)."""


class InvalidNodeNameError(VaultError):
    """A node id that is not a safe path part (docs/architecture.md §2)."""


class SchemaVersionError(VaultError):
    """A file written by a newer vault-agent than this one."""


class LockedError(VaultError):
    """Another process holds the vault's lock."""


class RecordError(VaultError):
    """A record that fails its schema: names the file, the line (1-based, 0 if none), the problem.

    Args:
        path: file the record came from (relative to the vault when known).
        line: 1-based line number, or 0 when the problem is the whole file.
        problem: one short sentence saying what is wrong.
    """

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}" if line else f"{self.path}: {problem}")
