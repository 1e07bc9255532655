"""The NAS hub: a plain bare git repository on branch ``main``, usable by plain git."""

from __future__ import annotations

from pathlib import Path

import pygit2

from ..errors import VaultError
from .repo import init_repo


def init_bare(path: Path) -> bool:
    """Create a bare repository at ``path``; returns False if one already is there.

    Raises:
        VaultError: ``path`` is a non-empty folder that is not a bare repository.
    """
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        try:
            if pygit2.Repository(str(path)).is_bare:
                return False
        except pygit2.GitError:
            pass
        raise VaultError(f"{path} is not empty and is not a bare git repository")
    init_repo(path, bare=True)
    return True
