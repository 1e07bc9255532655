"""One agent per vault working copy: a lock file holding the owner's pid.

The lock is ``agents/<node>/local-cache/agent.lock``, created with ``O_EXCL``. A lock
whose pid no longer runs (the agent was SIGKILLed or the Pi lost power) is stale and
is taken over, with a log line.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import LockedError
from ..vault.process import pid_alive

log = logging.getLogger("vault_agent.agent")


def read_lock_pid(path: Path) -> int | None:
    """The pid recorded in a lock file, or None if absent or unreadable."""
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class AgentLock:
    """Context manager holding the agent lock of a vault.

    Raises:
        LockedError: another live agent holds it (its pid is in the message).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.held = False
        self.took_stale = False

    def acquire(self) -> None:
        """Take the lock, replacing a stale one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pid = read_lock_pid(self.path)
                if pid is not None and pid != os.getpid() and pid_alive(pid):
                    raise LockedError(
                        f"another agent (pid {pid}) is running on this vault (lock {self.path})"
                    ) from None
                log.warning("event=stale_lock pid=%s path=%s: taking it over", pid, self.path)
                self.took_stale = True
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()}\n")
                fh.flush()
                os.fsync(fh.fileno())
            self.held = True
            return
        raise LockedError(f"could not take the agent lock {self.path}")

    def release(self) -> None:
        """Remove the lock if we hold it."""
        if self.held and read_lock_pid(self.path) == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> AgentLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
