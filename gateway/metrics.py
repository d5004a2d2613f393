"""Prometheus metrics: requests by route and status (counted here), stage latencies (recorded by whoever ran
the stage, read from the job store) and queue depths (read from the runner), on one registry per app."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.runners import JobRunner
from services.store import STAGE_BUCKETS_S, JobStore
from services.worker import STAGES

log = logging.getLogger(__name__)


class ServiceCollector(Collector):
    """Reads queue depths and stage latency histograms at scrape time."""

    def __init__(self, runner: JobRunner, store: JobStore) -> None:
        self.runner = runner
        self.store = store

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("emoticon_queue_depth", "Jobs waiting to start, by queue", labels=["queue"])
        try:
            for queue, n in self.runner.queue_depths().items():
                depth.add_metric([queue], n)
        except Exception:
            log.warning("queue depth unavailable", exc_info=True)
        yield depth
        latency = HistogramMetricFamily(
            "emoticon_stage_duration_seconds", "Wall time of one stage of one job", labels=["stage"]
        )
        try:
            for stage, stats in self.store.stage_stats(STAGES).items():
                bounds = [str(b) for b in STAGE_BUCKETS_S] + ["+Inf"]
                latency.add_metric([stage], list(zip(bounds, stats.buckets, strict=True)), stats.total_s)
        except Exception:
            log.warning("stage latencies unavailable", exc_info=True)
        yield latency
        yield from self._store_usage()

    def _store_usage(self) -> Iterator[Metric]:
        try:
            usage = self.store.usage()
        except Exception:
            log.warning("store usage unavailable", exc_info=True)
            return
        used = GaugeMetricFamily(
            "emoticon_store_bytes",
            "Job store bytes: used (Redis used_memory in distributed mode), reserved by jobs in flight",
            labels=["kind"],
        )
        used.add_metric(["used"], usage.used_bytes)
        used.add_metric(["reserved"], usage.reserved_bytes)
        yield used
        yield GaugeMetricFamily(
            "emoticon_store_max_bytes",
            "The job store budget (EMOTICON_STORE_MAX_BYTES)",
            value=usage.max_bytes,
        )
        yield GaugeMetricFamily(
            "emoticon_store_fill_ratio", "(used + reserved) / budget of the job store", value=usage.fill
        )
        jobs = GaugeMetricFamily("emoticon_store_jobs", "Jobs the budget counts, by state", labels=["state"])
        jobs.add_metric(["finished"], usage.finished_jobs)
        jobs.add_metric(["unfinished"], usage.unfinished_jobs)
        yield jobs
        yield CounterMetricFamily(
            "emoticon_store_evictions",
            "Finished jobs evicted to make room in the budget",
            value=usage.evictions,
        )


class GatewayMetrics:
    def __init__(self, runner: JobRunner, store: JobStore) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "emoticon_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "emoticon_http_request_duration_seconds",
            "HTTP request wall time by route template",
            ["route"],
            registry=self.registry,
        )
        self.registry.register(ServiceCollector(runner, store))


class RequestMetricsMiddleware:
    """Counts every HTTP request under its route template (``/v1/jobs/{job_id}``), not its raw path."""

    def __init__(self, app: ASGIApp, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics  # a zero-arg callable returning GatewayMetrics (they exist only after startup)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            metrics: GatewayMetrics | None = self.metrics()
            if metrics is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                metrics.requests.labels(route, scope["method"], str(status)).inc()
                metrics.request_seconds.labels(route).observe(time.perf_counter() - t0)
