"""Core commands: init, status, commit, log, check, hooks."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ..agent import status as agent_status
from ..errors import VaultError
from ..sync import status as sync_status
from ..sync import transport
from ..vault import Vault, layout
from ..vault import repo as git
from ..vault.check import (
    check_staged,
    check_tree,
    check_tree_cached,
)
from ..vault.precommit import pending_problems
from .common import (
    emit_json,
    json_option,
    limit_option,
    node_option,
    open_vault,
    since_until_options,
    status,
    time_range,
    vault_option,
)

log = logging.getLogger("vault_agent")

# Other parts of the product add a section to `vault status` with
# ``status_section(vault) -> (key, data, lines)``.
STATUS_SECTIONS = (sync_status.status_section, agent_status.status_section)


@click.command("init")
@click.argument("path", required=False, default=".", type=click.Path())
@click.option("--node", default=None, help="This node's id (lower-case letters, digits, '-').")
@click.option("--from", "from_url", default=None, help="Join an existing vault: clone this URL.")
@click.option("--bare", is_flag=True, help="Create a bare hub repository (the NAS) instead.")
@click.option("--name", default=None, help="Vault name (default: the folder name).")
@click.option(
    "--llm",
    "llm",
    default=None,
    metavar="BACKEND[:MODEL]",
    help="The LLM: ollama:qwen2.5:0.5b, llamacpp:/path/model.gguf or none "
    "(default: a local Ollama if one answers, else none).",
)
@json_option
def init_cmd(
    path: str,
    node: str | None,
    from_url: str | None,
    bare: bool,
    name: str | None,
    llm: str | None,
    as_json: bool,
) -> None:
    """Create a vault (or join one with --from, or make a NAS hub with --bare).

    Refuses a non-empty folder that is not a vault; on a vault it does nothing but
    set the LLM when --llm is given.
    Installs the pre-commit validation hook. Without --llm the node has no LLM
    (rule-based observations, answers from the best passages) unless a local
    Ollama answers (OLLAMA_HOST, else 127.0.0.1:11434); that is said once.
    Then `cd PATH` (or pass --vault PATH) for the other commands.

    \b
    Examples:
        vault init ~/vault --node alpaca-1
        vault init ~/vault --node alpaca-1 --llm ollama:qwen2.5:0.5b
        vault init --bare /srv/homelab-ai.git
        vault init ~/vault --node llama --from ssh://nas/srv/homelab-ai.git
    """
    if bare:
        from ..vault.hub import init_bare

        created = init_bare(Path(path))
        if as_json:
            emit_json({"bare": True, "path": str(Path(path).resolve()), "created": created})
            return
        click.echo(f"{'Created' if created else 'Already a'} bare hub repository at {path}")
        return
    if node is None:
        raise click.UsageError("--node NAME is required (this node's id)")
    llm_cfg = parse_llm(llm) if llm else None
    if from_url:
        check_clone_source(from_url)
    with status(f"cloning {from_url} …", off=not from_url or as_json):
        v, created = Vault.init(path, node, from_url=from_url, name=name, clone=transport.clone)
    # Trigger: --llm on a vault that exists. Why: the first init says "set one with
    # vault init --llm …". What: only [llm] changes (committed); nothing else is touched.
    same = llm_cfg is not None and llm_cfg.items() <= (v.node_config().get("llm") or {}).items()
    llm_note = configure_llm(v, llm_cfg) if created or (llm_cfg and not same) else None
    if as_json:
        emit_json(
            {
                "root": str(v.root),
                "vault": v.name,
                "node": v.node,
                "created": created,
                "joined": bool(from_url) and created,
                "llm": (v.node_config().get("llm") or {}).get("backend", "none"),
                "head": v.head(),
            }
        )
        return
    if created:
        verb = "Joined" if from_url else "Created"
        click.echo(f"{verb} vault {v.name!r} at {v.root} as node {v.node}")
        if llm_note:
            click.echo(llm_note)
        click.echo(f"next: cd {v.root}   (or pass --vault {v.root} to each command)")
    elif llm_note:
        click.echo(f"{v.root} is already a vault (node {v.node}); {llm_note}")
    else:
        click.echo(f"{v.root} is already a vault (node {v.node}); nothing to do")


def parse_llm(spec: str) -> dict:
    """``ollama:qwen2.5:0.5b`` / ``llamacpp:/m.gguf`` / ``none`` → node.toml ``[llm]`` keys.

    Raises:
        click.BadParameter: an unknown backend or a missing model.
    """
    backend, _, model = spec.partition(":")
    backend = backend.strip().lower()
    if backend == "none":
        return {"backend": "none"}
    if backend not in ("ollama", "llamacpp") or not model:
        raise click.BadParameter(
            f"{spec!r}: use ollama:MODEL (e.g. ollama:qwen2.5:0.5b), llamacpp:/path/model.gguf "
            "or none",
            param_hint="--llm",
        )
    return {"backend": backend, "model": model}


def configure_llm(v: Vault, chosen: dict | None) -> str | None:
    """Set ``[llm]`` of a new node: ``chosen``, else a local Ollama that answers, else none.

    Returns the line to say (once), or None when nothing changed. Commits node.toml.
    """
    from ..agent.ollama_probe import detect_ollama

    cfg = v.node_config()
    llm = dict(cfg.get("llm") or {})
    if chosen is None:
        found = detect_ollama()
        if found is None:
            return (
                "LLM: none (rule-based observations; answers quote the best passages); "
                f"set one with: vault init {v.root} --node {v.node} --llm ollama:qwen2.5:0.5b"
            )
        host, model = found
        chosen = {"backend": "ollama", "host": host, "model": model}
        note = f"LLM: found a local Ollama at {host}; using model {model} ([llm] in node.toml)"
    else:
        note = f"LLM: {chosen['backend']}" + (f" {chosen['model']}" if "model" in chosen else "")
    llm.update(chosen)
    cfg["llm"] = llm
    rel = v.write_node_config(cfg)
    v.commit(f"{v.node}: set [llm] backend {llm['backend']}", "config", paths=[rel])
    return note


def check_clone_source(url: str) -> None:
    """Refuse a local path that does not exist before cloning it (git would call it an
    'unsupported URL protocol').

    Raises:
        VaultError: the path is absent.
    """
    import re

    if "://" in url or re.match(r"^[\w.-]+@?[\w.-]*:[^/\\]", url) and not Path(url).exists():
        return  # a URL or scp-like host:path
    p = Path(url).expanduser()
    if not p.exists():
        raise VaultError(
            f"--from {url}: no such folder; give the hub's path (made with vault init --bare) "
            "or a URL such as ssh://host/srv/homelab-ai.git"
        )


def _status_sections(v: Vault) -> tuple[dict, list[str]]:
    """Sections other parts add to ``vault status``; a failing one is reported, not fatal."""
    data: dict = {}
    lines: list[str] = []
    for fn in STATUS_SECTIONS:
        try:
            key, section, section_lines = fn(v)
        except Exception as e:  # noqa: BLE001 - one broken section must not hide the rest
            part = fn.__module__.rsplit(".", 2)[-2]
            log.debug("status section of %s failed", part, exc_info=True)
            lines.append(f"({part} status unavailable: {e})")
            continue
        data[key] = section
        lines += section_lines
    return data, lines


@click.command("status")
@vault_option
@json_option
def status_cmd(vault_path: str | None, as_json: bool) -> None:
    """Show the vault, node, branch, head, uncommitted files and problems found.

    Problems are those of `vault check` (only changed files are re-read), plus
    fragments quarantined after a crash and open sync-conflict copies.

    \b
    Examples:
        vault status
        vault status --json | jq .problems
    """
    v = open_vault(vault_path)
    head = v.head()
    pending = v.pending()
    problems = check_tree_cached(v.root, v.state_dir() / "check-cache.json")
    data = {
        "vault": v.name,
        "root": str(v.root),
        "node": v.node,
        "branch": git.BRANCH,
        "head": head,
        "nodes": v.nodes(),
        "uncommitted": pending,
        "problems": [p.as_dict() for p in problems],
        "quarantined": v.quarantined(),
        "conflict_copies": conflict_copies(v),
    }
    sections, lines = _status_sections(v)
    data.update(sections)
    if as_json:
        emit_json(data)
        return
    click.echo(f"vault   {v.name} ({v.root})")
    click.echo(f"node    {v.node}    nodes: {', '.join(data['nodes']) or '-'}")
    click.echo(f"branch  {git.BRANCH} @ {head[:10] if head else '(no commits)'}")
    click.echo(f"uncommitted: {len(pending)} file(s)")
    for p in pending[:20]:
        click.echo(f"  {p}")
    if len(pending) > 20:
        click.echo(f"  … and {len(pending) - 20} more")
    click.echo(f"problems: {len(problems)}" + (" (see `vault check`)" if problems else ""))
    for p in problems[:20]:
        click.echo(f"  {p}")
    if data["quarantined"]:
        click.echo(f"quarantined fragments (torn writes repaired): {len(data['quarantined'])}")
        for p in data["quarantined"][:10]:
            click.echo(f"  {p}")
    if data["conflict_copies"]:
        click.echo(f"open conflict copies: {len(data['conflict_copies'])}")
        for p in data["conflict_copies"]:
            click.echo(f"  {p}")
    for line in lines:
        click.echo(line)


def conflict_copies(v: Vault) -> list[str]:
    """Vault paths of open ``*.sync-conflict-…`` files."""
    from ..vault.files import walk

    return [p for p in walk(v.root) if layout.is_conflict_copy(p)]


@click.command("commit")
@vault_option
@click.option(
    "-m", "--message", default=None, help="Summary line (default: a list of what changed)."
)
@click.option(
    "--kind",
    default="edit",
    type=click.Choice(git.KINDS),
    show_default=True,
    help="Vault-Kind trailer.",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="Commit even if `vault check` finds problems in the changed files.",
)
def commit_cmd(vault_path: str | None, message: str | None, kind: str, no_verify: bool) -> None:
    """Commit pending changes (a person's edits get Vault-Kind: edit).

    The changed files are checked first (like the pre-commit hook: schemas, and
    committed rollup lines and observations are never rewritten); problems stop
    the commit unless --no-verify. Files over the size limit and symlinks leaving
    the vault are never committed.

    \b
    Examples:
        vault commit -m "Add notes on the boiler"
        vault commit
    """
    v = open_vault(vault_path)
    pending = v.pending()
    if not pending:
        click.echo("nothing to commit")
        return
    problems = pending_problems(v, pending)  # the same checks as the commit before sync
    for p in problems:
        click.echo(str(p), err=True)
    if problems and not no_verify:
        click.echo(
            f"Error: {len(problems)} problem(s) in the changed files; fix them "
            "or commit with --no-verify",
            err=True,
        )
        sys.exit(1)
    summary = message or f"Edit {', '.join(pending[:3])}" + (" …" if len(pending) > 3 else "")
    oid = v.commit(summary, kind)
    click.echo(f"committed {oid[:10]} ({len(pending)} file(s))" if oid else "nothing to commit")


@click.command("log")
@vault_option
@node_option("Only commits by this node.")
@click.option("--kind", default=None, type=click.Choice(git.KINDS), help="Only this Vault-Kind.")
@since_until_options
@click.option("--path", default=None, help="Only commits touching this vault path (or folder).")
@limit_option(None, "commits")
@json_option
def log_cmd(
    vault_path: str | None,
    node: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    path: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Show history with its Vault-Node / Vault-Kind trailers (the audit trail).

    One line per commit, newest first: id, UTC time, node, kind, summary.
    (`vault agent logs` shows the agent's rollups and observations instead.)

    \b
    Examples:
        vault log --node alpaca-1 --kind observation --since 7d
        vault log --path knowledge-base/ --json
        vault log --since 2017-12-25 --until 2017-12-25 -n 5
    """
    t0, t1 = time_range(since, until)
    v = open_vault(vault_path)
    commits = git.history(
        v.repo,
        node=node,
        kind=kind,
        since=t0,
        path=path,
        limit=None if t1 else limit,
        with_paths=as_json,
    )
    if t1:
        commits = [c for c in commits if layout.parse_iso(c.time) < t1][:limit]
    if as_json:
        emit_json([c.as_dict() for c in commits])
        return
    for c in commits:
        click.echo(f"{c.id[:10]} {c.time} {c.node or c.author:<12} {c.kind or '-':<11} {c.summary}")


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@vault_option
@click.option(
    "--staged", is_flag=True, help="Check only staged changes against HEAD (the pre-commit hook)."
)
@json_option
def check_cmd(paths: tuple[str, ...], vault_path: str | None, staged: bool, as_json: bool) -> None:
    """Validate files against their schemas and the layout rules; exit 1 on problems.

    Prints one `path:line: problem` per finding. Nothing is changed.

    \b
    Examples:
        vault check
        vault check knowledge-base/ agents/alpaca-1/node.toml --json
    """
    root = Vault.find_root(vault_path)
    if staged:
        import pygit2

        problems = check_staged(pygit2.Repository(str(root)))
    else:
        problems = check_tree(root, list(paths) or None)
    if as_json:
        emit_json({"ok": not problems, "problems": [p.as_dict() for p in problems]})
    else:
        for p in problems:
            click.echo(str(p))
        if not problems:
            click.echo("ok: no problems found")
        elif staged:
            click.echo(
                f"vault check: {len(problems)} problem(s) in staged files; commit refused", err=True
            )
    if problems:
        sys.exit(1)


@click.group("hooks")
def hooks_group() -> None:
    """Manage the vault's git hooks (installed from the package, never from the vault)."""


@hooks_group.command("install")
@vault_option
def hooks_install_cmd(vault_path: str | None) -> None:
    """Install the pre-commit validation hook from the installed package.

    An existing hook not written by vault-agent is kept; ours is then written
    beside it as pre-commit.vault-agent (call it from your hook).

    \b
    Example:
        vault hooks install
    """
    v = open_vault(vault_path)
    for p in v.install_hooks():
        note = "" if p.name == "pre-commit" else " (your own pre-commit hook was kept)"
        click.echo(f"installed {p}{note}")
