"""``vault mcp``: the vault as an MCP server (official ``mcp`` SDK, ``MCPServer``).

Invariant: every tool call goes through :meth:`VaultMCP.call`, which checks the
``[mcp]`` rules (inside the tool), appends one line to the session log, and for a
write commits the note together with that line (``Vault-Kind: agent``,
``Vault-Agent: <client>``) before answering. A tool error is returned as an MCP tool
error (``isError: true``) with one line saying why; it never crashes the server.

Transports: stdio (:func:`run_stdio`, what desktop clients launch) and streamable
HTTP (:func:`http_app` / :func:`run_http`, behind :class:`~vault_agent.httpauth.BearerAuth`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from mcp_types import Resource as MCPResource
from pydantic import Field

from ..errors import VaultError
from ..vault import Vault
from .audit import AuditLog, client_label
from .permissions import PathError, PermissionDenied, Policy, policy_from_config
from .tools import TARGET_POINTS, ToolResult, VaultTools, auto_step_rule

log = logging.getLogger("vault_agent.mcp")

MAX_LISTED_RESOURCES = 300
RESOURCE_FOLDERS = ("knowledge-base",)
INSTRUCTIONS = """\
This is a shared memory (a "vault") of home-lab nodes: sensor data, what each node
noticed (observations), day notes, learned facts (memory) and a knowledge base of notes.
Use search to find notes, read to open one (paths come from search or list), history
for a sensor's values over time, observations for what a node noticed, ask for a cited
answer to a question, recall/remember for facts about the user, write_note/append_note
to save notes in knowledge-base/. Always name the file paths you used in your answer.
Dates are YYYY-MM-DD (UTC)."""

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

Day = Annotated[
    str | None,
    Field(description="A date YYYY-MM-DD (UTC), e.g. 2015-02-05. Leave empty for no limit."),
]


def client_of(ctx: Context | None) -> str:
    """The client's name from its MCP ``clientInfo`` (``unknown`` when not given)."""
    try:
        params = ctx.session.client_params if ctx is not None else None
    except (ValueError, AttributeError):
        return "unknown"
    info = getattr(params, "client_info", None)
    return client_label(getattr(info, "name", None))


def _result(res: ToolResult) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=res.text)], structured_content=res.structured()
    )


def _error(message: str, allowed: bool) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=message)],
        structured_content={"error": message, "allowed": allowed},
        is_error=True,
    )


