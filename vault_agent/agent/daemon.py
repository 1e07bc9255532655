"""``vault agent run``: the node daemon (docs/architecture.md §5).

Stages run concurrently so sampling never waits on the LLM, git or the network:

- the **source** thread samples sensors (or replays a recorded data set) into the
  rollup engine, which appends a line per sensor at each window close;
- the **observer** thread turns closed windows into observations (its own thread:
  a slow LLM never delays sampling); live, it first catches up the complete UTC days
  missed while the agent was down (:mod:`.catchup`);
- the **housekeeping** thread commits this node's files in batches and syncs with
  peers (with backoff while offline), so git is only ever written by one thread;
- the **index** thread updates the search index after each housekeeping pass, with
  its own read-only handle on the repository: embedding a big note never delays a
  commit or a sync (a pass still running when the next is due is not doubled).

At start the agent syncs (bounded) and starts an index pass; every ``progress_s``
(60 s) it logs one ``event=progress`` line (counts, errors, head).

SIGTERM/SIGINT set a stop event: the source stops at once, closed windows are
written and the last batch committed; then one sync round (each fetch/push at most
15 s) and an index pass (at most 20 s, else redone at the next start), and the
process exits 0 (without peers or index: within 5 s). A restart resumes from the
files (the rollup engine reads the last closed windows).

Parts (observer, sync, index) are imported directly where first used, so the daemon
starts sampling before numpy, chromadb or the LLM client load; a broken part fails
loudly there.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..vault import Vault, layout
from .lock import AgentLock
from .state import AgentState

log = logging.getLogger("vault_agent.agent")

SHUTDOWN_SYNC_TIMEOUT_S = 15.0  # per fetch/push at start and on a signal
SHUTDOWN_INDEX_S = 20.0  # the index may take this long on a signal (systemd waits 90 s)


@dataclass(frozen=True)
class AgentOptions:
    """How to run. Intervals in seconds.

    replay: a recorded data set to replay instead of sampling sensors;
    backfill: replay as fast as possible (else real time × ``speed``);
    once: run one pass of every stage and exit;
    catchup_days: at start (live), observe the missed complete UTC days up to this many
    days back (None: node.toml ``[observer] catchup_days``, default 14; 0: off);
    progress_s: seconds between ``event=progress`` log lines.
    """

    once: bool = False
    replay: Path | None = None
    source: str | None = None
    speed: float = 1.0
    backfill: bool = False
    since: datetime | None = None
    until: datetime | None = None
    commit_interval_s: float = 900.0
    commit_records: int = 1000
    sync: bool = True
    index: bool = True
    observe: bool = True
    tick_s: float = 1.0
    log_stderr: bool = True
    catchup_days: int | None = None
    progress_s: float = 60.0


def setup_logging(vault: Vault, stderr: bool = True) -> logging.Handler:
    """Structured log lines to a rotated local-cache/agent.log and (``stderr``) to stderr."""
    handler = logging.handlers.RotatingFileHandler(
        vault.cache_dir() / "agent.log", maxBytes=1_000_000, backupCount=3
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    root = logging.getLogger("vault_agent")
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    root.propagate = stderr
    if stderr and not logging.getLogger().handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s %(message)s"))
        root.addHandler(stream)
    return handler


class Agent:
    """One node's daemon over an open vault.

    Args:
        vault: the node's working copy.
        options: :class:`AgentOptions`.
        stop: an event that ends the run when set (the CLI sets it on SIGTERM).
    """

    def __init__(self, vault: Vault, options: AgentOptions, stop: threading.Event | None = None):
        self.vault = vault
        self.opt = options
        self.stop = stop or threading.Event()
        self.source_done = threading.Event()
        mode = "replay" if options.replay else "live"
        self.state = AgentState(vault.cache_dir() / "agent-state.json", os.getpid(), mode)
        self.engine = None
        self.data_span: tuple[datetime, datetime] | None = None
        self._records_since_commit = 0
        self._last_commit = time.monotonic()
        self._caught_up: queue.SimpleQueue = queue.SimpleQueue()  # observer -> git thread
        self._index_thread: threading.Thread | None = None
        self.errors: list[str] = []
        self._started = time.monotonic()

    # -- stages --------------------------------------------------------------------------
    def _source(self) -> None:
        try:
            if self.opt.replay:
                self._run_replay()
            else:
                self._run_sampler()
        except Exception as e:  # noqa: BLE001 - logged; the daemon keeps running
            self.state.error("sample")
            self.errors.append(f"source: {e}")
            self._log_failure("source_failed", e)
        finally:
            self.source_done.set()

    def _run_replay(self) -> None:
        from ..sensors import replay as rp

        specs = rp.configure_node(self.vault, self.opt.replay, source=self.opt.source)
        stats = rp.replay(
            self.vault,
            self.opt.replay,
            specs,
            backfill=self.opt.backfill or self.opt.once,
            speed=self.opt.speed,
            since=self.opt.since,
            until=self.opt.until,
            stop=self.stop,
        )
        n = stats.rollups
        self.state.mark("sample", stats.readings)
        self.state.mark("rollup", n)
        self._records_since_commit += n
        if stats.first and stats.last:
            self.data_span = (
                layout.parse_iso(stats.first),
                layout.parse_iso(stats.last) + timedelta(seconds=1),
            )
        log.info(
            "event=replay_done rows=%d readings=%d rollups=%d skipped_closed=%d "
            "malformed=%d stopped=%s",
            stats.rows,
            stats.readings,
            n,
            stats.skipped_closed,
            len(stats.malformed),
            stats.stopped,
        )
        for line, problem in stats.malformed[:20]:
            log.warning(
                "event=malformed_row file=%s line=%d problem=%r", self.opt.replay, line, problem
            )

    def _run_sampler(self) -> None:
        from ..sensors.config import load_specs
        from ..sensors.rollup import RollupEngine
        from ..sensors.sampler import Sampler

        specs = load_specs(self.vault)
        if not specs:
            log.warning("event=no_sensors node=%s: add [[sensors]] to node.toml", self.vault.node)
            return
        window = int(self.vault.node_config().get("rollup", {}).get("window_s", 300))
        self.engine = RollupEngine(self.vault, specs, window_s=window)
        sampler = Sampler(self.vault, specs, self.engine, self.stop, close_windows=False)
        sampler_thread = threading.Thread(target=sampler.run, name="sampler", daemon=True)
        sampler_thread.start()
        while not self.stop.is_set():
            written = self.engine.close_until(datetime.now(UTC))
            if written:
                self.state.mark("rollup", len(written))
                self._records_since_commit += len(written)
            self.state.mark("sample")
            if self.opt.once:
                break
            self.stop.wait(self.opt.tick_s)
        sampler_thread.join(timeout=3)
        written = self.engine.close_until(datetime.now(UTC))
        self._records_since_commit += len(written)

    def _observe_once(self) -> None:
        if not self.opt.observe:
            return
        from ..observe.observer import Observer

        try:
            obs = Observer(self.vault)
            if self.opt.replay:
                if self.data_span is None:
                    return
                paths = obs.backfill(*self.data_span)
            else:
                win = int(self.vault.node_config().get("observer", {}).get("window_s", 3600))
                end = datetime.fromtimestamp(int(datetime.now(UTC).timestamp()) // win * win, UTC)
                paths = obs.run_window(end - timedelta(seconds=win), end)
            if paths:
                self.state.mark("observation", len(paths))
                self._records_since_commit += len(paths)
                log.info("event=observations written=%d", len(paths))
        except Exception as e:  # noqa: BLE001
            self.state.error("observation")
            self._log_failure("observer_failed", e)

    def _catch_up(self) -> None:
        """Observe the complete UTC days missed while the agent was down (see
        :mod:`.catchup`); the main thread commits what was written."""
        if not self.opt.observe:
            return
        from ..observe.observer import Observer
        from .catchup import catch_up, catchup_limit

        try:
            limit = catchup_limit(self.vault, self.opt.catchup_days)
            done = catch_up(
                self.vault, Observer(self.vault), datetime.now(UTC).date(), limit, self.stop
            )
        except Exception as e:  # noqa: BLE001
            self.state.error("observation")
            self._log_failure("catchup_failed", e)
            return
        log.info(
            "event=catchup days=%d files=%d first=%s last=%s limit_days=%d",
            len(done.days),
            len(done.paths),
            done.days[0].isoformat() if done.days else "-",
            done.days[-1].isoformat() if done.days else "-",
            limit,
        )
        self._say_uncovered(limit)
        if done.paths:
            self.state.mark("observation", len(done.paths))
            self._caught_up.put(done)

    def _say_uncovered(self, limit: int) -> None:
        """Log the rollup days older than the catch-up reached, and how to observe them."""
        from .catchup import rollup_days, uncovered

        span = rollup_days(self.vault)
        today = datetime.now(UTC).date()
        if span and span[1] < today - timedelta(days=limit):
            log.info(
                "event=catchup_span data=%s..%s: this node's rollups are older than %d days "
                "(replayed data); caught up over the data's own days",
                span[0].isoformat(),
                span[1].isoformat(),
                limit,
            )
        left = uncovered(self.vault, today, limit)
        if left:
            log.info(
                "event=catchup_left days=%s..%s beyond catchup_days=%d; observe them with: "
                "vault observe --since %s --until %s",
                left[0].isoformat(),
                left[1].isoformat(),
                limit,
                left[0].isoformat(),
                left[1].isoformat(),
            )

    def _commit_caught_up(self) -> None:
        """Commit the catch-up's files in one commit (main thread: the one touching git)."""
        while not self._caught_up.empty():
            done = self._caught_up.get()
            days = (
                f"{done.days[0].isoformat()}..{done.days[-1].isoformat()}"
                if done.days
                else "no day notes"
            )
            oid = self.vault.commit(
                f"{self.vault.node}: catch up {len(done.days)} day(s) after downtime ({days})",
                "observation",
                paths=list(done.paths),
            )
            if oid:
                self.state.mark("commit")
                log.info(
                    "event=commit id=%s files=%d kind=observation catchup=1",
                    oid[:10],
                    len(done.paths),
                )

    def _observer_loop(self) -> None:
        if self.opt.observe:
            from ..observe.observer import forget_llm_outages

            forget_llm_outages()  # a new run says an LLM outage once more
        if self.opt.replay:
            self.source_done.wait()
            if not self.stop.is_set() or self.opt.once:
                self._observe_once()
            return
        self._catch_up()
        win = int(self.vault.node_config().get("observer", {}).get("window_s", 3600))
        while not self.stop.is_set():
            self._observe_once()
            if self.opt.once:
                return
            now = time.time()
            self.stop.wait(win - now % win + 1)

    def commit(self, final: bool = False) -> str | None:
        """Commit this node's pending files (rollups, observations, notes, config)."""
        mine = layout.node_dir(self.vault.node) + "/"
        pending = [p for p in self.vault.pending() if p.startswith(mine)]
        if not pending:
            return None
        kind = (
            "observation"
            if any("/observations/" in p or "/memory/" in p or "/daily/" in p for p in pending)
            else "rollup"
        )
        n_roll = sum(1 for p in pending if "/sensors/" in p)
        n_obs = len(pending) - n_roll
        summary = f"{self.vault.node}: {n_roll} rollup file(s), {n_obs} other file(s)" + (
            " (final)" if final else ""
        )
        oid = self.vault.commit(summary, kind, paths=pending)
        if oid:
            self.state.mark("commit")
            self._records_since_commit = 0
            self._last_commit = time.monotonic()
            log.info("event=commit id=%s files=%d kind=%s", oid[:10], len(pending), kind)
        return oid

    def sync(self, timeout_s: float | None = None) -> None:
        """Sync with reachable peers (no-op without peers); ``timeout_s`` bounds each
        fetch and push (default: the sync module's)."""
        if not self.opt.sync:
            return
        from ..sync.peers import list_peers
        from ..sync.sync import sync_all

        if not list_peers(self.vault):
            return  # configured peers, or the origin a node joined from
        try:
            kw = {} if timeout_s is None else {"timeout_s": timeout_s}
            report = sync_all(self.vault, **kw)
            self.state.mark("sync")
            log.info("event=sync %s", sync_summary(report))
        except Exception as e:  # noqa: BLE001
            self.state.error("sync")
            self._log_failure("sync_failed", e, logging.WARNING)

    def index(self, vault: Vault | None = None) -> None:
        """Update the search index incrementally (no-op without the index part)."""
        if not self.opt.index:
            return
        from ..index.indexer import Indexer  # numpy, chromadb: loaded when first needed

        try:
            Indexer(vault or self.vault).update()
            self.state.mark("index")
        except Exception as e:  # noqa: BLE001
            self.state.error("index")
            self._log_failure("index_failed", e, logging.WARNING)

    def index_in_background(self) -> None:
        """Start an index pass on the index thread unless one is still running.

        Trigger: a housekeeping pass committed or synced. Why: embedding a big note
        takes minutes on a Pi, and commits must not wait for it (issue 19.4). What: the
        pass runs on its own thread with its own :class:`Vault` (pygit2 handles are not
        shared between threads); the index has its own lock.
        """
        if self._index_thread is not None and self._index_thread.is_alive():
            log.info("event=index_skipped reason=previous_pass_running")
            return
        own = Vault(self.vault.root, self.vault.node)
        self._index_thread = threading.Thread(
            target=self.index, args=(own,), name="index", daemon=True
        )
        self._index_thread.start()

    def _join_index(self, timeout: float | None = None) -> None:
        if self._index_thread is not None:
            self._index_thread.join(timeout)

    def housekeeping(self) -> None:
        """Commit, then sync (one thread writes git); the index follows on its own thread."""
        if self.commit() or self.opt.once:
            self.sync()
            self.index_in_background()
        self.state.save()

    def _housekeeping_due(self) -> bool:
        return (
            time.monotonic() - self._last_commit >= self.opt.commit_interval_s
            or self._records_since_commit >= self.opt.commit_records
        )

    def _log_failure(self, event: str, e: BaseException, level: int = logging.ERROR) -> None:
        """One line naming the cause (and the fix for a full disk or a locked index);
        the traceback only at DEBUG (``vault -vv agent run``)."""
        from .explain import explain

        why = explain(e, self.vault.root) or f"{type(e).__name__}: {' '.join(str(e).split())}"
        log.log(level, "event=%s error=%r", event, why)
        log.debug("event=%s traceback", event, exc_info=e)

    def _start_pass(self) -> None:
        """At start: sync (bounded), then index on the index thread.

        Trigger: every start. Why: a node that was off has peers' commits to fetch
        and files the index has not seen; waiting for the first commit interval
        (15 min) left search stale and peers unsynced. What: one sync round with
        :data:`SHUTDOWN_SYNC_TIMEOUT_S` per fetch/push, then a background index pass.
        """
        if self.opt.once:
            return  # the one pass syncs and indexes at its end
        self.sync(timeout_s=SHUTDOWN_SYNC_TIMEOUT_S)
        self.index_in_background()

    def _final_pass(self) -> None:
        """On a signal: the last commit is made; sync and index within a bounded time.

        Trigger: SIGTERM/SIGINT. Why: Ctrl-C used to skip them, so peers and search
        missed the last batch until the next start. What: one sync round with
        :data:`SHUTDOWN_SYNC_TIMEOUT_S` per fetch/push, then the index for at most
        :data:`SHUTDOWN_INDEX_S`; an unfinished index pass is logged and redone at the
        next start (the index is derived from the files; an interrupted pass is safe).
        """
        self.sync(timeout_s=SHUTDOWN_SYNC_TIMEOUT_S)
        if not self.opt.index:
            return
        self._join_index(timeout=SHUTDOWN_INDEX_S)
        self.index_in_background()
        self._join_index(timeout=SHUTDOWN_INDEX_S)
        if self._index_thread is not None and self._index_thread.is_alive():
            log.warning(
                "event=index_unfinished waited_s=%d: the index catches up at the next start "
                "(or run: vault index)",
                SHUTDOWN_INDEX_S,
            )

    def _log_progress(self) -> None:
        """One line: what this run did so far (every ``progress_s``, and at the end)."""
        up = int(time.monotonic() - self._started)
        head = self.vault.head()
        log.info(
            "event=progress up_s=%d %s head=%s",
            up,
            self.state.summary(),
            head[:10] if head else "-",
        )

    def _clear_stale_git_lock(self) -> None:
        """After a killed agent, a ``.git/index.lock`` it left would block every commit.

        Trigger: the agent lock was stale (its pid gone). Why: the dead agent was the
        writer of the index. What: the lock file is moved to local-cache, not deleted.
        """
        stale = self.vault.root / ".git" / "index.lock"
        if stale.exists():
            dest = self.vault.cache_dir("quarantine") / f"index.lock.{int(time.time())}"
            os.replace(stale, dest)
            log.warning("event=stale_git_lock moved_to=%s", dest)

    # -- run -----------------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped (or one pass with ``once``); returns the exit code."""
        handler = setup_logging(self.vault, self.opt.log_stderr)
        lock = AgentLock(self.vault.cache_dir() / "agent.lock")
        lock.acquire()
        if lock.took_stale:
            self._clear_stale_git_lock()
        try:
            log.info(
                "event=start node=%s pid=%d mode=%s",
                self.vault.node,
                os.getpid(),
                self.state.data["mode"],
            )
            self.state.save()
            source = threading.Thread(target=self._source, name="source", daemon=True)
            observer = threading.Thread(target=self._observer_loop, name="observer", daemon=True)
            source.start()
            observer.start()
            self._start_pass()
            finite = self.opt.once or self.opt.replay is not None
            next_progress = time.monotonic() + self.opt.progress_s
            while not self.stop.is_set():
                if finite and self.source_done.is_set() and not observer.is_alive():
                    break
                self._commit_caught_up()
                if self._housekeeping_due():
                    self.housekeeping()
                if time.monotonic() >= next_progress:
                    self._log_progress()
                    next_progress = time.monotonic() + self.opt.progress_s
                self.state.save()
                self.stop.wait(self.opt.tick_s)
            stopping = self.stop.is_set()
            source.join(timeout=3)
            observer.join(timeout=0.5 if stopping else None)
            self._commit_caught_up()
            self.commit(final=True)
            if not stopping:
                self.sync()
                self._join_index()
                self.index()
            else:
                self._final_pass()
            self._log_progress()
            self.state.save(running=False)
            log.info(
                "event=stop node=%s reason=%s", self.vault.node, "signal" if stopping else "done"
            )
            return 0
        finally:
            lock.release()
            logging.getLogger("vault_agent").removeHandler(handler)
            logging.getLogger("vault_agent").propagate = True
            handler.close()


def sync_summary(report) -> str:
    """One log-friendly line of a SyncReport: ``peer=status`` pairs and counts."""
    peers = " ".join(f"{p.peer}={p.status}" for p in report.peers) or "no-peers"
    return (
        f"{peers} conflicts={len(report.conflicts)} refused={len(report.refused)} "
        f"head={(report.head or '-')[:10]}"
    )


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (the daemon flushes, commits and exits 0)."""

    def handler(signum, frame):  # noqa: ARG001
        log.info("event=signal signum=%d", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
