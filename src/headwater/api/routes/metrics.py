"""`GET /api/metrics`: headwater's counts for Prometheus, in its text format (or OpenMetrics,
when the scraper asks for it).

Every server shows the whole store: the runs, attempts and notifications of every engine
sharing it, counted from the audit log since this server's first scrape (see
core/monitoring.py), and what is happening now. With several servers on one store, scrape
one. The path is not `/metrics`, which is the web UI's page of job figures. A scraper sends
the metrics token (headwater.yml `server.metrics_token_env`), which may read this and nothing
else; any user's token will do too, since the counts name jobs by id only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from headwater.about import installed_version
from headwater.api.auth import Scraper
from headwater.core.monitoring import Histogram, LiveCounts, Tally
from headwater.core.states import LifeCycleState
from headwater.ports import ENGINE_STATES
from headwater.service import Service

router = APIRouter()

# States always shown, at 0 when nothing is in them, so that a series does not vanish.
RUN_STATES = ("QUEUED", "PENDING", "RUNNING", "TERMINATING")
TASK_RUN_STATES = ("BLOCKED", "PENDING", "RUNNING", "WAITING_FOR_RETRY", "TERMINATING")
OUTCOMES = ("sent", "failed")


class Counting:
    """The server's running tally, begun by the first scrape and advanced by each one (one at
    a time)."""

    def __init__(self) -> None:
        self.tally: Tally | None = None
        self.lock = threading.Lock()

    def advance(self, service: Service) -> tuple[Tally, LiveCounts]:
        with self.lock:
            self.tally, live = service.monitoring(self.tally or service.new_tally())
            return self.tally, live


@router.get("/api/metrics", response_class=Response,
            summary="headwater's counts in the Prometheus text format")
def metrics(request: Request, service: Scraper) -> Response:
    """Runs, attempts and notifications ended since the first scrape; runs, task runs and
    notifications waiting now; the server process's own figures."""
    counting: Counting = request.app.state.counting
    tally, live = counting.advance(service)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot(tally, live))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), media_type=content_type)


class Snapshot(Collector):
    """One scrape's metric families, from a tally and the live counts."""

    def __init__(self, tally: Tally, live: LiveCounts) -> None:
        self.tally = tally
        self.live = live

    def collect(self) -> Iterator[Metric]:
        yield _info()
        yield from self._counters()
        yield _histogram("headwater_run_duration_seconds",
                         "Job runs ended since the first scrape, by time from start to end",
                         self.tally.run_durations)
        yield _histogram("headwater_task_attempt_duration_seconds",
                         "Task attempts ended since the first scrape, by time taken",
                         self.tally.attempt_durations)
        yield from self._gauges()

    def _counters(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("headwater_runs_ended",
                                   "Job runs ended since the first scrape (a repaired run "
                                   "ends again), by job and result",
                                   labels=["job_id", "result_state"])
        for (job_id, result), count in sorted(self.tally.runs_ended.items()):
            runs.add_metric([job_id, result], count)
        yield runs
        attempts = CounterMetricFamily("headwater_task_attempts_ended",
                                       "Task attempts ended since the first scrape, retries "
                                       "included, by result", labels=["result_state"])
        for result, count in sorted(self.tally.attempts_ended.items()):
            attempts.add_metric([result], count)
        yield attempts
        sent = CounterMetricFamily("headwater_notifications",
                                   "Notifications finished since the first scrape: sent "
                                   "(accepted by their destination) or failed (given up)",
                                   labels=["outcome"])
        for outcome in OUTCOMES:
            sent.add_metric([outcome], self.tally.notifications.get(outcome, 0))
        yield sent
        yield CounterMetricFamily("headwater_runs_pruned",
                                  "Ended runs that retention deleted since the first scrape",
                                  value=self.tally.runs_pruned)

    def _gauges(self) -> Iterator[Metric]:
        live = self.live
        yield _by_state("headwater_runs", "Job runs not ended, by life-cycle state",
                        live.runs, RUN_STATES)
        yield _by_state("headwater_task_runs",
                        "Task runs not ended, of runs not ended, by life-cycle state",
                        live.task_runs, TASK_RUN_STATES)
        yield GaugeMetricFamily("headwater_runs_awaiting_engine",
                                "Runs that need an engine and have none holding a live lease "
                                "(above 0 for long: no engine is running, or all are full)",
                                value=live.runs_awaiting_engine)
        engines = GaugeMetricFamily("headwater_engines",
                                    "Engines (headwater engine, server) seen in the last day, "
                                    "by state: alive, unresponsive (no sign of life within its "
                                    "lease: it died or hangs), stopped", labels=["state"])
        for state in ENGINE_STATES:
            engines.add_metric([state], live.engines.get(state, 0))
        yield engines
        yield GaugeMetricFamily("headwater_notifications_pending",
                                "Notifications in the outbox not yet sent nor given up",
                                value=live.notifications_pending)
        yield GaugeMetricFamily("headwater_notification_oldest_pending_age_seconds",
                                "Age of the oldest notification not yet sent nor given up "
                                "(0 when none waits)",
                                value=live.oldest_pending_notification_seconds)


def _by_state(name: str, documentation: str, counts: Mapping[str, int],
              always: tuple[str, ...]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["life_cycle_state"])
    for state in sorted({*always, *counts}, key=_state_order):
        family.add_metric([state], counts.get(state, 0))
    return family


def _state_order(state: str) -> int:
    names = [str(member) for member in LifeCycleState]
    return names.index(state) if state in names else len(names)


def _histogram(name: str, documentation: str, histogram: Histogram) -> HistogramMetricFamily:
    buckets = [("+Inf" if math.isinf(bound) else repr(bound), count)
               for bound, count in histogram.buckets()]
    return HistogramMetricFamily(name, documentation, buckets=buckets,
                                 sum_value=histogram.total)


def _info() -> InfoMetricFamily:
    return InfoMetricFamily("headwater_build", "The headwater serving these figures",
                            value={"version": installed_version()})


__all__ = ["Counting", "Snapshot", "router"]