class VaultMCP:
    """One vault served over MCP: tools, session log, commits.

    Args:
        vault: the opened vault (its node's ``[mcp]`` rules apply).
        policy: default read from the node's node.toml.

    Raises:
        RecordError: an invalid ``[mcp]`` section.
    """

    def __init__(self, vault: Vault, policy: Policy | None = None) -> None:
        self.vault = vault
        if policy is None:
            rel = f"agents/{vault.node}/node.toml"
            policy = policy_from_config(vault.node, vault.node_config(), rel)
        self.policy = policy
        self.audit = AuditLog(vault)
        self.tools = VaultTools(
            vault, policy, on_rebuild=self._say_rebuild, git_lock=self.audit.lock
        )
        self.server = build_server(self)
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    @staticmethod
    def _say_rebuild(reason: str) -> None:
        log.warning("event=index_build reason=%r", reason)

    # -- the one path every tool call takes -------------------------------------------
    def call(
        self,
        ctx: Context | None,
        tool: str,
        args: dict[str, Any],
        fn: Callable[[str], ToolResult],
        write: bool = False,
    ) -> CallToolResult:
        """Run ``fn(client)``; log the call; commit a write; turn errors into tool errors."""
        client = client_of(ctx)
        t0 = time.perf_counter()
        if write:
            with self.audit.lock:
                return self._run(client, tool, args, fn, t0, write=True)
        return self._run(client, tool, args, fn, t0, write=False)

    def _run(self, client, tool, args, fn, t0, write: bool) -> CallToolResult:
        def record(ok: bool, allowed: bool, size: int, error=None, paths=None) -> None:
            ms = (time.perf_counter() - t0) * 1000
            self.audit.record(
                client, tool, args, allowed=allowed, ok=ok, result_bytes=size, ms=ms,
                error=error, paths=paths,
            )  # fmt: skip

        try:
            res = fn(client)
        except (PermissionDenied, PathError) as e:
            msg = str(e)
            record(False, False, len(msg.encode()), msg)
            log.info("event=tool_denied tool=%s client=%r reason=%r", tool, client, msg)
            return _error(msg, allowed=False)
        except VaultError as e:
            msg = " ".join(str(e).split())
            record(False, True, len(msg.encode()), msg)
            return _error(msg, allowed=True)
        except Exception as e:  # noqa: BLE001 - a tool must answer, not kill the session
            log.exception("event=tool_failed tool=%s", tool)
            msg = f"{tool} failed: {type(e).__name__}: {' '.join(str(e).split())}"
            record(False, True, len(msg.encode()), msg)
            return _error(msg, allowed=True)
        record(True, True, len(res.text.encode()), paths=res.paths)
        if write:
            summary = f"Agent {client}: {tool} {', '.join(res.paths[:2])}"
            self.audit.commit(summary, client, res.paths)
        return _result(res)

    # -- background commit of read-only session lines --------------------------------
    def start(self, warm: bool = True) -> None:
        """Start the timer committing the session log; warm the index in the background."""
        if warm:
            threading.Thread(target=self._warm, name="mcp-warm", daemon=True).start()
        self._timer = threading.Thread(target=self._commit_loop, name="mcp-audit", daemon=True)
        self._timer.start()

    def _warm(self) -> None:
        try:
            self.tools.warm()
        except Exception:  # noqa: BLE001 - a search will say what is wrong
            log.warning("event=index_warm_failed", exc_info=True)

    def _commit_loop(self) -> None:
        while not self._stop.wait(self.policy.audit_commit_s):
            self.flush()

    def flush(self) -> str | None:
        """Commit pending session-log lines now; returns the commit id or None."""
        try:
            return self.audit.commit_pending()
        except Exception:  # noqa: BLE001 - the next flush retries; lines are on disk
            log.warning("event=audit_commit_failed", exc_info=True)
            return None

    def close(self) -> None:
        """Stop the timer and commit what the session log still holds."""
        self._stop.set()
        self.flush()


