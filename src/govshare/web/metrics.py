"""Prometheus metrics (one registry per process, created at first use)."""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import CollectorRegistry, Counter, Histogram


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


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    return Metrics()
