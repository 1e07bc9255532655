"""``vault mcp``: serve the vault to LLM agents over the Model Context Protocol."""

from __future__ import annotations

import logging
import signal
import sys

import click

from .common import open_vault, vault_option

TOKEN_ENV = "VAULT_MCP_TOKEN"
DEFAULT_PORT = 8765


@click.command("mcp")
@vault_option
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP: address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="HTTP: port (0 picks a free one).")  # fmt: skip
@click.option("--no-warm", is_flag=True, help="Do not update the search index at start.")
def mcp_cmd(vault_path: str | None, use_http: bool, host: str, port: int, no_warm: bool) -> None:
    """Serve the vault as MCP tools (search, ask, read, history, remember, write_note…).

    By default speaks MCP over stdin/stdout, which is what Claude Desktop, Claude
    Code and other desktop clients launch. With --http it serves streamable HTTP at
    http://HOST:PORT/mcp; binding beyond 127.0.0.1 needs a token ([mcp] token in
    node.toml or VAULT_MCP_TOKEN), sent by clients as "Authorization: Bearer TOKEN".
    What clients may read and write is set by [mcp] read/write in node.toml; every
    call is logged to agents/<node>/sessions/ and committed (Vault-Kind: agent).

    \b
    Examples:
        vault mcp --vault ~/vault
        vault mcp --http --port 8765
        VAULT_MCP_TOKEN=s3cret vault mcp --http --host 0.0.0.0
    """
    from ..httpauth import check_bind, resolve_token
    from ..mcp.permissions import policy_from_config

    v = open_vault(vault_path)
    rel = f"agents/{v.node}/node.toml"
    config = v.node_config()
    policy = policy_from_config(v.node, config, rel)  # bad [mcp] fails before the slow import
    token = resolve_token(config.get("mcp"), TOKEN_ENV, rel)
    if use_http:
        check_bind(host, token, f"[mcp] token in {rel} or {TOKEN_ENV}")
    from ..mcp.server import VaultMCP, run_http, run_stdio

    logging.getLogger("vault_agent").setLevel(min(logging.getLogger().level, logging.INFO))
    app = VaultMCP(v, policy)
    # Trigger: the client stops us with SIGTERM (the MCP SDK does after 2 s). Why: the
    # session log of read-only calls is committed on the way out. What: exit cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    app.start(warm=not no_warm)
    try:
        if use_http:
            run_http(app, host, port, token, on_ready=_say_listening)
        else:
            run_stdio(app)
    finally:
        app.close()


def _say_listening(url: str, token: bool) -> None:
    auth = "bearer token required" if token else "no token (loopback only)"
    click.echo(f"vault mcp: serving {url} ({auth})", err=True)
    sys.stderr.flush()