class VaultMCPServer(MCPServer):
    """``MCPServer`` whose resource list also names readable notes as ``vault://`` URIs."""

    def __init__(self, app: VaultMCP, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._vault_app = app

    async def list_resources(self) -> list[MCPResource]:
        """The static resources plus up to 300 knowledge-base notes and memory facts."""
        import anyio

        base = await super().list_resources()
        notes = await anyio.to_thread.run_sync(self._note_paths)
        return base + [
            MCPResource(uri=f"vault://{p}", name=p, mime_type="text/markdown") for p in notes
        ]

    def _note_paths(self) -> list[str]:
        app = self._vault_app
        out: list[str] = []
        roots = [*RESOURCE_FOLDERS, f"agents/{app.vault.node}/memory"]
        for top in roots:
            base = app.vault.path(top)
            if not base.is_dir():
                continue
            for p in sorted(base.rglob("*.md")):
                rel = app.vault.rel(p)
                if app.policy.can("read", rel) and not p.is_symlink():
                    out.append(rel)
                if len(out) >= MAX_LISTED_RESOURCES:
                    return out
        return out


def build_server(app: VaultMCP) -> MCPServer:
    """The ``MCPServer`` with the vault's tools and resources registered."""
    from .. import __version__

    mcp = VaultMCPServer(
        app,
        name="vault",
        title=f"vault {app.vault.name} (node {app.vault.node})",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )
    t = app.tools

    @mcp.tool(annotations=READ_ONLY)
    def search(
        query: Annotated[str, Field(description="Words to look for, e.g. 'boiler pressure'.")],
        kind: Annotated[
            Literal["observation", "daily", "memory", "knowledge", "rollup", "interaction"] | None,
            Field(description="Only this kind of file. Leave empty for all."),
        ] = None,
        node: Annotated[
            str | None, Field(description="Only files of this node, e.g. 'office'.")
        ] = None,
        since: Day = None,
        until: Day = None,
        k: Annotated[int, Field(ge=1, le=50, description="How many results.")] = 5,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Search the vault's notes, observations and sensor day summaries by words and
        meaning. Returns numbered results with the file path, date and a snippet.
        Use read with a path to see a whole file."""
        args = {"query": query, "kind": kind, "node": node, "since": since, "until": until, "k": k}
        return app.call(ctx, "search", args, lambda c: t.search(query, kind, node, since, until, k))

    @mcp.tool(annotations=READ_ONLY)
    def ask(
        question: Annotated[
            str, Field(description="A question in plain words, e.g. 'when was the office empty?'")
        ],
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Ask the vault a question. It searches, answers with the local LLM and cites
        the files it used as [1], [2]. Slower than search; use it for questions."""
        return app.call(ctx, "ask", {"question": question}, lambda c: t.ask(question))

    @mcp.tool(annotations=READ_ONLY)
    def read(
        path: Annotated[
            str, Field(description="A file path inside the vault, e.g. 'knowledge-base/boiler.md'.")
        ],
        offset: Annotated[
            int, Field(ge=0, description="Start at this byte (for long files). Usually 0.")
        ] = 0,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Read one file of the vault: a note, an observation, a day note, or a day of
        sensor rollups (JSON lines). Long files are cut; the result says the offset to
        continue from."""
        args = {"path": path, "offset": offset}
        return app.call(ctx, "read", args, lambda c: t.read(path, offset))

    @mcp.tool(name="list", annotations=READ_ONLY)
    def list_(
        path: Annotated[
            str, Field(description="A folder inside the vault, e.g. 'knowledge-base'. Empty: top.")
        ] = "",
        ctx: Context | None = None,
    ) -> CallToolResult:
        """List the folders and files in a folder of the vault. Start with no path.
        Folders end with '/'."""
        return app.call(ctx, "list", {"path": path}, lambda c: t.list(path))

    @mcp.tool(annotations=READ_ONLY)
    def history(
        sensor: Annotated[
            str,
            Field(description="A sensor id or name, e.g. 'office-temperature' or 'office co2'."),
        ],
        since: Day = None,
        until: Day = None,
        every: Annotated[
            str | None,
            Field(
                description="Step between points: '5m', '1h' or '1d'. Empty: chosen to give at "
                f"most {TARGET_POINTS} points ({auto_step_rule()})."
            ),
        ] = None,
        agg: Annotated[
            Literal["mean", "min", "max", "last", "sum", "on_s", "events"] | None,
            Field(description="How to combine values in a step. Empty: mean (events for motion)."),
        ] = None,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """A sensor's values over time (from the rollup files): one point per step with
        time, mean, min and max. Use it for questions about temperature, humidity, light,
        CO2 or motion at some time."""
        args = {"sensor": sensor, "since": since, "until": until, "every": every, "agg": agg}
        return app.call(ctx, "history", args, lambda c: t.history(sensor, since, until, every, agg))

    @mcp.tool(annotations=READ_ONLY)
    def observations(
        node: Annotated[
            str | None, Field(description="Only this node, e.g. 'office'. Empty: all nodes.")
        ] = None,
        since: Day = None,
        until: Day = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many.")] = 20,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """What the nodes noticed (short notes about unusual sensor readings), newest
        first, each with its time window and file path."""
        args = {"node": node, "since": since, "until": until, "limit": limit}
        return app.call(
            ctx, "observations", args, lambda c: t.observations(node, since, until, limit)
        )

    @mcp.tool(annotations=READ_ONLY)
    def status(ctx: Context | None = None) -> CallToolResult:
        """The vault's nodes and when each last wrote, the last sync with peers, and open
        sync conflicts."""
        return app.call(ctx, "status", {}, lambda c: t.status())

    @mcp.tool(annotations=READ_ONLY)
    def recall(
        topic_or_query: Annotated[
            str, Field(description="What to recall, e.g. 'coffee' or 'user birthday'.")
        ],
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Recall remembered facts (from remember, and patterns the nodes learned) that
        share words with the topic. Returns each fact with its file path."""
        args = {"topic_or_query": topic_or_query}
        return app.call(ctx, "recall", args, lambda c: t.recall(topic_or_query))

    @mcp.tool(annotations=WRITES)
    def remember(
        fact: Annotated[
            str,
            Field(description="One fact in one sentence, e.g. 'The user drinks tea.'"),
        ],
        topic: Annotated[
            str | None, Field(description="A short topic, e.g. 'drinks'. Optional.")
        ] = None,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Remember a fact for later (saved in this node's memory/ folder). The same fact
        is not saved twice. Use recall to find it again."""
        args = {"fact": fact, "topic": topic}
        return app.call(ctx, "remember", args, lambda c: t.remember(fact, topic, c), write=True)

    @mcp.tool(annotations=WRITES)
    def write_note(
        path: Annotated[
            str, Field(description="Where to save, ending in .md, e.g. 'knowledge-base/boiler.md'.")
        ],
        content: Annotated[str, Field(description="The note's text (Markdown).")],
        frontmatter: Annotated[
            dict[str, Any] | None,
            Field(description="Optional YAML fields, e.g. {'tags': ['heating']}."),
        ] = None,
        overwrite: Annotated[
            bool, Field(description="Replace the note if it exists. Usually false.")
        ] = False,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Save a new Markdown note in the vault (knowledge-base/ or this node's
        sessions/). It is committed to git with your name. Fails if the note exists
        unless overwrite is true; use append_note to add to a note."""
        args = {
            "path": path,
            "content": content,
            "frontmatter": frontmatter,
            "overwrite": overwrite,
        }
        return app.call(
            ctx,
            "write_note",
            args,
            lambda c: t.write_note(path, content, frontmatter, overwrite),
            write=True,
        )

    @mcp.tool(annotations=WRITES)
    def append_note(
        path: Annotated[
            str, Field(description="The note to add to, e.g. 'knowledge-base/boiler.md'.")
        ],
        text: Annotated[str, Field(description="The lines to add at the end.")],
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Add text at the end of a note (the note is created if missing). It is
        committed to git with your name."""
        args = {"path": path, "text": text}
        return app.call(ctx, "append_note", args, lambda c: t.append_note(path, text), write=True)

    @mcp.resource(
        "vault://recent-observations",
        name="recent-observations",
        description="The 20 newest observations of all nodes, with their paths.",
        mime_type="text/markdown",
    )
    def recent_observations() -> str:
        res = app.call(None, "resource:recent-observations", {}, lambda c: t.observations())
        return res.content[0].text

    @mcp.resource(
        "vault://{+path}",
        name="vault-file",
        description="A file of the vault by its path, e.g. vault://knowledge-base/boiler.md.",
        mime_type="text/markdown",
    )
    def vault_file(path: str, ctx: Context) -> str:
        res = app.call(ctx, "resource:read", {"path": path}, lambda c: t.read(path))
        if res.is_error:
            from mcp.server.mcpserver.exceptions import ResourceError

            raise ResourceError(res.content[0].text)
        return res.structured_content["content"]

    return mcp


# -- transports --------------------------------------------------------------------------
def run_stdio(app: VaultMCP) -> None:
    """Serve MCP over stdin/stdout until the client closes the pipe."""
    import anyio

    anyio.run(app.server.run_stdio_async)


def http_app(app: VaultMCP, host: str, token: str | None):
    """The streamable HTTP ASGI app (endpoint ``/mcp``), behind the bearer-token guard.

    ``host`` is the bound address: on loopback the SDK also checks ``Host``/``Origin``
    headers against DNS rebinding.
    """
    from ..httpauth import BearerAuth

    return BearerAuth(app.server.streamable_http_app(host=host), token)


def run_http(
    app: VaultMCP,
    host: str,
    port: int,
    token: str | None,
    on_ready: Callable[[str, bool], None] | None = None,
) -> None:
    """Serve streamable HTTP with uvicorn until interrupted (Ctrl-C, SIGTERM).

    ``on_ready(url, token_required)`` is called once the socket listens (port 0 picks
    a free port; the URL names the real one).
    """
    import anyio
    import uvicorn

    config = uvicorn.Config(
        http_app(app, host, token), host=host, port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        async def announce() -> None:
            while not server.started:
                await anyio.sleep(0.05)
            sock = server.servers[0].sockets[0]
            bound = sock.getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            if on_ready:
                on_ready(f"http://{shown}:{bound}/mcp", bool(token))

        async with anyio.create_task_group() as tg:
            tg.start_soon(announce)
            await server.serve()
            tg.cancel_scope.cancel()

    anyio.run(main)
