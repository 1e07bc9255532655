"""The ``vault`` command: a thin click layer over the library.

Commands load lazily (heavy imports such as chromadb stay out of ``vault --help``).
Domain errors print one line and exit 1; ``--debug`` or ``VAULT_DEBUG=1`` re-raises.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from ..errors import VaultError

# command name -> "module:attribute" (one module per command group)
COMMANDS: dict[str, str] = {
    "init": "vault_agent.cli.core:init_cmd",
    "status": "vault_agent.cli.core:status_cmd",
    "commit": "vault_agent.cli.core:commit_cmd",
    "log": "vault_agent.cli.core:log_cmd",
    "check": "vault_agent.cli.core:check_cmd",
    "hooks": "vault_agent.cli.core:hooks_group",
    "sensors": "vault_agent.cli.sensors:sensors_group",
    "replay": "vault_agent.cli.sensors:replay_cmd",
    "logs": "vault_agent.cli.sensors:logs_cmd",
    "observe": "vault_agent.cli.observe:observe_cmd",
    "observations": "vault_agent.cli.observe:observations_cmd",
    "peer": "vault_agent.cli.sync:peer_group",
    "sync": "vault_agent.cli.sync:sync_cmd",
    "conflicts": "vault_agent.cli.sync:conflicts_group",
    "index": "vault_agent.cli.index:index_cmd",
    "watch": "vault_agent.cli.index:watch_cmd",
    "search": "vault_agent.cli.ask:search_cmd",
    "ask": "vault_agent.cli.ask:ask_cmd",
    "history": "vault_agent.cli.query:history_cmd",
    "query": "vault_agent.cli.query:query_cmd",
    "site": "vault_agent.cli.site:site_group",
    "serve": "vault_agent.cli.serve:serve_cmd",
    "agent": "vault_agent.cli.agent:agent_group",
    "demo": "vault_agent.cli.agent:demo_cmd",
}


def debug_enabled() -> bool:
    """True when tracebacks should be shown (``--debug`` or ``VAULT_DEBUG=1``)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("debug"):
        return True
    return os.environ.get("VAULT_DEBUG", "") not in ("", "0")


class VaultGroup(click.Group):
    """A click group that loads commands on demand and turns errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if self._load(n) is not None)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        mod, _, attr = spec.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError):
            if debug_enabled():
                raise
            return None

    def invoke(self, ctx: click.Context):
        # Trigger: any exception out of a command. Why: a person gets one readable line,
        # not a traceback. What: print "Error: …", exit 1; --debug / VAULT_DEBUG re-raise.
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except VaultError as e:
            if debug_enabled():
                raise
            click.echo(f"Error: {_one_line(str(e))}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            click.echo("Interrupted", err=True)
            ctx.exit(130)
        except Exception as e:  # noqa: BLE001 - the CLI boundary reports every error
            if debug_enabled():
                raise
            click.echo(
                f"Error: {type(e).__name__}: {_one_line(str(e))} "
                "(run with --debug for the traceback)",
                err=True,
            )
            ctx.exit(1)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


@click.group(cls=VaultGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="vault-agent")
def main(debug: bool, verbose: int) -> None:  # debug is read by debug_enabled()
    """vault: offline-first memory for home-lab AI nodes.

    The memory is a git repository of plain files that every node holds a copy of.

    \b
    Example:
        vault init ~/vault --node alpaca-1
        vault replay datasets/occupancy-detection/datatraining.txt --node office --backfill
        vault status
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
