"""Sync commands: ``vault peer add|list|remove``, ``vault sync``, ``vault conflicts``."""

from __future__ import annotations

import sys

import click

from .common import emit_json, json_option, open_vault, status, vault_option


@click.group("peer")
def peer_group() -> None:
    """Manage sync peers (stored in agents/<node>/node.toml and as git remotes).

    \b
    Examples:
        vault peer add nas ssh://nas.local/srv/homelab-ai.git
        vault peer add llama /mnt/llama/vault
        vault peer list --json
    """


@peer_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option(
    "--push/--no-push",
    default=None,
    help="Push to this peer (default: only when it is a bare repository).",
)
@click.option("--force", is_flag=True, help="Add it even if it cannot be reached now.")
@vault_option
@json_option
def peer_add_cmd(
    name: str, url: str, push: bool | None, force: bool, vault_path: str | None, as_json: bool
) -> None:
    """Add peer NAME at URL (a path, file://, ssh://, git://) and commit node.toml.

    The peer is tried first (a local path must be a git repository; a URL must
    answer `git ls-remote` within 10 s); one that cannot be reached is refused;
    --force adds it without trying (a NAS that is off today).
    """
    from ..sync.peers import add_peer, normalize_url, validate_name

    v = open_vault(vault_path)
    validate_name(name)
    with status(f"trying {url} …", off=force or as_json):
        problem = None if force else _unreachable(normalize_url(url))
    if problem and not force:
        raise click.ClickException(
            f"peer {name} at {url} cannot be reached ({problem}); check the path or URL, "
            "or add it anyway with --force"
        )
    p = add_peer(v, name, url, push)
    if as_json:
        emit_json({"name": p.name, "url": p.url, "push": p.push, "checked": not force})
        return
    click.echo(f"peer {p.name} -> {p.url}")


def _unreachable(url: str) -> str | None:
    """Why ``url`` cannot be reached now, or None when it answers (ls-remote)."""
    import re
    from pathlib import Path

    local = url[len("file://") :] if url.startswith("file://") else url
    if "://" not in local and not re.match(r"^[\w.-]+@?[\w.-]*:[^/]", local):
        p = Path(local).expanduser()
        if not p.exists():
            return "no such folder"
        if not ((p / "HEAD").is_file() or (p / ".git").exists()):
            return "not a git repository"
        return None
    import os
    import subprocess

    try:
        r = subprocess.run(
            ["git", "ls-remote", "--heads", url],
            capture_output=True,
            text=True,
            timeout=10,
            env={
                **os.environ,
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o ConnectTimeout=5",
            },
        )
    except (OSError, subprocess.TimeoutExpired):
        return "no answer within 10 s"
    if r.returncode != 0:
        # git's first line says why (ssh: Could not resolve hostname …); its last one is
        # the generic "and the repository exists."
        lines = [ln.strip() for ln in r.stderr.splitlines() if ln.strip()]
        return (lines or ["git ls-remote failed"])[0][:200]
    return None


@peer_group.command("list")
@vault_option
@json_option
def peer_list_cmd(vault_path: str | None, as_json: bool) -> None:
    """List peers with their last sync, ahead/behind counts and reachability."""
    from ..sync.status import peer_rows

    v = open_vault(vault_path)
    rows = peer_rows(v)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no peers; add one with: vault peer add NAME URL")
    for r in rows:
        extra = " (from clone)" if r["implicit"] else ""
        ab = "" if r["ahead"] is None else f" ahead {r['ahead']} behind {r['behind']}"
        state = (
            "never synced"
            if r["reachable"] is None
            else "reachable"
            if r["reachable"]
            else f"unreachable, retry after {r['next_try']}"
            if r["next_try"]
            else "unreachable, retried on the next sync"
        )
        click.echo(f"{r['name']:<12} {r['url']}{extra}")
        parts = [f"last sync {r['last_success'] or 'never'}", ab.strip(), state]
        if r["last_success"] is None and r["reachable"] is None:
            parts = ["not synced yet (the next vault sync tries it)"]
        click.echo(f"{'':<12} " + "; ".join(x for x in parts if x))


