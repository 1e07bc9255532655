"""``vault site build|serve``: the vault as a static website (mkdocs-material, offline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from .common import emit_json, json_option, open_vault, vault_option


@contextmanager
def phase_bars(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress display on stderr drawing the site build's ``(phase, done, total)``
    reports as one bar per phase; yields the callback (None when disabled)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    tasks: dict[str, object] = {}

    def report(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bars.add_task(phase, total=total)
        bars.update(tasks[phase], completed=done, total=total)

    with bars:
        yield report


@click.group("site")
def site_group() -> None:
    """Build or serve the vault's static website (offline, no CDN).

    \b
    Examples:
        vault site build            # incremental; HTML in .vault/site/
        vault site build --clean    # regenerate every page
        vault site serve --port 8000
    """


@site_group.command("build")
@vault_option
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default=None,
    help="HTML folder (default: .vault/site/ in the vault).",
)
@click.option("--clean", is_flag=True, help="Regenerate every page and render all HTML.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@json_option
def build_cmd(
    vault_path: str | None, out: str | None, clean: bool, no_progress: bool, as_json: bool
) -> None:
    """Generate Markdown from the vault and build the HTML site.

    Only pages of days and files changed since the last build (git diff plus
    uncommitted files) are regenerated; --clean rebuilds all. Open
    .vault/site/index.html in a browser (works from file://) or run 'vault site serve'.
    """
    from ..site.build import build_site

    v = open_vault(vault_path)
    with phase_bars(not (no_progress or as_json)) as on_progress:
        report = build_site(v, out=out, clean=clean, on_progress=on_progress)
    if as_json:
        emit_json(report.as_dict())
        return
    kind = "full" if report.full else "incremental"
    click.echo(
        f"{kind} build" + ("" if report.reason == kind else f" ({report.reason})") + ": "
        f"{report.pages_written} page(s) written, "
        f"{report.pages_skipped} unchanged, {report.pages_deleted} removed, "
        f"{report.html_rendered} rendered in {report.seconds:.1f}s"
    )
    for p in report.problems[:20]:
        click.echo(f"skipped: {p}", err=True)
    if report.broken_links:
        click.echo(f"{len(report.broken_links)} broken wikilink(s):", err=True)
        for b in report.broken_links[:20]:
            click.echo(f"  {b.page}:{b.line}: [[{b.target}]]", err=True)
    click.echo(f"site: {report.html_dir / 'index.html'}")


@site_group.command("serve")
@vault_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--no-watch", is_flag=True, help="Do not rebuild when vault files change.")
def serve_cmd(vault_path: str | None, port: int, host: str, no_watch: bool) -> None:
    """Build the site, serve it on http://127.0.0.1:PORT/ and rebuild on change."""
    from ..site.serve import serve

    v = open_vault(vault_path)
    check_port_free(host, port)
    serve(
        v,
        host=host,
        port=port,
        watch=not no_watch,
        announce=lambda url: click.echo(f"serving {url} (Ctrl-C to stop)"),
    )


def check_port_free(host: str, port: int) -> None:
    """Fail before the (long) build when ``host:port`` cannot be bound.

    Raises:
        click.ClickException: the port is taken (or the address is not this machine's).
    """
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise click.ClickException(
                f"cannot listen on {host}:{port} ({e.strerror or e}); the port is probably in "
                "use: choose another with --port N, or stop what uses it"
            ) from None
