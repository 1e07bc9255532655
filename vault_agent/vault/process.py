"""Processes on this machine: is a recorded pid still alive?"""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists (signal 0 probe, ``kill(2)``); a process of
    another user counts as alive (EPERM)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
