"""`Supervisor`: one engine, many runs, one loop.

The loop claims runs that need an engine (by lease, see `store/lease_queries.py`), renews
the leases it holds at a third of their length, and drives every run it holds with a
`RunDriver`: one wait on the executor for all their attempts, one timer heap for all their
timers, one query for all their requests (cancel, repair). `max_parallel` caps the attempts
running at once across all its runs, and free slots go round the runs in turn, so a run of
a thousand tasks cannot starve a run of three.

A driver whose write is refused (`LeaseLost`: the lease expired and another engine claimed
the run) is dropped at once: its attempts are released, not killed, because the new owner
adopts them. Stopping (`stop`, SIGTERM) hands every lease back and leaves every attempt
running, so a restart or an upgrade loses nothing and kills nothing.

`drive(run_id)` is how `headwater run`, `runs resume` and `runs repair` use it: an engine
that claims that one run only, and that watches the run through the store when another
engine holds it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from headwater.about import installed_version
from headwater.core.events import CancelRequested, EngineFailed
from headwater.core.notifications import RUN_LIMIT, UsualDurations
from headwater.core.retention import RetentionPolicy
from headwater.core.runstate import RunState, TaskRun
from headwater.core.states import LifeCycleState
from headwater.engine.git_checkouts import Checkouts
from headwater.engine.git_credential_files import GitCredentialFiles, credentials_dir
from headwater.engine.identity import is_gone
from headwater.engine.log_cap import DEFAULT_CAP_BYTES, cap_log
from headwater.engine.observers import commits_path
from headwater.engine.retention import RunsPruner
from headwater.engine.run_driver import Observer, RunDriver
from headwater.engine.scheduler import Scheduler
from headwater.engine.secret_readers import SecretReaders
from headwater.engine.timers import Timers
from headwater.errors import AttemptOutOfSight, LeaseLost, NotFound, StoreError, StoreLost
from headwater.ports import (
    Clock,
    ClusterKeeper,
    EngineBeat,
    Executor,
    Runner,
    RunRequest,
    Store,
)

log = logging.getLogger(__name__)

_TIMER_SEPARATOR = "/"
CHECKOUT_POLL_SECONDS = 0.05


REQUESTS_EVERY_SECONDS = 0.02  # how often the runs held are checked for cancels and repairs
OUT_OF_SIGHT_SECONDS = 60  # how long a run left to an engine that can see it is not claimed


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How an engine shares runs and how much it runs at once."""

    logs_dir: Path
    max_parallel: int  # attempts running at once, across every run it holds
    actor: str = "local"  # who the audit log says acted
    lease_seconds: float = 15.0  # renewed every third of it; a dead engine's runs wait this
    poll_seconds: float = 0.2  # the longest the loop sleeps: how soon it sees new work
    claim_seconds: float = 0.5  # how often it looks for runs to claim
    claim_limit: int = 8  # runs claimed at most per look
    kill_grace_seconds: float = 10.0  # SIGTERM, then SIGKILL of the whole tree after this
    log_cap_bytes: int = DEFAULT_CAP_BYTES  # a running attempt's log rotates past this
    # How long a task's start may wait to be stored with the run's next write (its end,
    # for a quick task): see `RunDriver.apply`.
    write_starts_within: float = 0.05
    # Fire the jobs' schedules and triggers (`headwater engine` does; `headwater run` not),
    # watching these commit logs of the warehouses for table-update triggers (None: those of
    # the embedded warehouse beside `logs_dir`).
    schedules: bool = False
    # Say it is alive in the store's engines table at each lease renewal, and that it stopped
    # when it hands back its runs (`headwater engines list`): the engines of `headwater engine`
    # and `server`, which claim any run, not the one-run engine of `headwater run`.
    fleet: bool = False
    warehouse_commits: tuple[Path, ...] | None = None
    # The folder tasks see as DBFS and the volumes, where `/Volumes/...` and `dbfs:/...`
    # file-arrival URLs are watched (None: `dbfs` beside `logs_dir`, in the home).
    dbfs_dir: Path | None = None
    # The folder standing for `/Workspace`, where a task's `/Workspace/...` paths point: the
    # server's copies of deployed bundles and the Workspace API's files (None: `workspace`
    # beside `logs_dir`, in the home).
    workspace_dir: Path | None = None
    # Prune runs that ended before the retention cutoff, and their folders (at start, then
    # periodically: see `engine/retention.py`); None prunes nothing.
    retention: RetentionPolicy | None = None
    # Warn of runs and attempts much longer than usual (headwater.yml `duration_warnings`)
    usual_durations: UsualDurations | None = None


