"""Install the package's git hooks into a vault's ``.git/hooks``.

Hooks come from the installed vault-agent (``hooks/`` in the project), rendered with
this interpreter's path; nothing synced from peers is ever executed.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from .resources import project_path
from .vault.atomic import atomic_write_text

HOOKS = ("pre-commit",)


def install_hooks(root: Path) -> list[Path]:
    """Write each hook to ``<root>/.git/hooks/<name>`` (executable); returns the paths.

    A hook file that exists and was not written by vault-agent is kept and ours is
    written beside it as ``<name>.vault-agent``.
    """
    src = project_path("hooks")
    git_dir = Path(root) / ".git"
    if git_dir.is_file():  # a linked worktree or submodule: ask git where its folder is
        import pygit2

        git_dir = Path(pygit2.Repository(str(root)).path)
    dest = git_dir / "hooks"
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name in HOOKS:
        text = (src / name).read_text().replace("@PYTHON@", sys.executable)
        target = dest / name
        if target.exists() and "vault-agent" not in target.read_text(errors="replace"):
            target = dest / f"{name}.vault-agent"
        atomic_write_text(target, text)
        os.chmod(target, os.stat(target).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        out.append(target)
    return out
