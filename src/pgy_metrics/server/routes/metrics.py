"""``GET /metrics``: Prometheus text format, from a registry built per app (no global state).

Counters the hot path already keeps (answers by business code, cache hits, single-flight joins,
upstream calls) are read at scrape time by a collector, so exposing them costs the request path
nothing; upstream latency is a histogram fed by the health recorder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

from pgy_metrics.server.routes.status import account_states
from pgy_metrics.sources.base import AccountState

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime

router = APIRouter()

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class RuntimeCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        runtime = self._runtime
        answers = CounterMetricFamily(
            "pgy_requests", "Answers of the notes-rate endpoint by business code", labels=["code"]
        )
        for code, count in sorted(runtime.gate.codes.items()):
            answers.add_metric([str(code)], count)
        yield answers
        service = runtime.service
        yield CounterMetricFamily(
            "pgy_cache_hits", "Answers served from a fresh snapshot", value=service.cache_hits
        )
        yield CounterMetricFamily(
            "pgy_single_flight_joins",
            "Requests that joined a collection already in flight",
            value=service.flight_joins,
        )
        yield CounterMetricFamily(
            "pgy_upstream_collections",
            "Collections asked of the source",
            value=service.source_calls,
        )
        states = GaugeMetricFamily(
            "pgy_upstream_account_state",
            "1 for the state each upstream account is in",
            labels=["source", "account", "state"],
        )
        for status in account_states(runtime):
            for state in AccountState:
                states.add_metric(
                    [status.source, status.account, state.value], int(status.state is state)
                )
        yield states


def build_registry(runtime: Runtime) -> tuple[CollectorRegistry, Histogram]:
    """The app's registry and its upstream-latency histogram (fed by the health recorder)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(RuntimeCollector(runtime))
    latency = Histogram(
        "pgy_upstream_latency_seconds",
        "Latency of upstream attempts",
        labelnames=["source"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    return registry, latency


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
