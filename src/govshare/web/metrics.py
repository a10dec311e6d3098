"""Prometheus metrics (one registry per process, created at first use)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

SERIES_MAX = 10_000  # kept metric series (delivery calls: grants x modes x outcomes)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "govshare_http_requests_total",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "govshare_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.logins = Counter(
            "govshare_logins_total",
            "Sign-in attempts by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_calls = Counter(
            "govshare_delivery_calls_total",
            "Data-service calls by grant, delivery mode and outcome (ok or the refusal code)",
            ["grant", "mode", "outcome"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "govshare_delivery_call_duration_seconds",
            "Data-service call latency (guard, data, masking, durable audit) by mode",
            ["mode"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self._series: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def series(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, kept: ``labels()`` takes a lock and builds its key
        on every call, and a request records two or three series."""
        key = (metric, labels)
        child = self._series.get(key)
        if child is None:
            if len(self._series) >= SERIES_MAX:
                self._series.clear()
            child = self._series[key] = metric.labels(*labels)
        return child

    def observe_delivery(self, grant_id: str, mode: str, outcome: str, seconds: float) -> None:
        self.series(self.delivery_calls, grant_id, mode, outcome).inc()
        if outcome == "ok":
            self.series(self.delivery_latency, mode).observe(seconds)


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    return Metrics()