@peer_group.command("remove")
@click.argument("name")
@vault_option
@json_option
def peer_remove_cmd(name: str, vault_path: str | None, as_json: bool) -> None:
    """Remove peer NAME (node.toml entry, git remote and its fetched refs)."""
    from ..sync.peers import remove_peer
    from ..sync.state import forget

    v = open_vault(vault_path)
    p = remove_peer(v, name)
    forget(v, name)
    if as_json:
        emit_json({"removed": p.name, "url": p.url})
        return
    click.echo(f"removed peer {p.name} ({p.url})")


def _describe(r) -> str:
    parts = [f"{r.peer}: {r.status}"]
    if r.merged:
        parts.append("fast-forward" if r.fast_forward else f"merged {r.merged[:10]}")
    if r.pushed:
        parts.append("pushed")
    if r.ahead is not None:
        parts.append(f"ahead {r.ahead} behind {r.behind}")
    if r.conflicts:
        parts.append(f"{len(r.conflicts)} conflict(s)")
    if r.refused:
        parts.append(f"{len(r.refused)} refused")
    if r.flagged:
        parts.append(f"{len(r.flagged)} stamp(s) flagged")
    if r.status == "skipped":
        parts.append(f"in backoff, next try {r.next_try} (--force to try now)")
    elif r.next_try and r.status != "ok":
        parts.append(f"next try {r.next_try}")
    elif r.status == "error" and r.push_attempts:
        parts.append(f"{r.push_attempts} push attempt(s), retried next round")
    return ", ".join(parts)


@click.command("sync")
@click.option("--peer", "peer_name", default=None, help="Only this peer (ignores its backoff).")
@click.option("--force", is_flag=True, help="Try every peer now, even during its backoff.")
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds per fetch or push.",
)
@vault_option
@json_option
def sync_cmd(
    peer_name: str | None, force: bool, timeout_s: float, vault_path: str | None, as_json: bool
) -> None:
    """Commit pending changes, then fetch, merge and push with every reachable peer.

    Merges follow docs/architecture.md §3: additions merge cleanly; rollups may only grow;
    another node's folder is only taken from that node; shared JSON merges key by
    key; other text conflicts keep ours and save theirs as a conflict copy.
    Pending changes pass the checks of `vault commit` first; those that fail stay
    uncommitted and are listed. Exit status 1 when a peer was unreachable, refused,
    failed or skipped (in backoff: the next try is printed), or a change was not
    committed.

    \b
    Examples:
        vault sync
        vault sync --peer nas --json
    """
    from ..sync.sync import sync_all

    v = open_vault(vault_path)

    def show(r) -> None:
        if not as_json:
            click.echo(_describe(r))
            for c in r.conflicts:
                click.echo(f"  conflict: {c.path} (theirs kept as {c.copy})")
            for x in r.refused:
                click.echo(f"  refused: {x.path}: {x.reason}")
            for f in r.flagged:
                click.echo(f"  flagged: {f}")
            if r.error:
                label = "last error" if r.status == "skipped" else "error"
                click.echo(f"  {label}: {r.error}")

    if as_json or not sys.stderr.isatty():
        report = sync_all(v, peer=peer_name, timeout_s=timeout_s, force=force, on_result=show)
    else:
        from rich.console import Console

        with Console(stderr=True).status("syncing: fetch, merge, push…"):
            report = sync_all(v, peer=peer_name, timeout_s=timeout_s, force=force, on_result=show)
    if as_json:
        emit_json(report.as_dict())
    else:
        if report.recovered:
            click.echo("completed an interrupted sync")
        for path in report.cleaned:
            click.echo(f"removed stale .git/{path} left by an interrupted git process")
        for p in report.not_committed:
            click.echo(f"not committed: {p}")
        if report.not_committed:
            n = len({p.path for p in report.not_committed})
            click.echo(
                f"{n} changed file(s) not committed (vault commit would refuse them); "
                "fix them or restore them with 'git checkout -- PATH'"
            )
        if not report.peers:
            click.echo("no peers; add one with: vault peer add NAME URL")
    if not report.ok or report.not_committed:
        raise SystemExit(1)