class Supervisor:
    """Claims runs and drives them all from one loop (implements the drivers' `Host`)."""

    def __init__(self, store: Store, executor: Executor, runners: Mapping[str, Runner],
                 clock: Clock, settings: EngineSettings, owner: str, *,
                 only: Collection[int] | None = None, observer: Observer | None = None,
                 is_dead: Callable[[str], bool] = is_gone,
                 clusters: ClusterKeeper | None = None,
                 secret_readers: SecretReaders | None = None) -> None:
        self.store, self.executor, self.runners, self.clock = store, executor, runners, clock
        self.secret_readers = secret_readers  # None: its attempts read every secret scope
        self.clusters = clusters
        self.clusters_swept = clusters is None
        self.settings, self.owner, self.observer = settings, owner, observer
        self.only = None if only is None else frozenset(only)
        self.is_dead = is_dead
        self.logs_dir, self.actor = settings.logs_dir, settings.actor
        self.workspace_dir = settings.workspace_dir or settings.logs_dir.parent / "workspace"
        self.kill_grace_seconds = settings.kill_grace_seconds
        self.write_starts_within = settings.write_starts_within
        self.next_requests = 0.0  # monotonic instant of the next look for requests
        self.drivers: dict[int, RunDriver] = {}
        self.failed_runs: set[int] = set()  # stopped after an unexpected error (see `call`)
        # Runs left to engines that can see their attempts -> when (monotonic): not claimed
        # again for a while (`leave_out_of_sight`).
        self.out_of_sight: dict[int, float] = {}
        self.turns: deque[int] = deque()  # runs in the order they get the next free slot
        self.timers = Timers()
        # The bare copies of the jobs' Git repositories: `git/` in the home, beside `logs/`.
        home = settings.logs_dir.parent
        self.checkouts = Checkouts(home / "git", credentials=GitCredentialFiles(
            credentials_dir(home)))
        self.stopping = threading.Event()  # set from a signal handler: hand back, leave
        self.interrupted = threading.Event()  # set from a signal handler: cancel `only`
        self.cancel_sent = False
        self.jitter = random.Random()  # noqa: S311 - spreading polls, not secrets
        start = clock.now()
        # What a fleet engine says of itself at each renewal; read once (the version is
        # metadata on disk), and not at all by `headwater run`'s engine.
        self.beat = EngineBeat(owner, str(settings.logs_dir.parent.absolute()),
                               installed_version(), start, settings.lease_seconds) \
            if settings.fleet else None
        self.next_claim, self.next_renew = start, start + self.renew_every
        commit_logs = settings.warehouse_commits or (
            commits_path(settings.logs_dir.parent / "warehouse.duckdb"),)
        dbfs_dir = settings.dbfs_dir or settings.logs_dir.parent / "dbfs"
        self.scheduler = Scheduler(store, clock, commit_logs, dbfs_dir) \
            if settings.schedules else None
        self.pruner = None if settings.retention is None else RunsPruner(
            store, settings.logs_dir, settings.retention, settings.actor,
            caches_home=settings.logs_dir.parent)

    @property
    def renew_every(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds / 3)

    # -- the drivers' host ---------------------------------------------------------------------

    def set_timer(self, run_id: int, key: str, at: datetime) -> None:
        self.timers.set(f"{run_id}{_TIMER_SEPARATOR}{key}", at)

    def cancel_timer(self, run_id: int, key: str) -> None:
        self.timers.cancel(f"{run_id}{_TIMER_SEPARATOR}{key}")

    # -- running -------------------------------------------------------------------------------

    def run_until_stopped(self) -> None:
        """Claim and drive runs until `stop()`; then hand every lease back."""
        if self.settings.fleet:
            self.outlast_store_errors(self.say_alive)
        try:
            while not self.stopping.is_set():
                self.step()
        finally:
            self.hand_back()

    def stop(self) -> None:
        """Stop taking runs and leave the loop (safe from a signal handler)."""
        self.stopping.set()

    def hold(self, run_id: int, fence: int) -> None:
        """Drive a run this engine already holds (created with its lease)."""
        self.call(run_id, partial(self.add_driver, run_id, fence))

    def step(self) -> None:
        """One turn of the loop: claim, renew, launch, wait once, apply what came."""
        now = self.clock.now()
        if now >= self.next_claim and not self.stopping.is_set():
            # Jitter, so that engines polling together take turns at new work.
            pause = self.settings.claim_seconds * self.jitter.uniform(0.8, 1.2)
            self.next_claim = now + timedelta(seconds=pause)
            if not self.saturated():
                self.outlast_store_errors(partial(self.claim, now))
        if now >= self.next_renew:
            self.next_renew = now + self.renew_every
            self.outlast_store_errors(self.renew)
            self.cap_logs()
        if self.scheduler is not None and not self.stopping.is_set():
            self.outlast_store_errors(self.scheduler.tick)
        self.launch_ready()
        for exit_ in self.executor.wait(self.wait_seconds()):
            if (driver := self.drivers.get(exit_.key.run_id)) is not None:
                self.call(driver.run_id, partial(driver.on_exit, exit_))
        for key in self.timers.pop_due(self.clock.now()):
            run_text, _, timer = key.partition(_TIMER_SEPARATOR)
            if (driver := self.drivers.get(int(run_text))) is not None:
                self.call(driver.run_id, partial(driver.on_timer, timer))
        self.write_due()
        self.outlast_store_errors(self.take_requests)
        self.outlast_store_errors(self.retire_finished)
        if self.pruner is not None and not self.stopping.is_set():
            self.outlast_store_errors(partial(self.prune, now))

    def write_due(self, everything: bool = False) -> None:
        """Store the decisions of this turn and the task starts that waited long enough for
        their run's next write (see `RunDriver.apply`), or `everything` not stored yet."""
        now = time.monotonic()
        for driver in list(self.drivers.values()):
            if driver.write_by is not None and (everything or driver.write_by <= now):
                self.call(driver.run_id, driver.write)

    def prune(self, now: datetime) -> None:
        """One batch of run-history pruning when a pass is due (see `engine/retention.py`).

        A store error is the caller's (`outlast_store_errors`: the batch is tried again); any
        other error is a bug of ours, which ends this pass, never the engine."""
        assert self.pruner is not None
        try:
            self.pruner.tick(now)
        except StoreError:
            raise
        except Exception:
            log.exception("engine %s: pruning run history failed; the next pass tries again",
                          self.owner)
            self.pruner.end_pass(now)

    def outlast_store_errors(self, action: Callable[[], None]) -> None:
        """Claims, renewals and polls try again on the next turn when the store fails (a
        database restarting): leases lapse meanwhile, and fencing keeps that safe."""
        try:
            action()
        except StoreLost:
            raise  # nothing can be stored any more: stop (see `run_until_stopped`)
        except StoreError:
            log.exception("engine %s: the store failed; trying again", self.owner,
                          extra={"engine": self.owner})

    def wait_seconds(self) -> float:
        """How long the executor may block: until the next timer, claim or renewal."""
        if any(d.inline for d in self.drivers.values()) or (
                self.executor.running() < self.settings.max_parallel
                and any(d.to_launch for d in self.drivers.values())):
            return 0.0
        now = self.clock.now()
        due = [self.next_claim, self.next_renew]
        if self.scheduler is not None and (look := self.scheduler.due_at()) is not None:
            due.append(look)
        if (next_timer := self.timers.next_at()) is not None:
            due.append(next_timer)
        seconds = min((at - now).total_seconds() for at in due)
        writes = [d.write_by for d in self.drivers.values() if d.write_by is not None]
        if writes:
            seconds = min(seconds, min(writes) - time.monotonic())
        if any(d.awaiting_code for d in self.drivers.values()):
            # A checkout ends in a thread, which cannot wake the executor's wait: look soon.
            seconds = min(seconds, CHECKOUT_POLL_SECONDS)
        return max(0.0, min(self.settings.poll_seconds, seconds))

    # -- claiming and leases ---------------------------------------------------------------

    def claim(self, now: datetime) -> None:
        """Claim runs that need an engine: new ones, expired leases, dead local engines'."""
        if not self.clusters_swept:
            self.sweep_clusters()
        host = self.owner.partition(":")[0] + ":"  # engines of this host share its prefix
        dead = {o for o in self.store.lease_owners(host) if o != self.owner and self.is_dead(o)}
        self.store.admit_queued(now, self.actor)
        left = time.monotonic() - OUT_OF_SIGHT_SECONDS
        self.out_of_sight = {run: at for run, at in self.out_of_sight.items() if at > left}
        claims = self.store.claim_runs(self.owner, self.settings.claim_limit,
                                       self.settings.lease_seconds, now, self.actor,
                                       run_ids=self.only, take_from=dead,
                                       skip=self.out_of_sight)
        for claim in claims:
            log.info("engine %s claimed run %s (fence %s)", self.owner, claim.run_id,
                     claim.fence, extra=self.about(claim.run_id))
            self.call(claim.run_id, partial(self.add_driver, claim.run_id, claim.fence))

    def sweep_clusters(self) -> None:
        """Close the clusters recorded for runs that ended (or were deleted) while no engine
        held them: an engine that died between a run's end and closing its clusters."""
        assert self.clusters is not None
        for run_id in self.clusters.runs_with_clusters():
            if run_id in self.drivers:
                continue
            try:
                ended = self.store.load_run(run_id).state.is_terminal
            except NotFound:
                ended = True
            if ended:
                self.clusters.keep_clusters(run_id, ())
        self.clusters_swept = True

    def saturated(self) -> bool:
        """Every slot is taken and attempts wait for one: leave new runs to other engines."""
        return self.executor.running() >= self.settings.max_parallel and any(
            driver.to_launch for driver in self.drivers.values())

    def add_driver(self, run_id: int, fence: int) -> None:
        record = self.store.load_run(run_id)
        observer = self.observer if self.only is not None else None
        driver = RunDriver(self, record, fence, observer)
        self.drivers[run_id] = driver
        self.turns.append(run_id)
        driver.start()

    def usual_limits(self, job_id: int) -> Mapping[str, int]:
        """The duration limits the job's history gives (`UsualDurations`): seconds by task
        key, the run's under RUN_LIMIT; none unless asked for, or while too little ran."""
        usual = self.settings.usual_durations
        if usual is None:
            return {}
        summary = self.store.job_summary(job_id, usual.of_last_runs)
        found = {RUN_LIMIT: usual.limit(summary.run_p95_seconds, summary.timed_runs),
                 **{task.task_key: usual.limit(task.p95_seconds, task.attempts)
                    for task in summary.tasks}}
        return {key: limit for key, limit in found.items() if limit is not None}

    def renew(self) -> None:
        """Renew the leases held (dropping the runs whose lease was taken over); a fleet
        engine also says it is alive."""
        fences = {run_id: driver.fence for run_id, driver in self.drivers.items()}
        for run_id in self.store.renew_leases(self.owner, fences, self.settings.lease_seconds):
            self.drop(run_id, "its lease was taken over")
        if self.settings.fleet:
            self.say_alive()

    def say_alive(self) -> None:
        assert self.beat is not None  # a fleet engine's
        self.store.engine_alive(self.beat)

    def cap_logs(self) -> None:
        """Rotate the logs of running attempts that grew past the cap (see `log_cap`)."""
        for driver in self.drivers.values():
            for path in driver.live_logs():
                try:
                    cap_log(path, self.settings.log_cap_bytes)
                except OSError:
                    log.exception("engine %s: cannot cap the log %s", self.owner, path)

    def about(self, run_id: int) -> dict[str, object]:
        """The fields of a log line about a run (what `--log-format json` writes out)."""
        return {"engine": self.owner, "run_id": run_id}

    def call(self, run_id: int, action: Callable[[], None]) -> None:
        """Run a driver's action; a lost lease drops the driver, whatever it was doing.

        So does a store that failed: what the driver held in memory may no longer match the
        store, so it lets go, stops renewing that run's lease, and the run is claimed again
        (by any engine) once the lease lapses, rebuilt from the store, its attempts adopted.
        """
        try:
            action()
        except LeaseLost:
            self.drop(run_id, "another engine claimed it")
        except AttemptOutOfSight as error:
            self.leave_out_of_sight(run_id, error)
        except StoreLost:
            raise
        except StoreError:
            log.exception("engine %s: the store failed while driving run %s", self.owner,
                          run_id, extra=self.about(run_id))
            self.drop(run_id, "the store failed; it is claimed again when its lease lapses")
        except Exception as error:  # a bug of ours: it stops this run, never the engine
            log.exception("engine %s: an unexpected error while driving run %s", self.owner,
                          run_id, extra=self.about(run_id))
            self.stop_failed_run(run_id, error)

    def leave_out_of_sight(self, run_id: int, error: AttemptOutOfSight) -> None:
        """Hand back a run whose attempts this engine cannot see (`AttemptOutOfSight`), to an
        engine that can, rather than call them lost while they may run: a false failure, its
        alert, and the next run of the job started beside the live one. This engine claims it
        again only after `OUT_OF_SIGHT_SECONDS`, saying so each time; a cancel ends it here.
        Driving one run for the CLI (`headwater runs resume`), the error is the CLI's."""
        if self.only is not None:
            raise error
        driver = self.drivers.get(run_id)
        log.warning("engine %s cannot see the attempts of run %s: %s. Every engine on a "
                    "store needs the same HEADWATER_HOME (on several machines, one shared "
                    "file system); this engine (home %s) leaves the run to one that can see "
                    "them and looks again in %d s; `headwater runs cancel %s` ends it",
                    self.owner, run_id, error, self.logs_dir.parent, OUT_OF_SIGHT_SECONDS,
                    run_id, extra=self.about(run_id))
        self.out_of_sight[run_id] = time.monotonic()
        if driver is None:
            return
        self.drop(run_id, "its attempts are out of this engine's sight", handed_back=True)
        self.store.release_run(run_id, driver.fence)

    def stop_failed_run(self, run_id: int, error: Exception) -> None:
        """After an unexpected error, stop the run as failed (its attempts killed, the error
        in its message), so that every other run goes on. If stopping fails too, let it go:
        it is claimed again when its lease lapses."""
        driver = self.drivers.get(run_id)
        if driver is None or run_id in self.failed_runs:
            self.drop(run_id, "it failed again after an unexpected error")
            return
        self.failed_runs.add(run_id)
        message = (f"headwater failed while driving this run: {type(error).__name__}: "
                   f"{error} (engine {self.owner}; its log has the details)")
        self.call(run_id, partial(driver.apply, EngineFailed(self.clock.now(), message)))

    def drop(self, run_id: int, why: str, *, handed_back: bool = False) -> None:
        """Forget a run without touching its attempts: its new owner adopts them. Logged as
        a loss (a WARNING), unless it is `handed_back` on purpose."""
        driver = self.drivers.pop(run_id, None)
        if driver is None:
            return
        if run_id in self.turns:
            self.turns.remove(run_id)
        log.log(logging.INFO if handed_back else logging.WARNING, "engine %s %s run %s: %s",
                self.owner, "handed back" if handed_back else "lost", run_id, why,
                extra=self.about(run_id))
        for seq, run in driver.state.task_runs.items():
            if not run.is_terminal:
                self.executor.release(driver.key(seq))
        for key in self.timers.keys_with_prefix(f"{run_id}{_TIMER_SEPARATOR}"):
            self.timers.cancel(key)

    def hand_back(self) -> None:
        """Release every run held, leaving its attempts running, so another engine (or
        this one, restarted) claims it at once."""
        self.write_due(everything=True)
        for run_id in list(self.drivers):
            fence = self.drivers[run_id].fence
            self.drop(run_id, "the engine is stopping", handed_back=True)
            try:
                self.store.release_run(run_id, fence)
            except StoreError as error:  # its lease lapses instead
                log.warning("engine %s could not hand back run %s: %s", self.owner, run_id,
                            error, extra=self.about(run_id))
        if self.settings.fleet:
            try:
                self.store.engine_stopped(self.owner)
            except StoreError as error:  # it shows as unresponsive once its beat expires
                log.warning("engine %s could not say it stopped: %s", self.owner, error)
        self.checkouts.close()

    # -- launching, requests, retiring -------------------------------------------------------

    def launch_ready(self) -> None:
        """Evaluate what needs no process; give free slots to the runs in turn."""
        for driver in list(self.drivers.values()):
            self.call(driver.run_id, driver.run_inline)
            if driver.awaiting_code:
                self.call(driver.run_id, driver.requeue_code_settled)
        waiting = deque(r for r in self.turns if r in self.drivers and self.drivers[r].to_launch)
        while waiting and self.executor.running() < self.settings.max_parallel:
            run_id = waiting.popleft()
            ready = self.drivers.get(run_id)
            if ready is None or not ready.to_launch:
                continue
            self.call(run_id, ready.launch_next)
            if run_id not in self.drivers:
                continue  # dropped while launching (its lease or the store was lost)
            self.turns.remove(run_id)
            self.turns.append(run_id)  # its next launch waits for every other run's turn
            if self.drivers[run_id].to_launch:
                waiting.append(run_id)

    def take_requests(self) -> None:
        """Cancels and repairs for the runs held (and Ctrl-C for the one `drive` runs)."""
        if self.interrupted.is_set() and not self.cancel_sent:
            # A run this engine only watches is cancelled by `drive`, through the store.
            unfinished = [driver for driver in self.drivers.values() if not driver.finished]
            self.cancel_sent = bool(unfinished)
            for driver in unfinished:
                self.call(driver.run_id,
                          partial(driver.apply, CancelRequested(self.clock.now())))
        if not self.drivers or time.monotonic() < self.next_requests:
            return
        # A read per turn would be one per event; a cancel waits a few milliseconds instead.
        self.next_requests = time.monotonic() + REQUESTS_EVERY_SECONDS
        by_run: dict[int, list[RunRequest]] = {}
        for request in self.store.pending_requests(list(self.drivers)):
            by_run.setdefault(request.run_id, []).append(request)
        for driver in self.drivers.values():
            driver.requests_unread = False  # what it has is taken now, in turn
        for run_id, requests in by_run.items():
            if (held := self.drivers.get(run_id)) is not None:
                self.call(run_id, partial(held.take_requests, requests))

    def retire_finished(self) -> None:
        """Let go of runs that ended: the store stopped leasing them when they did."""
        for run_id, driver in list(self.drivers.items()):
            if driver.finished and not driver.inline and not driver.to_launch:
                driver.write()  # its end, decided since the last write
                del self.drivers[run_id]
                self.turns.remove(run_id)
                self.failed_runs.discard(run_id)
                self.store.release_run(run_id, driver.fence)

    # -- one run, for the CLI --------------------------------------------------------------

    def drive(self, run_id: int, watch_seconds: float = 0.3) -> RunState:
        """Drive (or watch, while another engine drives it) one run until it has ended and
        nothing more is asked of it; return its final state."""
        watcher = _Watcher(self.store, run_id, self.observer)
        self.observer = watcher.notify  # what this engine decides is not reported twice
        held = self.drivers.get(run_id)  # `headwater run` holds the run it created
        before = held.state if held is not None else self.store.load_run(run_id).state
        if before.is_terminal:
            watcher.seen_already(before)  # a repair: its attempts are news, the ended ones not
        try:
            while True:
                self.step()
                if self.stopping.is_set():
                    return watcher.latest()
                if run_id in self.drivers:
                    continue
                state = watcher.poll()
                if state.is_terminal and not self.store.pending_requests([run_id]):
                    return state
                if self.interrupted.is_set() and not self.cancel_sent and not state.is_terminal:
                    self.cancel_sent = True
                    self.cancel_watched(run_id, state)
                self.executor.wait(watch_seconds)
        finally:
            self.hand_back()

    def cancel_watched(self, run_id: int, state: RunState) -> None:
        """Cancel a run another engine drives (it acts on the request), or one waiting in
        its queue, which no engine drives yet: it ends CANCELED at once."""
        now = self.clock.now()
        if state.life_cycle is LifeCycleState.QUEUED and \
                self.store.cancel_queued([run_id], now, self.actor):
            return
        self.store.request_cancel(run_id, None, now)


