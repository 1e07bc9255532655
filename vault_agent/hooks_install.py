"""Install the package's git hooks into a vault's ``.git/hooks``.

Hooks come from the installed vault-agent (``hooks/`` in the project), rendered with
:func:`entry_command`: this interpreter's absolute path in isolated mode, so nothing
synced from peers is ever imported or executed (a ``vault_agent/`` folder planted at
the vault root, the hook's working directory, is never on ``sys.path``).
"""

from __future__ import annotations

import os
import shlex
import site
import stat
import sys
from pathlib import Path

from .resources import project_path
from .vault.atomic import atomic_write_text

HOOKS = ("pre-commit",)


def entry_command() -> list[str]:
    """argv that starts the installed ``vault`` CLI whatever the working directory holds.

    ``python -I -m vault_agent.cli`` with this interpreter's absolute path: ``-I`` keeps
    the working directory (a vault, whose content comes from peers) and ``PYTHON*``
    variables off ``sys.path``. When vault-agent is installed in the user site
    (``pip install --user``), which ``-I`` would hide, ``-E -P`` is used instead: the
    same protection against the working directory and the environment (Python ≥ 3.11).
    """
    flags = ["-I"]
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    here = Path(__file__).resolve()
    if user_site and here.is_relative_to(Path(user_site).resolve()):
        flags = ["-E", "-P"]
    return [str(Path(sys.executable).absolute()), *flags, "-m", "vault_agent.cli"]


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
        text = (src / name).read_text().replace("@VAULT@", shlex.join(entry_command()))
        target = dest / name
        if target.exists() and "vault-agent" not in target.read_text(errors="replace"):
            target = dest / f"{name}.vault-agent"
        atomic_write_text(target, text)
        os.chmod(target, os.stat(target).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        out.append(target)
    return out
