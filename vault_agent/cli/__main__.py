"""``python -m vault_agent.cli`` (used by the git hooks)."""

from . import main

main()
