"""``vault agent install-service``: a systemd unit for a Raspberry Pi node.

The unit starts the installed CLI with an isolated interpreter
(:func:`~vault_agent.hooks_install.entry_command`): its working directory is the vault,
whose content comes from peers, and nothing there is ever imported.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from ..hooks_install import entry_command
from ..vault.atomic import atomic_write_text

UNIT = """[Unit]
Description=vault-agent node daemon ({node})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={exec_start}
WorkingDirectory={vault}
Restart=on-failure
RestartSec=10
# SIGTERM flushes closed rollup windows and commits; allow it time.
KillSignal=SIGTERM
TimeoutStopSec=15
Environment=PYTHONUNBUFFERED=1
{user_line}
[Install]
WantedBy={wanted_by}
"""


def unit_text(vault: Path, node: str, user_mode: bool, user: str | None = None) -> str:
    """The unit file's text for ``vault`` (absolute path) run as ``node``."""
    exec_start = shlex.join([*entry_command(), "agent", "run", "--vault", str(vault)])
    user_line = "" if user_mode or not user else f"User={user}\n"
    return UNIT.format(
        node=node,
        exec_start=exec_start,
        vault=vault,
        user_line=user_line,
        wanted_by="default.target" if user_mode else "multi-user.target",
    )


def install_unit(
    vault: Path,
    node: str,
    user_mode: bool = True,
    user: str | None = None,
    dest: Path | None = None,
) -> Path:
    """Write ``vault-agent-<node>.service``; returns its path.

    User mode writes to ``~/.config/systemd/user/``, system mode to ``/etc/systemd/system/``
    (unless ``dest`` names a folder). Enabling is left to ``systemctl``.
    """
    if dest is None:
        dest = (Path.home() / ".config/systemd/user") if user_mode else Path("/etc/systemd/system")
    path = Path(dest) / f"vault-agent-{node}.service"
    atomic_write_text(path, unit_text(Path(vault).resolve(), node, user_mode, user))
    return path