@click.group("conflicts", invoke_without_command=True)
@vault_option
@json_option
@click.pass_context
def conflicts_group(ctx: click.Context, vault_path: str | None, as_json: bool) -> None:
    """List open conflict copies (name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext).

    \b
    Examples:
        vault conflicts --json
        vault conflicts resolve knowledge-base/pump.md --keep theirs
    """
    ctx.obj = {"vault_path": vault_path}
    if ctx.invoked_subcommand is not None:
        return
    from ..sync.conflicts import list_conflicts

    v = open_vault(vault_path)
    items = list_conflicts(v)
    if as_json:
        emit_json([c.as_dict() for c in items])
        return
    if not items:
        click.echo("no open conflicts")
    for c in items:
        click.echo(f"{c.original}\n  {c.copy}  (from {c.node}, {c.when})")


@conflicts_group.command("resolve")
@click.argument("path")
@click.option(
    "--keep",
    type=click.Choice(["ours", "theirs", "both"]),
    required=True,
    help="ours: drop the copy; theirs: the copy replaces the file; both: keep both.",
)
@vault_option
@json_option
@click.pass_context
def conflicts_resolve_cmd(
    ctx: click.Context, path: str, keep: str, vault_path: str | None, as_json: bool
) -> None:
    """Settle the conflict copy PATH (or the file with one copy); history keeps the loser."""
    from ..sync.conflicts import resolve

    v = open_vault(vault_path or (ctx.obj or {}).get("vault_path"))
    out = resolve(v, path, keep)
    if as_json:
        emit_json(out)
    else:
        click.echo(
            f"kept {keep} for {out['original']}"
            + (f" (theirs now at {out['kept_as']})" if keep == "both" else "")
            + (f"; committed {out['commit'][:10]}" if out["commit"] else "")
        )


@conflicts_group.command("diff")
@click.argument("path")
@vault_option
@json_option
@click.pass_context
def conflicts_diff_cmd(
    ctx: click.Context, path: str, vault_path: str | None, as_json: bool
) -> None:
    """Show a conflict copy against its original (a unified diff: - ours, + theirs).

    PATH is the copy, or the file when it has one copy.

    \b
    Examples:
        vault conflicts diff knowledge-base/pump.md
        vault conflicts diff knowledge-base/pump.sync-conflict-20251014-101500-llama.md --json
    """
    import difflib

    from ..sync.conflicts import find_copy

    v = open_vault(vault_path or (ctx.obj or {}).get("vault_path"))
    c = find_copy(v, path)
    ours = v.path(c.original)
    a = ours.read_text(encoding="utf-8", errors="replace") if ours.is_file() else ""
    b = v.path(c.copy).read_text(encoding="utf-8", errors="replace")
    diff = list(
        difflib.unified_diff(
            a.splitlines(keepends=True),
            b.splitlines(keepends=True),
            fromfile=f"{c.original} (ours)" + ("" if ours.is_file() else " (deleted)"),
            tofile=f"{c.copy} (theirs: {c.node}, {c.when})",
        )
    )
    if as_json:
        emit_json({**c.as_dict(), "diff": "".join(diff), "same": not diff})
        return
    if not diff:
        click.echo(f"{c.copy} is the same as {c.original}; `vault conflicts resolve` it")
        return
    for line in diff:
        color = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1])
        click.echo(click.style(line.rstrip("\n"), fg=color) if color else line.rstrip("\n"))
