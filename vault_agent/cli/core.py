"""Core commands: init, status, commit, log, check, hooks."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import click

from ..vault import Vault, layout
from ..vault import repo as git
from ..vault.check import (
    check_staged,
    check_tree,
    check_tree_cached,
)
from ..vault.precommit import pending_problems
from .common import emit_json, json_option, open_vault, parse_when, vault_option

log = logging.getLogger("vault_agent")

# Other parts of the product add a section to `vault status` by providing
# ``status_section(vault) -> (key, data, lines)``; missing ones are skipped.
STATUS_SECTIONS = (
    "vault_agent.sync.status:status_section",
    "vault_agent.agent.status:status_section",
)


@click.command("init")
@click.argument("path", required=False, default=".", type=click.Path())
@click.option("--node", default=None, help="This node's id (lower-case letters, digits, '-').")
@click.option("--from", "from_url", default=None, help="Join an existing vault: clone this URL.")
@click.option("--bare", is_flag=True, help="Create a bare hub repository (the NAS) instead.")
@click.option("--name", default=None, help="Vault name (default: the folder name).")
def init_cmd(
    path: str, node: str | None, from_url: str | None, bare: bool, name: str | None
) -> None:
    """Create a vault (or join one with --from, or make a NAS hub with --bare).

    Refuses a non-empty folder that is not a vault; on a vault it does nothing.
    Installs the pre-commit validation hook.

    \b
    Examples:
        vault init ~/vault --node alpaca-1
        vault init --bare /srv/homelab-ai.git
        vault init ~/vault --node llama --from ssh://nas/srv/homelab-ai.git
    """
    if bare:
        from ..vault.hub import init_bare

        created = init_bare(Path(path))
        click.echo(f"{'Created' if created else 'Already a'} bare hub repository at {path}")
        return
    if node is None:
        raise click.UsageError("--node NAME is required (this node's id)")
    v, created = Vault.init(path, node, from_url=from_url, name=name)
    if created:
        verb = "Joined" if from_url else "Created"
        click.echo(f"{verb} vault {v.name!r} at {v.root} as node {v.node}")
    else:
        click.echo(f"{v.root} is already a vault (node {v.node}); nothing to do")


def _status_sections(v: Vault) -> tuple[dict, list[str]]:
    """Sections other parts add to ``vault status``; a failing one is reported, not fatal."""
    data: dict = {}
    lines: list[str] = []
    for spec in STATUS_SECTIONS:
        mod, _, attr = spec.partition(":")
        try:
            fn = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError):
            continue
        try:
            key, section, section_lines = fn(v)
        except Exception as e:  # noqa: BLE001 - one broken section must not hide the rest
            log.debug("status section %s failed", spec, exc_info=True)
            lines.append(f"({mod.rsplit('.', 2)[-2]} status unavailable: {e})")
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
@click.option("--node", default=None, help="Only commits by this node.")
@click.option("--kind", default=None, type=click.Choice(git.KINDS), help="Only this Vault-Kind.")
@click.option("--since", default=None, help="Only commits since (date, ISO, 'yesterday', '7d').")
@click.option("--path", default=None, help="Only commits touching this vault path (or folder).")
@click.option("-n", "--limit", type=int, default=None, help="At most N commits.")
@json_option
def log_cmd(
    vault_path: str | None,
    node: str | None,
    kind: str | None,
    since: str | None,
    path: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Show history with its Vault-Node / Vault-Kind trailers (the audit trail).

    One line per commit, newest first: id, UTC time, node, kind, summary.

    \b
    Examples:
        vault log --node alpaca-1 --kind observation --since 7d
        vault log --path knowledge-base/ --json
    """
    v = open_vault(vault_path)
    commits = git.history(
        v.repo,
        node=node,
        kind=kind,
        since=parse_when(since),
        path=path,
        limit=limit,
        with_paths=as_json,
    )
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
