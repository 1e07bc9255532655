"""Index commands: ``vault index`` and ``vault watch``."""

from __future__ import annotations

import json

import click

from .common import emit_json, json_option, open_vault, progress_bar, vault_option


def _progress_runner(as_json: bool):
    """(progress callback, on_rebuild callback, finish): a rich bar on stderr from the
    first file indexed (incremental or rebuild); off with --json, --quiet or no TTY."""
    state: dict = {}

    def on_rebuild(reason: str) -> None:
        if as_json:
            return
        verb = "Building" if reason == "new index" else "Rebuilding"
        click.echo(f"{verb} the index ({reason}) …", err=True)
        _start()

    def _start() -> None:
        if "bar" in state or as_json:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn

        bar = progress_bar(
            "indexing files", False, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
        )
        bar.start()
        state["bar"], state["task"] = bar, bar.add_task("indexing files", total=None)

    def progress(done: int, total: int) -> None:
        _start()
        if "bar" in state:
            state["bar"].update(state["task"], completed=done, total=total)

    def finish() -> None:
        if "bar" in state:
            state["bar"].stop()

    return progress, on_rebuild, finish


@click.command("index")
@vault_option
@click.option("--rebuild", is_flag=True, help="Throw the index away and build it from the files.")
@json_option
def index_cmd(vault_path: str | None, rebuild: bool, as_json: bool) -> None:
    """Bring the search indexes (.vault/index) up to date with the files.

    Incremental: only files changed since the last run (git diff from the last
    indexed commit, plus uncommitted files, by content hash). A changed embedder,
    index schema or a corrupt index rebuilds everything, saying why. Files that
    fail their schema are skipped and listed, never fatal.

    \b
    Examples:
        vault index
        vault index --rebuild
        vault index --json
    """
    from ..index.indexer import Indexer

    v = open_vault(vault_path)
    progress, on_rebuild, finish = _progress_runner(as_json)
    try:
        rep = Indexer(v).update(rebuild=rebuild, progress=progress, on_rebuild=on_rebuild)
    finally:
        finish()
    if as_json:
        emit_json(rep.as_dict())
        return
    c = rep.changes
    click.echo(
        f"indexed: {len(c.new)} new, {len(c.modified)} modified, {len(c.deleted)} deleted, "
        f"{c.unchanged} unchanged; {rep.chunks_added} chunks added, "
        f"{rep.total_chunks} in all ({rep.seconds:.1f} s)"
    )
    if rep.problems:
        click.echo(f"skipped {len(rep.problems)} record(s) failing their schema:", err=True)
        for p in rep.problems:
            click.echo(f"  {p}", err=True)


@click.command("watch")
@vault_option
@click.option(
    "--debounce",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds of quiet before a batch runs.",
)
@json_option
def watch_cmd(vault_path: str | None, debounce: float, as_json: bool) -> None:
    """Watch the vault: commit a person's edits (Vault-Kind: edit) and reindex.

    Runs until Ctrl-C. Knowledge-base, shared-memory, READMEs and node.toml edits
    are committed once they pass `vault check`; files written by the agent are
    left to it. A file failing the check is reported once per change of it.
    With --json, one JSON object per batch that did something.

    \b
    Example:
        vault watch --debounce 5
    """
    import signal
    import threading

    from ..index.watch import watch

    v = open_vault(vault_path)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def report(b) -> None:
        if as_json:
            i = b.index
            if b.commit or b.new_problems or (i and (i.changes.changed or i.rebuilt)):
                click.echo(
                    json.dumps(
                        {
                            "commit": b.commit,
                            "committed": b.committed,
                            "refused": b.new_problems,
                            "reindexed": i.changes.changed if i else 0,
                        }
                    )
                )
            return
        if b.commit:
            click.echo(f"committed {b.commit[:10]}: {', '.join(b.committed)}")
        for p in b.new_problems:
            click.echo(f"not committed (fails vault check): {p}", err=True)
        i = b.index
        if i and (i.changes.changed or i.rebuilt):
            click.echo(f"reindexed {i.changes.changed} file(s), {i.chunks_added} chunks")
        if i:
            for p in i.problems:
                click.echo(f"skipped: {p}", err=True)

    if not as_json:
        click.echo(f"watching {v.root} (Ctrl-C to stop)")
    try:
        watch(v, debounce_s=debounce, stop=stop, on_batch=report)
    except KeyboardInterrupt:
        stop.set()