class _Watcher:
    """Follows a run through the store, telling the observer what changed since last time."""

    def __init__(self, store: Store, run_id: int, observer: Observer | None) -> None:
        self.store, self.run_id, self.observer = store, run_id, observer
        self.seen: dict[int, tuple[object, ...]] = {}
        self.state: RunState | None = None

    def seen_already(self, state: RunState) -> None:
        """Report the task runs of `state` only once they change."""
        for seq, run in state.task_runs.items():
            self.seen[seq] = self.signature(run)

    @staticmethod
    def signature(run: TaskRun) -> tuple[object, ...]:
        return (run.life_cycle, run.result, run.attempt_number, run.message)

    def poll(self) -> RunState:
        """Read the run; report the task runs that changed since the last report."""
        record = self.store.load_run(self.run_id)
        self.notify(record.state, list(record.state.task_runs), record.task_run_ids)
        return record.state

    def notify(self, state: RunState, changed: Sequence[int], ids: Mapping[int, int]) -> None:
        """Report to the observer the task runs of `changed` it has not seen so."""
        fresh = []
        for seq in changed:
            signature = self.signature(state.task_runs[seq])
            if self.seen.get(seq) != signature:
                self.seen[seq] = signature
                fresh.append(seq)
        self.state = state
        if fresh and self.observer is not None:
            self.observer(state, fresh, ids)

    def latest(self) -> RunState:
        return self.state if self.state is not None else self.poll()


__all__ = ["EngineSettings", "Supervisor"]
