"""Retrieval commands: ``vault search`` and ``vault ask``."""

from __future__ import annotations

from collections.abc import Callable

import click

from .common import emit_json, filter_options, open_vault, parse_when, quiet, vault_option


def _filters(node: str | None, kind: str | None, since: str | None, until: str | None):
    from ..index.whoosh_index import Filters

    s, u = parse_when(since), parse_when(until)
    return Filters(
        node=node or None,
        kind=kind or None,
        since=s.date().isoformat() if s else None,
        until=u.date().isoformat() if u else None,
    )


def retrieval_options(f: Callable) -> Callable:
    """``-k`` and ``--mode`` plus the shared filters and ``--vault``."""
    f = click.option(
        "--mode",
        type=click.Choice(["bm25", "vector", "hybrid"]),
        default="hybrid",
        show_default=True,
        help="Keyword, vector, or both fused.",
    )(f)
    f = click.option(
        "-n",
        "--limit",
        "-k",
        "k",
        type=click.IntRange(1, 100),
        default=None,
        help="How many results (search: 10, ask: 5); -k is an old alias.",
    )(f)
    return vault_option(filter_options(f))


def _status(text: str) -> None:
    if text != "thinking…" and not quiet():  # said at the start already; TTY only
        click.echo(text, err=True)


def _say_rebuild(as_json: bool) -> Callable[[str], None]:
    def say(reason: str) -> None:
        verb = "Building" if reason == "new index" else "Rebuilding"
        click.echo(f"{verb} the index ({reason}) …", err=True)

    return say


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@retrieval_options
def search_cmd(
    query: tuple[str, ...],
    vault_path: str | None,
    node: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    k: int | None,
    mode: str,
    as_json: bool,
) -> None:
    """Search the vault's files (no LLM): prints path, date, score and a snippet.

    Hybrid by default: BM25 (Whoosh) and vectors (Chroma, MiniLM) fused.

    \b
    Examples:
        vault search "motion at night"
        vault search boiler --kind knowledge -k 5
        vault search "kitchen temperature" --node alpaca-1 --since 7d --json
    """
    from ..ask.retrieve import Retriever

    v = open_vault(vault_path)
    flt = _filters(node, kind, since, until)
    res = Retriever(v, on_rebuild=_say_rebuild(as_json)).search(" ".join(query), k or 10, mode, flt)
    if as_json:
        emit_json(
            {
                "query": res.query,
                "mode": mode,
                "notes": res.notes,
                "hits": [h.as_dict() for h in res.hits],
            }
        )
        return
    for note in res.notes:
        click.echo(f"note: {note}", err=True)
    if not res.hits:
        click.echo("no matches")
        return
    for h in res.hits:
        flag = " [conflict copy]" if h.conflict else ""
        click.echo(f"{h.score:8.4f}  {h.date or '----------'}  {h.path}{flag}")
        click.echo(f"          {h.snippet}")


@click.command("ask")
@click.argument("question", nargs=-1, required=True)
@retrieval_options
@click.option(
    "--model",
    default=None,
    help="LLM model (overrides node.toml [llm] model; 'ollama:NAME' sets the backend).",
)
@click.option("--no-log", is_flag=True, help="Do not write the Q&A to interactions/.")
@click.option("--no-llm", is_flag=True, help="No LLM: the computed sentence or the best passages.")
def ask_cmd(
    question: tuple[str, ...],
    vault_path: str | None,
    node: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    k: int | None,
    mode: str,
    as_json: bool,
    model: str | None,
    no_log: bool,
    no_llm: bool,
) -> None:
    """Ask the vault a question; the answer cites vault files and lines.

    Sensor questions (highest/lowest/average, when, how many times/hours, value at
    HH:MM, which day, warmer than, above N) are computed exactly from the rollup
    lines and cite them (file#Lnn); an LLM only rephrases the computed facts, and
    every number it states is checked. "What did NODE notice on DAY" lists that
    day's observations. Other questions search the notes (dates and node in the
    question become filters) and the LLM answers from numbered sources. Times are
    in the vault's time zone (vault.toml). See docs/ask.md for the forms understood.
    The Q&A is logged to interactions/ unless --no-log.

    \b
    Examples:
        vault ask "what was the highest temperature in the office on 2015-02-05?"
        vault ask "when was there motion in room-s6 at night on Dec 22?" --no-llm
        vault ask "which day was the coldest in the office?" --json
        vault ask "what did the office node notice on Feb 9?"
        vault ask "how is the boiler set up?" --model ollama:qwen2.5:3b --no-log
    """
    if not as_json and not quiet():  # status lines only on a terminal (not --quiet)
        click.echo("thinking…", err=True)
    from ..ask.ask import DEFAULT_K, ask

    v = open_vault(vault_path)
    # no filter given: None, so a sensor question never imports the search indexes
    flt = _filters(node, kind, since, until) if (node or kind or since or until) else None
    streamed: list[str] = []

    def on_text(piece: str) -> None:
        streamed.append(piece)
        if not as_json:
            click.echo(piece, nl=False)

    res = ask(
        v,
        " ".join(question),
        k=k or DEFAULT_K,
        filters=flt,
        model=model,
        log=not no_log,
        mode=mode,
        on_text=on_text,
        on_rebuild=_say_rebuild(as_json),
        use_llm=not no_llm,
        on_status=None if as_json else _status,
    )
    if as_json:
        emit_json(res.as_dict())
        return
    if streamed:
        click.echo()
    for note in res.notes:
        click.echo(f"note: {note}", err=True)
    if not streamed or not res.llm_ok:
        click.echo(res.answer)
    if res.route == "sensor" and res.citations:
        click.echo("\nLines:")
        for c in res.citations:
            click.echo(f"  [{c.n}] {c.path}")
    elif res.citations:
        click.echo("\nSources:")
        for c in res.citations:
            click.echo(f"  [{c.n}] {c.path}")
    elif res.llm_ok and res.hits:
        click.echo(
            "\n(the answer cites no source; passages given: "
            + ", ".join(h.path for h in res.hits)
            + ")"
        )
    if res.logged:
        click.echo(f"logged to {res.logged}", err=True)
