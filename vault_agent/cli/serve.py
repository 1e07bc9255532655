"""``vault serve``: the live dashboard and the static site from one process."""

from __future__ import annotations

import click

from .common import open_vault, vault_option

TOKEN_ENV = "VAULT_WEB_TOKEN"
TOKEN_SETTING = f"[web] token in node.toml or {TOKEN_ENV}"


@click.command("serve")
@vault_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="TCP port (0: any free port).",
)
@click.option("--build", is_flag=True, help="Build the static site first (vault site build).")
def serve_cmd(vault_path: str | None, host: str, port: int, build: bool) -> None:
    """Serve the live dashboard (status, history, live feed, ask) and the static site.

    Open http://127.0.0.1:8080/ on this machine. To reach it from a phone, listen on
    the LAN (--host 0.0.0.0) with a token set ([web] token in node.toml or
    VAULT_WEB_TOKEN); open http://NODE:8080/?token=TOKEN once, a cookie keeps it.
    The static site (built by 'vault site build') is under /site/.

    \b
    Examples:
        vault serve
        VAULT_WEB_TOKEN=s3cret vault serve --host 0.0.0.0 --port 8080
    """
    import uvicorn

    from ..httpauth import check_bind, resolve_token
    from ..web import create_app

    v = open_vault(vault_path)
    token = resolve_token(v.node_config().get("web"), TOKEN_ENV, f"agents/{v.node}/node.toml")
    check_bind(host, token, TOKEN_SETTING)
    if build:
        from ..site.build import build_site
        from .site import phase_bars

        with phase_bars(True) as on_progress:
            build_site(v, on_progress=on_progress)
    app = create_app(v, token=token)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3
    )
    # Bind and listen before printing the address: with --port 0 the kernel picks the
    # port, and the line must name the one actually bound; a script that reads it may
    # connect at once (the kernel queues the connection until uvicorn accepts it).
    sock = config.bind_socket()
    sock.listen(config.backlog)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"serving http://{shown}:{bound}/ (site under /site/; "
        f"{'token required' if token else 'no token: loopback only'}; Ctrl-C to stop)",
        err=True,
    )
    uvicorn.Server(config).run(sockets=[sock])
