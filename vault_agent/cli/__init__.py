"""The ``vault`` command: a thin click layer over the library.

Commands load lazily (heavy imports such as chromadb stay out of ``vault --help``);
a command module that fails to import is an error naming the module, never a
command that silently disappears.

Exit status: 0 done; 1 an error (one line on stderr, ``Error: …``); 2 bad usage (one
line naming the option); 130 interrupted. ``--debug`` or ``VAULT_DEBUG=1`` re-raises
with the traceback. A closed pipe (``vault log | head -1``) ends quietly with 0.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from typing import Any

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
    "logs": "vault_agent.cli.sensors:logs_cmd",  # hidden alias of `vault agent logs`
    "observe": "vault_agent.cli.observe:observe_cmd",
    "observations": "vault_agent.cli.observe:observations_cmd",
    "peer": "vault_agent.cli.sync:peer_group",
    "sync": "vault_agent.cli.sync:sync_cmd",
    "conflicts": "vault_agent.cli.sync:conflicts_group",
    "index": "vault_agent.cli.index:index_cmd",
    "watch": "vault_agent.cli.index:watch_cmd",
    "search": "vault_agent.cli.ask:search_cmd",
    "ask": "vault_agent.cli.ask:ask_cmd",
    "mcp": "vault_agent.cli.mcp:mcp_cmd",
    "history": "vault_agent.cli.query:history_cmd",
    "query": "vault_agent.cli.query:query_cmd",
    "site": "vault_agent.cli.site:site_group",
    "serve": "vault_agent.cli.serve:serve_cmd",
    "agent": "vault_agent.cli.agent:agent_group",
    "demo": "vault_agent.cli.agent:demo_cmd",
}
# Old names kept working but not listed in `vault --help`.
HIDDEN = frozenset({"logs"})


class CommandLoadError(click.ClickException):
    """A command's module failed to import (a broken install or a bug), named in one line."""


def debug_enabled() -> bool:
    """True when tracebacks should be shown (``--debug`` or ``VAULT_DEBUG=1``)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("debug"):
        return True
    return os.environ.get("VAULT_DEBUG", "") not in ("", "0")


class VaultGroup(click.Group):
    """A click group that loads commands on demand and turns errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if n not in HIDDEN and n in self._available())

    def _available(self) -> set[str]:
        """Commands whose module is importable (only modules that exist on main)."""
        return {n for n, spec in COMMANDS.items() if importlib.util.find_spec(_mod(spec))}

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        """The command ``name`` (None when unknown).

        Raises:
            CommandLoadError: its module exists but fails to import, or lacks the
                attribute; one line naming the module and the error.
        """
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        mod, _, attr = spec.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            if debug_enabled():
                raise
            raise CommandLoadError(
                f"command {name!r} cannot load: module {mod} failed to import: "
                f"{type(e).__name__}: {_one_line(str(e))} (reinstall vault-agent, or run "
                "with --debug for the traceback)"
            ) from None

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        """Run the CLI; in standalone mode every error is one line on stderr.

        Click prints a usage block before a usage error; here it is one line naming
        the option and the command's --help.
        """
        standalone = extra.pop("standalone_mode", True)
        if not standalone:
            return super().main(args, prog_name, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.UsageError as e:
            where = e.ctx.command_path if e.ctx else "vault"
            click.echo(f"Error: {_one_line(e.format_message())} (see '{where} --help')", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"Error: {_one_line(e.format_message())}", err=True)
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted", err=True)
            sys.exit(1)
        except BrokenPipeError:
            _quiet_pipe()
            sys.exit(0)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):
        # Trigger: any exception out of a command. Why: a person gets one readable line,
        # not a traceback. What: print "Error: …", exit 1; --debug / VAULT_DEBUG re-raise.
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # Trigger: the reader of our stdout went away (`| head -1`). Why: that is
            # how pipes end, not an error. What: drop further output, exit 0.
            _quiet_pipe()
            ctx.exit(0)
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
            from ..agent.explain import explain

            known = explain(e, _vault_hint(ctx))
            if known:
                click.echo(f"Error: {known}", err=True)
                ctx.exit(1)
            click.echo(
                f"Error: {type(e).__name__}: {_one_line(str(e))} "
                "(run with --debug for the traceback)",
                err=True,
            )
            ctx.exit(1)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def _mod(spec: str) -> str:
    return spec.partition(":")[0]


def _quiet_pipe() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a test runner's stdout has no file descriptor
        pass


def _vault_hint(ctx: click.Context) -> str | None:
    """The vault the command worked in (the one it opened), else VAULT_PATH, else None."""
    from .common import OPENED

    root = OPENED.get("root")
    return str(root) if root else os.environ.get("VAULT_PATH") or None


@click.group(cls=VaultGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress bars or status lines (also when not a TTY)."
)
@click.version_option(package_name="vault-agent")
def main(debug: bool, verbose: int, quiet: bool) -> None:  # read through the root context
    """vault: offline-first memory for home-lab AI nodes.

    The memory is a git repository of plain files that every node holds a copy of.
    Run commands inside the vault's folder, or pass --vault DIR (or set VAULT_PATH).
    Exit status: 0 done, 1 error (one line on stderr), 2 bad usage, 130 interrupted.

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
